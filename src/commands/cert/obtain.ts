import { rmdir } from 'node:fs/promises';
import type { AwsOptions } from '../../lib/aws.js';
import { ExitCode, OpsError } from '../../lib/errors.js';
import { issueCertificate, type AcmeTransportOptions, type ChallengeSolver } from './acme.js';
import type { HerokuApi } from './heroku.js';
import { standaloneSolver, webrootSolver, type SelfCheckOptions } from './http01.js';
import { herokuSolver } from './solvers.js';
import { certInfo, type CertMetadata, type CertStore } from './store.js';

/** The side effects the cert commands use, handed in so tests use Pebble and stand-ins. */
export interface CertDeps {
  store: CertStore;
  env: NodeJS.ProcessEnv;
  aws: AwsOptions;
  now: () => Date;
  log: (m: string) => void;
  warn: (m: string) => void;
  debug?: (m: string) => void;
  signal?: AbortSignal;
  /** Runs DNS exec programs (default: the real process runner). */
  runner?: import('../../lib/process.js').ProcessRunner;
  /** acme-client retry settings (tests shorten them). */
  transport?: Omit<AcmeTransportOptions, 'caBundle'>;
  /** Where opsctl fetches challenge URLs itself (tests point it at 127.0.0.1). */
  selfCheck?: SelfCheckOptions;
  /** Bind address for --standalone (default: all interfaces). */
  standaloneHost?: string;
  herokuApi: () => Promise<HerokuApi>;
  route53Solver?: (hostedZoneId: string | undefined, wait: { timeoutMs: number; intervalMs: number }) => Promise<ChallengeSolver>;
  /** The name servers to check a DNS-01 record on (tests: the local DNS); default: the zone's NS, resolved. */
  authoritativeServers?: (nameServers: string[]) => Promise<string[]>;
  waits?: { herokuTimeoutMs?: number; herokuIntervalMs?: number; dnsTimeoutMs?: number; dnsIntervalMs?: number };
}

/** What an issuance needs: the part of the metadata a renewal re-uses as it is. */
export type ObtainSettings = Pick<CertMetadata, 'name' | 'domains' | 'directory' | 'email' | 'keyType' | 'challenge' | 'skipSelfCheck' | 'caBundle' | 'hooks' | 'reuseKey' | 'preferredChain' | 'profile'> & {
  /** EAB for a new account (ZeroSSL, Google Trust Services); only needed once, never stored. */
  eab?: { kid: string; hmacKey: string };
};

/** The stored settings of a certificate, to renew it the way it was issued. */
export function storedSettings(m: CertMetadata): ObtainSettings {
  return {
    name: m.name,
    domains: m.domains,
    directory: m.directory,
    email: m.email,
    keyType: m.keyType,
    challenge: m.challenge,
    skipSelfCheck: m.skipSelfCheck,
    caBundle: m.caBundle,
    hooks: m.hooks,
    reuseKey: m.reuseKey,
    preferredChain: m.preferredChain,
    profile: m.profile,
  };
}

export async function buildSolver(s: ObtainSettings, deps: CertDeps): Promise<ChallengeSolver> {
  const check: SelfCheckOptions | false = s.skipSelfCheck ? false : (deps.selfCheck ?? {});
  const c = s.challenge;
  const httpOnly = () => {
    const wild = s.domains.filter((d) => d.startsWith('*.'));
    if (wild.length) throw new OpsError(`Wildcard names (${wild.join(', ')}) can only be validated over DNS.`, { hint: 'use --dns route53', exitCode: ExitCode.USAGE, code: 'wildcard-needs-dns' });
  };
  switch (c.type) {
    case 'webroot':
      httpOnly();
      return webrootSolver(c.webroot, check, deps.warn);
    case 'standalone':
      httpOnly();
      return standaloneSolver(c.httpPort, check, deps.warn, deps.standaloneHost);
    case 'heroku':
      httpOnly();
      return herokuSolver(c.app, deps.herokuApi, deps.selfCheck ?? {}, { timeoutMs: deps.waits?.herokuTimeoutMs ?? 300_000, intervalMs: deps.waits?.herokuIntervalMs ?? 3000, signal: deps.signal }, deps.log);
    case 'dns': {
      const wait = { timeoutMs: deps.waits?.dnsTimeoutMs ?? 300_000, intervalMs: deps.waits?.dnsIntervalMs ?? 5000 };
      if (c.provider === 'exec') {
        const { execDnsSolver } = await import('./dns-exec.js');
        return execDnsSolver(c.program, deps);
      }
      if (c.provider === 'rfc2136') {
        const { rfc2136Settings, rfc2136Solver } = await import('./dns-rfc2136.js');
        return rfc2136Solver(await rfc2136Settings(c.credentials, deps.env), { runner: deps.runner, log: deps.log, signal: deps.signal, wait: { timeoutMs: wait.timeoutMs, intervalMs: Math.min(wait.intervalMs, 1000) } });
      }
      if (c.provider === 'cloudflare') {
        const { cloudflareSolver } = await import('./dns-cloudflare.js');
        return cloudflareSolver(c.zoneId, deps, wait);
      }
      if (deps.route53Solver) return deps.route53Solver(c.hostedZoneId, wait);
      const { createRoute53, route53Solver } = await import('./route53.js');
      return route53Solver(createRoute53(deps.aws, deps.env), deps.aws, c.hostedZoneId, wait, deps.log);
    }
  }
}

