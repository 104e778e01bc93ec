import { createHash, generateKeyPair } from 'node:crypto';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { OpsError, ExitCode } from '../errors.js';
import { readFileIfExists, writeFileAtomic } from '../fs.js';
import { translateAcmeError, type AcmeProblem, type AcmeTrace } from './acme-errors.js';
import type { CertFiles, CertStore, KeyType } from './store.js';
import { splitPem } from './store.js';

type AcmeModule = typeof import('acme-client');
type AcmeClient = InstanceType<AcmeModule['Client']>;

export const DIRECTORIES = {
  production: 'https://acme-v02.api.letsencrypt.org/directory',
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
} as const;

/** One challenge to answer: the domain, the token and what the CA expects. */
export interface ChallengeItem {
  domain: string;
  wildcard: boolean;
  token: string;
  keyAuthorization: string;
  /** DNS-01: the TXT value (base64url SHA-256 of the key authorization). */
  dnsValue: string;
}

/** How a challenge is answered: webroot, standalone, Heroku config vars, Route 53. */
export interface ChallengeSolver {
  name: 'webroot' | 'standalone' | 'heroku' | 'dns';
  challengeType: 'http-01' | 'dns-01';
  /** How many challenges can be live at once (Heroku's config vars hold one answer). */
  batchSize: number;
  /** Checked before the CA is contacted (port free, webroot writable, credentials present). */
  prepare?(): Promise<void>;
  present(items: ChallengeItem[]): Promise<void>;
  /** Always called after present, also on failure. */
  cleanup(items: ChallengeItem[]): Promise<void>;
  close?(): Promise<void>;
}

export interface AcmeTransportOptions {
  /** PEM bundle of extra CAs trusted for the ACME API (private CAs, Pebble). */
  caBundle?: string;
  /** acme-client's retries of failed requests: attempts and base delay in seconds. */
  retryAttempts?: number;
  retryDelaySeconds?: number;
}

export interface IssueRequest extends AcmeTransportOptions {
  directoryUrl: string;
  email: string;
  domains: string[];
  keyType: KeyType;
  solver: ChallengeSolver;
  store: CertStore;
  log?: (msg: string) => void;
  debug?: (msg: string) => void;
  signal?: AbortSignal;
  now?: () => Date;
}

let acmeModule: AcmeModule | undefined;
const trace: AcmeTrace = { problems: [] };
let debugSink: ((m: string) => void) | undefined;

/** acme-client is loaded only by the cert commands that talk to a CA. */
export async function loadAcme(): Promise<AcmeModule> {
  if (acmeModule) return acmeModule;
  const mod = (await import('acme-client')) as AcmeModule & { default?: AcmeModule };
  acmeModule = (mod.default ?? mod) as AcmeModule;
  instrumentTransport(acmeModule);
  acmeModule.setLogger((m) => debugSink?.(`acme: ${m}`));
  return acmeModule;
}

const PERMANENT_TLS = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE']);

/**
 * Wrap acme-client's axios adapter: record problem documents (acme-client
 * keeps only their detail), fail fast on certificate-verification errors
 * (retrying cannot fix them) and on long rate-limit waits (acme-client would
 * sleep through a Retry-After of hours).
 */
function instrumentTransport(acme: AcmeModule): void {
  const instance = acme.axios as unknown as { defaults: Record<string, any> };
  const axiosPkg = createRequire(createRequire(import.meta.url).resolve('acme-client'))('axios') as { getAdapter(name: string): (config: any) => Promise<any> };
  const http = axiosPkg.getAdapter('http');
  instance.defaults.adapter = async (config: any) => {
    let resp: any;
    try {
      resp = await http(config);
    } catch (err) {
      // acme-client makes axios reject every response (validateStatus () => false), so answers land here too.
      const e = err as { code?: string; message?: string; cause?: { code?: string }; response?: any };
      if (e.response) {
        inspectResponse(e.response, config);
        throw err;
      }
      const code = e.cause?.code ?? e.code;
      trace.networkError = { code, message: String(e.message ?? err), url: config?.url };
      if (code && PERMANENT_TLS.has(code)) {
        // No `config` on the error: acme-client's retry interceptor passes it straight through.
        throw new OpsError(`Cannot reach the ACME server ${safeHost(config?.url)}: ${code}: ${e.message}.`, {
          hint: 'its TLS certificate is not trusted here: pass --ca-bundle FILE (or set NODE_EXTRA_CA_CERTS) for a private CA, or check the clock and CA certificates',
          code: 'acme-tls',
        });
      }
      throw err;
    }
    inspectResponse(resp, config);
    return resp;
  };
}

