import { createHash, generateKeyPair } from 'node:crypto';
import { isIP } from 'node:net';
import { OpsError, ExitCode } from '../../lib/errors.js';
import { readFileIfExists, writeFileAtomic } from '../../lib/fs.js';
import { translateAcmeError } from './acme-errors.js';
import { assertSafeToken } from './http01.js';
import { configureTransport, loadAcme, safeHost, setDebugSink, trace, watchdog, type AcmeTransportOptions } from './acme-transport.js';
import type { CertFiles, CertStore, KeyType } from './store.js';
import { splitPem } from './store.js';

export type { AcmeTransportOptions } from './acme-transport.js';
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
  /** --reuse-key: sign the CSR with this key instead of a new one. */
  privateKey?: string;
  /** --preferred-chain: issuer common name of the alternate chain to pick. */
  preferredChain?: string;
  /** External account binding for a new account. */
  eab?: { kid: string; hmacKey: string };
  /** ACME profile to ask for; must be one the directory lists in meta.profiles. */
  profile?: string;
  /** ARI CertID of the certificate this order replaces (sent only when the CA offers renewalInfo). */
  replaces?: string;
}

interface AcmeDirectory {
  renewalInfo?: string;
  meta?: { profiles?: Record<string, string> };
}

/**
 * RFC 8555 §6.5 asks clients to retry a badNonce with the fresh nonce; under
 * load a CA may reject several in a row (Pebble's PEBBLE_WFE_NONCEREJECT).
 * acme-client retries once by default: this many in a row is practically never.
 */
const BAD_NONCE_RETRIES = 64;

/** A promise that rejects at once when the signal fires, so `finally` cleanup runs without waiting for acme-client's backoff. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
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
  setDebugSink(req.debug);
  trace.problems = [];
  trace.networkError = undefined;
  const errCtx = { directoryUrl: req.directoryUrl, email: req.email, domains: req.domains, challenge: req.solver.name, eab: Boolean(req.eab), now: req.now };
  const log = req.log ?? (() => {});
  // Aborted by Ctrl-C/SIGTERM (req.signal) or by the watchdog when the CA stops answering.
  const dead = new AbortController();
  const signal = req.signal ? AbortSignal.any([req.signal, dead.signal]) : dead.signal;
  const step = <T>(p: Promise<T>) => abortable(p, signal);
  const checkAbort = () => {
    if (signal.aborted) throw signal.reason;
  };
  try {
    await req.solver.prepare?.();
    await configureTransport(acme, req);
    watchdog.onDead = (err) => dead.abort(err);
    const account = await accountKey(req.store, req.directoryUrl, req.email);
    // A known account URL saves the newAccount + update round trips on every renewal.
    const known = account.created ? undefined : await readAccountUrl(account.paths.info);
    const client: AcmeClient = new acme.Client({
      directoryUrl: req.directoryUrl,
      accountKey: account.key,
      ...(known ? { accountUrl: known } : {}),
      ...(req.eab ? { externalAccountBinding: { kid: req.eab.kid, hmacKey: req.eab.hmacKey } } : {}),
      backoffAttempts: 20,
      backoffMin: 100,
      backoffMax: 5_000,
    });
    (client as unknown as { http: { maxBadNonceRetries: number } }).http.maxBadNonceRetries = BAD_NONCE_RETRIES;
    const directory = (await step((client as unknown as { http: { getDirectory(): Promise<AcmeDirectory> } }).http.getDirectory())) ?? {};
    if (req.profile) checkProfile(req.profile, directory, req.directoryUrl);
    const replaces = req.replaces && directory.renewalInfo ? req.replaces : undefined;
    log(`${account.created ? 'registering' : 'using'} ACME account ${req.email} at ${safeHost(req.directoryUrl)}`);
    if (!known) {
      await step(client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${req.email}`] }));
      await writeFileAtomic(account.paths.info, JSON.stringify({ url: client.getAccountUrl(), directory: req.directoryUrl, email: req.email }, null, 2) + '\n', { mode: 0o600 });
    }
    const accountUrl = client.getAccountUrl();
    checkAbort();

    const keyPromise = req.privateKey ? Promise.resolve(req.privateKey) : createPrivateKey(req.keyType);
    // The CSR is built while the challenges are validated.
    const commonName = req.domains[0]!.length <= 64 ? req.domains[0] : undefined;
    const csrPromise = keyPromise.then((key) => acme.crypto.createCsr({ commonName, altNames: req.domains }, key));
    csrPromise.catch(() => {});
    // acme-client sends the payload as given: profile and replaces ride along in newOrder.
    const orderPayload = { identifiers: req.domains.map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value })), ...(req.profile ? { profile: req.profile } : {}), ...(replaces ? { replaces } : {}) };
    const order = await step(client.createOrder(orderPayload as Parameters<AcmeClient['createOrder']>[0]));
    const authzs = await step(client.getAuthorizations(order));
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
      assertSafeToken((challenge as { token: string }).token);
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
        await step(Promise.all(batch.map((b) => client.completeChallenge(b.challenge))));
        await step(Promise.all(
          batch.map((b) =>
            client.waitForValidStatus(b.challenge).catch((err: unknown) => {
              // Name the domain and challenge in the translated error.
              if (err && typeof err === 'object') Object.assign(err, { acmeItem: b.item, challengeType: req.solver.challengeType });
              throw err;
            }),
          ),
        ));
      } finally {
        await req.solver.cleanup(its).catch((err) => log(`warning: cleaning up the challenge failed: ${(err as Error).message}`));
      }
      checkAbort();
    }

    const key = await keyPromise;
    const [, csr] = await csrPromise;
    log('finalizing the order');
    const finalized = await step(client.finalizeOrder(order, csr));
    const valid = await step(client.waitForValidStatus(finalized));
    const fullchainRaw = await step(client.getCertificate(valid, req.preferredChain));
    const blocks = splitPem(fullchainRaw);
    if (blocks.length === 0) throw new OpsError('The CA returned no certificate.', { code: 'acme-no-certificate' });
    const cert = blocks[0]!;
    const chain = blocks.slice(1).join('');
    return { files: { privkey: key, cert, chain, fullchain: cert + chain }, accountUrl };
  } catch (err) {
    throw translateAcmeError(err, trace, errCtx);
  } finally {
    watchdog.onDead = undefined;
    if (watchdog.timer) clearTimeout(watchdog.timer);
    watchdog.timer = undefined;
    setDebugSink(undefined);
    await req.solver.close?.().catch(() => {});
  }
}

function checkProfile(profile: string, directory: AcmeDirectory, directoryUrl: string): void {
  const offered = Object.keys(directory.meta?.profiles ?? {});
  if (offered.includes(profile)) return;
  throw new OpsError(offered.length ? `The CA at ${safeHost(directoryUrl)} has no profile "${profile}".` : `The CA at ${safeHost(directoryUrl)} offers no profiles (its directory has no meta.profiles).`, {
    hint: offered.length ? `its profiles: ${offered.map((p) => `${p} (${directory.meta!.profiles![p]})`).join(', ')}` : 'drop --profile',
    exitCode: ExitCode.USAGE,
    code: 'acme-bad-profile',
  });
}

async function readAccountUrl(file: string): Promise<string | undefined> {
  try {
    const info = JSON.parse((await readFileIfExists(file)) ?? '{}') as { url?: unknown };
    return typeof info.url === 'string' && info.url.startsWith('http') ? info.url : undefined;
  } catch {
    return undefined;
  }
}

/** RFC 5280 reason codes certbot accepts by name. */
export const REVOCATION_REASONS = { unspecified: 0, keycompromise: 1, affiliationchanged: 3, superseded: 4, cessationofoperation: 5 } as const;