/**
 * Issue a certificate and store it. Nothing in the store changes unless the CA
 * handed over a certificate; push targets of an earlier certificate are kept.
 */
export async function obtainAndStore(s: ObtainSettings, previous: CertMetadata | undefined, deps: CertDeps): Promise<{ dir: string; meta: CertMetadata }> {
  const solver = await buildSolver(s, deps);
  await deps.store.ensureWritable(s.name);
  // --reuse-key: the CSR is signed with the key the server already has (pinned keys, TLSA records).
  const previousPem = previous ? await deps.store.readFiles({ dir: deps.store.dirFor(s.name), meta: previous }).then((f) => f.cert).catch(() => undefined) : undefined;
  let replaces: string | undefined;
  try {
    replaces = previousPem ? (await import('./ari.js')).ariCertId(previousPem) : undefined;
  } catch {
    replaces = undefined;
  }
  const reuse = s.reuseKey && previous ? await deps.store.readFiles({ dir: deps.store.dirFor(s.name), meta: previous }).then((f) => f.privkey).catch(() => undefined) : undefined;
  let issued: Awaited<ReturnType<typeof issueCertificate>>;
  try {
    issued = await issueCertificate({
      directoryUrl: s.directory,
      email: s.email,
      domains: s.domains,
      keyType: s.keyType,
      ...(reuse ? { privateKey: reuse } : {}),
      ...(s.preferredChain ? { preferredChain: s.preferredChain } : {}),
      ...(s.eab ? { eab: s.eab } : {}),
      ...(s.profile ? { profile: s.profile } : {}),
      ...(replaces ? { replaces } : {}),
      solver,
      store: deps.store,
      caBundle: s.caBundle,
      ...deps.transport,
      log: deps.log,
      debug: deps.debug,
      signal: deps.signal,
      now: deps.now,
    });
  } catch (err) {
    // Leave no empty directory behind for a certificate that was never issued (rmdir refuses non-empty ones).
    await rmdir(deps.store.dirFor(s.name)).catch(() => {});
    await rmdir(deps.store.archiveDir(s.name)).catch(() => {});
    throw err;
  }
  const info = certInfo(issued.files.cert);
  const meta: CertMetadata = {
    version: 2,
    name: s.name,
    domains: s.domains,
    directory: s.directory,
    email: s.email,
    keyType: s.keyType,
    challenge: s.challenge,
    ...(s.skipSelfCheck ? { skipSelfCheck: true } : {}),
    ...(s.caBundle ? { caBundle: s.caBundle } : {}),
    ...(s.hooks && Object.values(s.hooks).some(Boolean) ? { hooks: Object.fromEntries(Object.entries(s.hooks).filter(([, v]) => v)) } : {}),
    ...(s.reuseKey ? { reuseKey: true } : {}),
    ...(s.preferredChain ? { preferredChain: s.preferredChain } : {}),
    ...(s.profile ? { profile: s.profile } : {}),
    pushTargets: previous?.pushTargets ?? [],
    issuer: info.issuer,
    serial: info.serial,
    notBefore: info.notBefore.toISOString(),
    notAfter: info.notAfter.toISOString(),
    issuedAt: deps.now().toISOString(),
    // Kept with their old serials: every place is now pending until it gets this certificate.
    deliveries: previous?.deliveries ?? {},
  };
  const dir = await deps.store.writeCert(s.name, issued.files, meta);
  return { dir, meta };
}
