/**
 * opsctl cognito token verify: check an ID or access token the way a backend
 * should (seed 004): signature against the pool's JWKS, issuer, token_use,
 * expiry, and audience (ID token) or client_id (access token). The JWKS is
 * cached on disk and fetched again only when a token names an unknown key.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { arg, defineCommand, flag } from '../../lib/command.js';
import { escapeLine } from '../../lib/terminal.js';
import { ExitCode, OpsError, firstLine, usageError } from '../../lib/errors.js';
import { endpointFor } from '../../lib/aws.js';
import { stateHome } from '../../lib/config.js';
import { readFileIfExists, writeFileAtomic } from '../../lib/fs.js';

export interface VerifyTokenOptions {
  token: string;
  userPoolId: string;
  /** Expected app client(s): the token must name one of them. */
  clientId?: string | string[];
  tokenUse?: 'id' | 'access';
  /** Cognito endpoint override (cognito-local, AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER). */
  endpoint?: string;
}

export interface Jwks {
  keys: Array<Record<string, unknown>>;
}

export interface JwksCache {
  get(url: string): Promise<Jwks | undefined>;
  set(url: string, jwks: Jwks): Promise<void>;
}

export interface VerifyTokenDeps {
  fetchJwks(url: string): Promise<Jwks>;
  cache: JwksCache;
  now(): Date;
}

export interface VerifiedToken {
  valid: true;
  tokenUse: 'id' | 'access';
  issuer: string;
  clientId?: string;
  clientChecked: boolean;
  subject?: string;
  username?: string;
  expiresAt?: string;
  claims: Record<string, unknown>;
  jwksFrom: 'cache' | 'network';
}

const invalid = (message: string, hint?: string) => new OpsError(`Token rejected: ${message}`, { exitCode: ExitCode.FAILED, code: 'token-invalid', hint });

/**
 * The issuers a pool's tokens may carry, as aws-jwt-verify accepts them: the
 * regional one and, for pools on Cognito's updated issuer configuration, the
 * `issuer-cognito-idp` one; pool ids of every partition (eusc-, us-gov-, cn-).
 */
export async function issuersFor(userPoolId: string, endpoint?: string): Promise<string[]> {
  if (endpoint) return [`${endpoint.replace(/\/+$/, '')}/${userPoolId}`];
  const { CognitoJwtVerifier } = await import('aws-jwt-verify');
  try {
    const regional = CognitoJwtVerifier.parseUserPoolId(userPoolId).issuer;
    const updated = CognitoJwtVerifier.parseUserPoolId(userPoolId, `https://issuer-cognito-idp.x/${userPoolId}`).issuer;
    return [regional, updated];
  } catch {
    throw usageError(`"${userPoolId}" is not a user pool id.`, 'pool ids look like eu-west-1_AbCdEf123 (region, underscore, id)', 'usage');
  }
}

/** The regional issuer (kept for callers that need one URL). */
export function issuerFor(userPoolId: string, endpoint?: string): string {
  if (endpoint) return `${endpoint.replace(/\/+$/, '')}/${userPoolId}`;
  const m = /^((?:eusc-[a-z]{2}|[a-z]{2})-(?:gov-)?[a-z]+-\d)_[a-zA-Z0-9]+$/.exec(userPoolId);
  if (!m) throw usageError(`"${userPoolId}" is not a user pool id.`, 'pool ids look like eu-west-1_AbCdEf123 (region, underscore, id)', 'usage');
  return `https://cognito-idp.${m[1]}.amazonaws.com/${userPoolId}`;
}

/**
 * Verify with aws-jwt-verify itself (AWS's library is the reference verdict):
 * CognitoJwtVerifier for real pools, its generic JwtVerifier plus the same
 * Cognito claim checks for an endpoint override. opsctl only adds the JWKS
 * disk cache and one-line reasons.
 */