/** Revoke with the account that ordered the certificate (its key signs the request). */
export async function revokeCertificate(req: { directoryUrl: string; email: string; store: CertStore; caBundle?: string; certPem: string; reason: number; debug?: (m: string) => void; signal?: AbortSignal } & AcmeTransportOptions): Promise<void> {
  const acme = await loadAcme();
  setDebugSink(req.debug);
  trace.problems = [];
  trace.networkError = undefined;
  const dead = new AbortController();
  const signal = req.signal ? AbortSignal.any([req.signal, dead.signal]) : dead.signal;
  try {
    await configureTransport(acme, req);
    watchdog.onDead = (err) => dead.abort(err);
    const paths = req.store.accountPaths(req.directoryUrl, req.email);
    const key = await readFileIfExists(paths.key);
    if (!key) throw new OpsError(`No ACME account key for ${req.email} at ${safeHost(req.directoryUrl)} in the store.`, { hint: 'revoke from the account that ordered the certificate', code: 'acme-no-account' });
    const known = await readAccountUrl(paths.info);
    const client: AcmeClient = new acme.Client({ directoryUrl: req.directoryUrl, accountKey: key, ...(known ? { accountUrl: known } : {}) });
    (client as unknown as { http: { maxBadNonceRetries: number } }).http.maxBadNonceRetries = BAD_NONCE_RETRIES;
    if (!known) await abortable(client.createAccount({ onlyReturnExisting: true }), signal);
    await abortable(client.revokeCertificate(req.certPem, { reason: req.reason }), signal);
  } catch (err) {
    throw translateAcmeError(err, trace, { directoryUrl: req.directoryUrl, email: req.email, domains: [] });
  } finally {
    watchdog.onDead = undefined;
    if (watchdog.timer) clearTimeout(watchdog.timer);
    watchdog.timer = undefined;
    setDebugSink(undefined);
  }
}