function inspectResponse(resp: any, config: any): void {
  recordProblem(resp);
  if (resp?.status === 429) {
    const retryAfter = String(resp.headers?.['retry-after'] ?? '');
    const secs = Number(retryAfter);
    if (!retryAfter || !Number.isFinite(secs) || secs > 30) {
      const p = trace.problems[trace.problems.length - 1];
      const e = translateAcmeError(new Error(p?.detail ?? 'rate limited'), trace, { directoryUrl: config?.url ?? '', domains: [] });
      throw e;
    }
  }
}

function recordProblem(resp: any): void {
  // The adapter sees the raw body: axios parses JSON only after it.
  let data = resp?.data;
  if (typeof data === 'string' || Buffer.isBuffer(data)) {
    try {
      data = JSON.parse(String(data));
    } catch {
      return;
    }
  }
  if (!data || typeof data !== 'object') return;
  const retryAfter = resp.headers?.['retry-after'] ? String(resp.headers['retry-after']) : undefined;
  if (typeof data.type === 'string' && data.type.includes(':error:')) {
    trace.problems.push({ type: data.type, detail: String(data.detail ?? ''), status: resp.status, retryAfter, instance: data.instance, subproblems: data.subproblems });
  } else if (data.status === 'invalid' && data.error && typeof data.error.type === 'string') {
    // A failed challenge: the error plus what the CA fetched.
    const rec = Array.isArray(data.validationRecord) ? data.validationRecord[0] : undefined;
    trace.problems.push({ type: data.error.type, detail: String(data.error.detail ?? ''), status: resp.status, validationUrl: rec?.url, hostname: rec?.hostname, subproblems: data.error.subproblems });
  }
}

function safeHost(url: string | undefined): string {
  try {
    return new URL(url ?? '').host;
  } catch {
    return String(url);
  }
}

async function configureTransport(acme: AcmeModule, opts: AcmeTransportOptions): Promise<void> {
  const instance = acme.axios as unknown as { defaults: Record<string, any> };
  instance.defaults.acmeSettings.retryMaxAttempts = opts.retryAttempts ?? 3;
  instance.defaults.acmeSettings.retryDefaultDelay = opts.retryDelaySeconds ?? 2;
  if (opts.caBundle) {
    let ca: Buffer;
    try {
      ca = await readFile(opts.caBundle);
    } catch (err) {
      throw new OpsError(`Cannot read the CA bundle ${opts.caBundle}: ${(err as Error).message}`, { exitCode: ExitCode.USAGE, code: 'bad-ca-bundle' });
    }
    // Trust the bundle in addition to the system roots.
    const { rootCertificates } = await import('node:tls');
    instance.defaults.httpsAgent = new https.Agent({ ca: [...rootCertificates, ca.toString('utf8')], keepAlive: true });
  } else {
    instance.defaults.httpsAgent = new https.Agent({ keepAlive: true });
  }
}

export async function createPrivateKey(keyType: KeyType): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, _pub: unknown, key: string) => (err ? reject(err) : resolve(key));
    if (keyType === 'ecdsa-p256') generateKeyPair('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }, done as any);
    else generateKeyPair('rsa', { modulusLength: keyType === 'rsa-4096' ? 4096 : 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }, done as any);
  });
}

/** The account key for this directory+email: created once (0600) and reused. */
export async function accountKey(store: CertStore, directoryUrl: string, email: string): Promise<{ key: string; created: boolean; paths: { key: string; info: string } }> {
  const paths = store.accountPaths(directoryUrl, email);
  const existing = await readFileIfExists(paths.key);
  if (existing) return { key: existing, created: false, paths };
  const key = await createPrivateKey('ecdsa-p256');
  await writeFileAtomic(paths.key, key, { mode: 0o600 });
  return { key, created: true, paths };
}

export interface Issued {
  files: CertFiles;
  accountUrl: string;
}

/**
 * Run one ACME order to completion: account, order, challenges (in batches
 * the solver allows, always cleaned up), finalize, download.
 */