export async function run(o: VerifyTokenOptions, deps: VerifyTokenDeps): Promise<VerifiedToken> {
  const { CognitoJwtVerifier, JwtVerifier } = await import('aws-jwt-verify');
  const { validateCognitoJwtFields } = await import('aws-jwt-verify/cognito-verifier');
  const { decomposeUnverifiedJwt } = await import('aws-jwt-verify/jwt');
  const token = o.token.trim().replace(/^Bearer\s+/i, '');
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    ({ header, payload } = decomposeUnverifiedJwt(token) as { header: Record<string, unknown>; payload: Record<string, unknown> });
  } catch (err) {
    throw invalid(`not a JWT (${firstLine(err)}).`, 'pass the raw id_token or access_token (three base64url parts separated by dots)');
  }
  const issuers = await issuersFor(o.userPoolId, o.endpoint);
  const issuer = issuers.find((i) => i === payload.iss);
  if (!issuer) throw invalid(`issued by ${typeof payload.iss === 'string' ? payload.iss : '(no iss claim)'}, not by pool ${o.userPoolId} (${issuers.join(' or ')}).`, 'check --user-pool-id and --region');

  const url = `${issuer}/.well-known/jwks.json`;
  let jwks = await deps.cache.get(url);
  let from: VerifiedToken['jwksFrom'] = 'cache';
  const hasKid = (set: Jwks | undefined) => Boolean(set?.keys?.some((k) => k.kid === header.kid));
  if (!hasKid(jwks)) {
    // Unknown key: Cognito may have rotated its keys since we cached them.
    jwks = await deps.fetchJwks(url);
    from = 'network';
    await deps.cache.set(url, jwks).catch(() => {});
  }
  if (!hasKid(jwks)) throw invalid(`signed with key "${String(header.kid ?? '(none)')}", which pool ${o.userPoolId} does not publish.`, `the pool's keys are at ${url}`);

  const clientId = o.clientId === undefined || (Array.isArray(o.clientId) && o.clientId.length === 0) ? null : o.clientId;
  const tokenUse = o.tokenUse ?? null;
  let claims: Record<string, unknown>;
  try {
    if (o.endpoint) {
      const verifier = JwtVerifier.create({ issuer, audience: null, jwksUri: url, customJwtCheck: ({ payload: p }) => validateCognitoJwtFields(p, { tokenUse, clientId }) });
      verifier.cacheJwks(jwks as unknown as Parameters<typeof verifier.cacheJwks>[0]);
      claims = (await verifier.verify(token)) as Record<string, unknown>;
    } else {
      const verifier = CognitoJwtVerifier.create({ userPoolId: o.userPoolId, tokenUse, clientId });
      verifier.cacheJwks(jwks as unknown as Parameters<typeof verifier.cacheJwks>[0]);
      claims = (await verifier.verify(token)) as Record<string, unknown>;
    }
  } catch (err) {
    throw explain(err, payload, o);
  }

  const use = claims.token_use;
  if (use !== 'id' && use !== 'access') throw invalid(`token_use is ${JSON.stringify(use ?? null)}; expected "id" or "access".`);
  const audiences = (use === 'id' ? (Array.isArray(claims.aud) ? claims.aud : [claims.aud]) : [claims.client_id]).filter((a): a is string => typeof a === 'string');
  const wanted = clientId === null ? [] : Array.isArray(clientId) ? clientId : [clientId];
  const tokenClient = audiences.find((a) => wanted.includes(a)) ?? audiences[0];
  return {
    valid: true,
    tokenUse: use,
    issuer,
    clientId: tokenClient,
    clientChecked: wanted.length > 0,
    subject: typeof claims.sub === 'string' ? claims.sub : undefined,
    username: String(claims['cognito:username'] ?? claims.username ?? '') || undefined,
    expiresAt: typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : undefined,
    claims,
    jwksFrom: from,
  };
}

/** aws-jwt-verify's verdict, as one line. */
function explain(err: unknown, payload: Record<string, unknown>, o: VerifyTokenOptions): OpsError {
  const name = (err as Error)?.constructor?.name ?? '';
  const msg = firstLine(err);
  switch (name) {
    case 'JwtExpiredError':
      return invalid(`expired at ${typeof payload.exp === 'number' ? new Date(payload.exp * 1000).toISOString() : '?'}.`, 'get a fresh token (sign in again, or use the refresh token)');
    case 'JwtNotBeforeError':
      return invalid(`not valid yet (${msg}).`, "check this machine's clock");
    case 'JwtInvalidSignatureError':
      return invalid("the signature does not match the pool's key (the token was altered or forged).");
    case 'JwtInvalidSignatureAlgorithmError':
      return invalid(`${msg}; Cognito signs with RS256.`);
    case 'CognitoJwtInvalidTokenUseError': {
      const use = payload.token_use;
      if ((use === 'id' || use === 'access') && o.tokenUse) return invalid(`this is an ${use} token, not an ${o.tokenUse} token.`, use === 'access' ? 'use the id_token, or pass --token-use access' : 'use the access_token, or pass --token-use id');
      return invalid(`token_use is ${JSON.stringify(use ?? null)}; expected "id" or "access".`);
    }
    case 'CognitoJwtInvalidClientIdError': {
      const claim = payload.token_use === 'id' ? 'aud' : 'client_id';
      const got = payload.token_use === 'id' ? payload.aud : payload.client_id;
      const wanted = Array.isArray(o.clientId) ? o.clientId.join(' or ') : o.clientId;
      return invalid(`issued to app client ${Array.isArray(got) ? got.join(', ') : String(got ?? '(none)')}, not ${wanted} (${claim} claim).`);
    }
    default:
      return invalid(`${msg.replace(/\.$/, '')}.`);
  }
}

