/**
 * opsctl cognito token verify: check an ID or access token the way a backend
 * should (seed 004): signature against the pool's JWKS, issuer, token_use,
 * expiry, and audience (ID token) or client_id (access token). The JWKS is
 * cached on disk and fetched again only when a token names an unknown key.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Context } from '../../lib/context.js';
import { ExitCode, OpsError, firstLine, usageError } from '../../lib/errors.js';
import { endpointFor } from '../../lib/aws.js';
import { stateHome } from '../../lib/config.js';
import { readFileIfExists, writeFileAtomic } from '../../lib/fs.js';

export interface VerifyTokenOptions {
  token: string;
  userPoolId: string;
  clientId?: string;
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
  expiresAt: string;
  claims: Record<string, unknown>;
  jwksFrom: 'cache' | 'network';
}

const invalid = (message: string, hint?: string) => new OpsError(`Token rejected: ${message}`, { exitCode: ExitCode.FAILED, code: 'token-invalid', hint });

export function issuerFor(userPoolId: string, endpoint?: string): string {
  const m = /^([a-z]{2}(?:-[a-z]+)+-\d+)_[0-9A-Za-z]+$/.exec(userPoolId);
  if (endpoint) return `${endpoint.replace(/\/+$/, '')}/${userPoolId}`;
  if (!m) throw usageError(`"${userPoolId}" is not a user pool id.`, 'pool ids look like eu-west-1_AbCdEf123 (region, underscore, id)', 'usage');
  return `https://cognito-idp.${m[1]}.amazonaws.com/${userPoolId}`;
}

export async function run(o: VerifyTokenOptions, deps: VerifyTokenDeps): Promise<VerifiedToken> {
  const jose = await import('jose');
  const token = o.token.trim().replace(/^Bearer\s+/i, '');
  let header: ReturnType<typeof jose.decodeProtectedHeader>;
  let payload: ReturnType<typeof jose.decodeJwt>;
  try {
    header = jose.decodeProtectedHeader(token);
    payload = jose.decodeJwt(token);
  } catch (err) {
    throw invalid(`not a JWT (${firstLine(err)}).`, 'pass the raw id_token or access_token (three base64url parts separated by dots)');
  }
  const issuer = issuerFor(o.userPoolId, o.endpoint);
  if (payload.iss !== issuer) throw invalid(`issued by ${payload.iss ?? '(no iss claim)'}, not by pool ${o.userPoolId} (${issuer}).`, 'check --user-pool-id and --region');
  if (header.alg !== 'RS256') throw invalid(`signed with ${header.alg}; Cognito signs with RS256.`);

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
  if (!hasKid(jwks)) throw invalid(`signed with key "${header.kid ?? '(none)'}", which pool ${o.userPoolId} does not publish.`, `the pool's keys are at ${url}`);

  let claims: Record<string, unknown>;
  try {
    const res = await jose.jwtVerify(token, jose.createLocalJWKSet(jwks as Parameters<typeof jose.createLocalJWKSet>[0]), { issuer, algorithms: ['RS256'], currentDate: deps.now(), requiredClaims: ['exp', 'token_use'] });
    claims = res.payload as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_JWT_EXPIRED') {
      const exp = typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : undefined;
      throw invalid(`expired${exp ? ` at ${exp.toISOString()}` : ''}.`, 'get a fresh token (sign in again, or use the refresh token)');
    }
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw invalid('the signature does not match the pool\'s key (the token was altered or forged).');
    if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') throw invalid(`${firstLine(err)}.`);
    throw invalid(firstLine(err));
  }

  const use = claims.token_use;
  if (use !== 'id' && use !== 'access') throw invalid(`token_use is ${JSON.stringify(use)}; expected "id" or "access".`);
  if (o.tokenUse && use !== o.tokenUse) throw invalid(`this is an ${use} token, not an ${o.tokenUse} token.`, use === 'access' ? 'use the id_token, or pass --token-use access' : 'use the access_token, or pass --token-use id');
  const audiences = use === 'id' ? (Array.isArray(claims.aud) ? claims.aud : [claims.aud]) : [claims.client_id];
  const tokenClient = o.clientId && audiences.includes(o.clientId) ? o.clientId : audiences[0];
  if (o.clientId && tokenClient !== o.clientId) {
    throw invalid(`issued to app client ${String(tokenClient ?? '(none)')}, not ${o.clientId} (${use === 'id' ? 'aud' : 'client_id'} claim).`);
  }
  return {
    valid: true,
    tokenUse: use,
    issuer,
    clientId: typeof tokenClient === 'string' ? tokenClient : undefined,
    clientChecked: Boolean(o.clientId),
    subject: typeof claims.sub === 'string' ? claims.sub : undefined,
    username: String(claims['cognito:username'] ?? claims.username ?? '') || undefined,
    expiresAt: new Date(Number(claims.exp) * 1000).toISOString(),
    claims,
    jwksFrom: from,
  };
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

export async function handler(args: unknown[], opts: Record<string, any>, ctx: Context): Promise<number | void> {
  const token = String(args[0] ?? '');
  const userPoolId = ctx.setting('cognito', 'userPoolId', opts.userPoolId as string | undefined);
  if (!userPoolId) throw usageError('No user pool given.', 'pass --user-pool-id (or set cognito.userPoolId in the config file)');
  const now = () => new Date();
  const result = await run(
    { token, userPoolId, clientId: ctx.setting('cognito', 'clientId', opts.clientId as string | undefined), tokenUse: opts.tokenUse, endpoint: endpointFor('Cognito Identity Provider', ctx.env) },
    { fetchJwks: httpFetchJwks(ctx.signal), cache: fileJwksCache(path.join(stateHome(ctx.env), 'cognito'), now), now },
  );
  if (ctx.global.json) {
    ctx.out.data(result);
    return ExitCode.OK;
  }
  const mins = Math.round((Date.parse(result.expiresAt) - Date.now()) / 60_000);
  ctx.out.success(`valid ${result.tokenUse} token${result.username ? ` for ${result.username}` : ''}, app client ${result.clientId ?? '?'}, expires ${result.expiresAt} (in ${mins} min)`);
  if (!result.clientChecked) ctx.out.warn('the app client was not checked; pass --client-id to check aud/client_id too');
  for (const [k, v] of Object.entries(result.claims)) ctx.out.line(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return ExitCode.OK;
}