export async function issueCertificate(req: IssueRequest): Promise<Issued> {
  const acme = await loadAcme();
  debugSink = req.debug;
  trace.problems = [];
  trace.networkError = undefined;
  const errCtx = { directoryUrl: req.directoryUrl, email: req.email, domains: req.domains, challenge: req.solver.name, now: req.now };
  const log = req.log ?? (() => {});
  const checkAbort = () => {
    if (req.signal?.aborted) throw new OpsError('Interrupted.', { exitCode: ExitCode.INTERRUPTED, code: 'interrupted' });
  };
  try {
    await req.solver.prepare?.();
    await configureTransport(acme, req);
    const account = await accountKey(req.store, req.directoryUrl, req.email);
    // A known account URL saves the newAccount + update round trips on every renewal.
    const known = account.created ? undefined : await readAccountUrl(account.paths.info);
    const client: AcmeClient = new acme.Client({ directoryUrl: req.directoryUrl, accountKey: account.key, ...(known ? { accountUrl: known } : {}), backoffAttempts: 16, backoffMin: 100, backoffMax: 10_000 });
    log(`${account.created ? 'registering' : 'using'} ACME account ${req.email} at ${safeHost(req.directoryUrl)}`);
    if (!known) {
      await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${req.email}`] });
      await writeFileAtomic(account.paths.info, JSON.stringify({ url: client.getAccountUrl(), directory: req.directoryUrl, email: req.email }, null, 2) + '\n', { mode: 0o600 });
    }
    const accountUrl = client.getAccountUrl();
    checkAbort();

    const keyPromise = createPrivateKey(req.keyType);
    // The CSR is built while the challenges are validated.
    const commonName = req.domains[0]!.length <= 64 ? req.domains[0] : undefined;
    const csrPromise = keyPromise.then((key) => acme.crypto.createCsr({ commonName, altNames: req.domains }, key));
    csrPromise.catch(() => {});
    const order = await client.createOrder({ identifiers: req.domains.map((value) => ({ type: 'dns', value })) });
    const authzs = await client.getAuthorizations(order);
    const items: Array<{ item: ChallengeItem; challenge: any }> = [];
    for (const authz of authzs) {
      if (authz.status === 'valid') continue;
      const domain = (authz.wildcard ? '*.' : '') + authz.identifier.value;
      const challenge = authz.challenges.find((c) => c.type === req.solver.challengeType);
      if (!challenge) {
        const offered = authz.challenges.map((c) => c.type).join(', ');
        throw new OpsError(`The CA offers no ${req.solver.challengeType} challenge for ${domain} (offered: ${offered || 'none'}).`, {
          hint: authz.wildcard ? 'wildcard certificates need DNS-01: use --dns route53' : 'pick another challenge option',
          exitCode: ExitCode.USAGE,
          code: 'acme-no-challenge',
        });
      }
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      // acme-client already returns the TXT digest as the "key authorization" of a dns-01 challenge.
      const dnsValue = challenge.type === 'dns-01' ? keyAuthorization : createHash('sha256').update(keyAuthorization).digest('base64url');
      items.push({ item: { domain, wildcard: Boolean(authz.wildcard), token: (challenge as { token: string }).token, keyAuthorization, dnsValue }, challenge });
    }

    for (let i = 0; i < items.length; i += req.solver.batchSize) {
      const batch = items.slice(i, i + req.solver.batchSize);
      const its = batch.map((b) => b.item);
      try {
        log(`answering ${req.solver.challengeType} for ${its.map((x) => x.domain).join(', ')} (${req.solver.name})`);
        await req.solver.present(its);
        checkAbort();
        await Promise.all(batch.map((b) => client.completeChallenge(b.challenge)));
        await Promise.all(
          batch.map((b) =>
            client.waitForValidStatus(b.challenge).catch((err: unknown) => {
              // Name the domain and challenge in the translated error.
              if (err && typeof err === 'object') Object.assign(err, { acmeItem: b.item, challengeType: req.solver.challengeType });
              throw err;
            }),
          ),
        );
      } finally {
        await req.solver.cleanup(its).catch((err) => log(`warning: cleaning up the challenge failed: ${(err as Error).message}`));
      }
      checkAbort();
    }

    const key = await keyPromise;
    const [, csr] = await csrPromise;
    log('finalizing the order');
    const finalized = await client.finalizeOrder(order, csr);
    const valid = await client.waitForValidStatus(finalized);
    const fullchainRaw = await client.getCertificate(valid);
    const blocks = splitPem(fullchainRaw);
    if (blocks.length === 0) throw new OpsError('The CA returned no certificate.', { code: 'acme-no-certificate' });
    const cert = blocks[0]!;
    const chain = blocks.slice(1).join('');
    return { files: { privkey: key, cert, chain, fullchain: cert + chain }, accountUrl };
  } catch (err) {
    throw translateAcmeError(err, trace, errCtx);
  } finally {
    debugSink = undefined;
    await req.solver.close?.().catch(() => {});
  }
}

async function readAccountUrl(file: string): Promise<string | undefined> {
  try {
    const info = JSON.parse((await readFileIfExists(file)) ?? '{}') as { url?: unknown };
    return typeof info.url === 'string' && info.url.startsWith('http') ? info.url : undefined;
  } catch {
    return undefined;
  }
}

/** For tests and diagnostics: the last problem the CA returned. */
export function lastProblem(): AcmeProblem | undefined {
  return trace.problems[trace.problems.length - 1];
}