/** JWKS cached under the state directory, trusted for a day (unknown keys force a refetch anyway). */
export function fileJwksCache(dir: string, now: () => Date, ttlMs = 24 * 3600_000): JwksCache {
  const file = (url: string) => path.join(dir, `jwks-${createHash('sha256').update(url).digest('hex').slice(0, 16)}.json`);
  return {
    async get(url) {
      const text = await readFileIfExists(file(url)).catch(() => undefined);
      if (!text) return undefined;
      try {
        const c = JSON.parse(text) as { url: string; fetchedAt: number; jwks: Jwks };
        if (c.url !== url || now().getTime() - c.fetchedAt > ttlMs || !Array.isArray(c.jwks?.keys)) return undefined;
        return c.jwks;
      } catch {
        return undefined;
      }
    },
    set: (url, jwks) => writeFileAtomic(file(url), JSON.stringify({ url, fetchedAt: now().getTime(), jwks }), { mode: 0o600 }),
  };
}

export function httpFetchJwks(signal?: AbortSignal): (url: string) => Promise<Jwks> {
  return async (url) => {
    let res: Response;
    try {
      res = await fetch(url, { signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(10_000)]) : AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new OpsError(`Cannot fetch the pool's keys from ${url}: ${firstLine((err as Error).cause ?? err)}`, { code: 'jwks-unreachable', hint: 'check the network, --region and --user-pool-id' });
    }
    if (res.status === 404 || res.status === 400) throw new OpsError(`No keys at ${url} (HTTP ${res.status}): the user pool probably does not exist.`, { code: 'jwks-not-found', exitCode: ExitCode.FAILED, hint: 'check --user-pool-id and --region' });
    if (!res.ok) throw new OpsError(`Fetching ${url} failed: HTTP ${res.status}.`, { code: 'jwks-unreachable' });
    const body = (await res.json().catch(() => undefined)) as Jwks | undefined;
    if (!body || !Array.isArray(body.keys)) throw new OpsError(`${url} did not return a JWKS document.`, { code: 'jwks-malformed' });
    return body;
  };
}

export const command = defineCommand<VerifyTokenOptions, VerifiedToken>({
  options(args, flags, ctx) {
    const token = arg(args, 0) ?? '';
    const userPoolId = ctx.setting('cognito', 'userPoolId', flag.string(flags, 'userPoolId'));
    if (!userPoolId) throw usageError('No user pool given.', 'pass --user-pool-id (or set cognito.userPoolId in the config file)');
    // Checked before the token: a mistyped pool id is a usage error (2), not a rejected token (1).
    if (!/^[\w-]+_[0-9a-zA-Z]+$/.test(userPoolId)) throw usageError(`"${userPoolId.slice(0, 60)}" is not a user pool id.`, 'pool ids look like eu-west-1_AbCdEf123 (region, underscore, id)', 'usage');
    const clients = flag.strings(flags, 'clientId');
    const configured = ctx.setting('cognito', 'clientId', undefined as string | undefined);
    const tokenUse = flag.string(flags, 'tokenUse');
    if (tokenUse !== undefined && tokenUse !== 'id' && tokenUse !== 'access') throw usageError(`--token-use must be id or access, got "${tokenUse}".`);
    return { token, userPoolId, clientId: clients.length ? clients : configured, tokenUse, endpoint: endpointFor('Cognito Identity Provider', ctx.env) };
  },
  async run(o, ctx) {
    const now = () => new Date();
    return run(o, { fetchJwks: httpFetchJwks(ctx.signal), cache: fileJwksCache(path.join(stateHome(ctx.env), 'cognito'), now), now });
  },
  print(result, out) {
    const mins = result.expiresAt ? Math.round((Date.parse(result.expiresAt) - Date.now()) / 60_000) : undefined;
    out.success(`valid ${result.tokenUse} token${result.username ? ` for ${escapeLine(result.username)}` : ''}, app client ${escapeLine(result.clientId ?? '?')}${result.expiresAt ? `, expires ${result.expiresAt} (in ${mins} min)` : ', no expiry'}`);
    if (!result.clientChecked) out.warn('the app client was not checked; pass --client-id to check aud/client_id too');
    for (const [k, v] of Object.entries(result.claims)) out.line(escapeLine(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`));
  },
});
