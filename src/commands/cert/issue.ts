import path from 'node:path';
import type { Context } from '../../lib/context.js';
import { DIRECTORIES } from './acme.js';
import { obtainAndStore, type CertDeps, type ObtainSettings } from './obtain.js';
import { certName, describeTarget, normalizeDomains, renewalDue, type CertMetadata, type ChallengeSettings, type KeyType, CERT_FILES } from './store.js';
import { isOpsError, usageError } from '../../lib/errors.js';
import { certDeps } from './common.js';

export interface IssueResult {
  name: string;
  dir: string;
  domains: string[];
  directory: string;
  challenge: ChallengeSettings['type'];
  issuer?: string;
  notBefore: string;
  notAfter: string;
  replaced: boolean;
  /** An identical certificate that is not due was already stored (no --force): nothing was requested. */
  skipped: boolean;
  files: Record<string, string>;
  pushTargets: string[];
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Flags > OPSCTL_CERT_* > config "cert" section > defaults, and the checks that need no network. */
export function resolveIssueOptions(opts: Record<string, any>, ctx: Pick<Context, 'setting'>): ObtainSettings {
  const domains = normalizeDomains(opts.domain);
  if (domains.length === 0) throw usageError('Which domain? Pass -d DOMAIN (repeat for more names).', 'e.g. opsctl cert issue -d example.com -d www.example.com --email me@example.com --webroot /var/www/html');
  const email = ctx.setting<string>('cert', 'email', opts.email);
  if (!email) throw usageError('An ACME account email is needed: pass --email (or set cert.email in the config).', 'the CA sends expiry warnings there');
  if (!EMAIL.test(email)) throw usageError(`"${email}" is not an email address.`, 'pass --email you@your-domain');
  if (opts.staging && opts.directory) throw usageError('Pass either --staging or --directory, not both.');
  const directory = opts.staging ? DIRECTORIES.staging : (ctx.setting<string>('cert', 'directory', opts.directory) ?? DIRECTORIES.production);
  try {
    const u = new URL(directory);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    throw usageError(`--directory "${directory}" is not a URL.`, `e.g. ${DIRECTORIES.staging}`);
  }
  const picked = [opts.webroot !== undefined && 'webroot', opts.standalone && 'standalone', opts.herokuApp !== undefined && 'heroku-app', opts.dns !== undefined && 'dns'].filter(Boolean) as string[];
  if (picked.length > 1) throw usageError(`Pick one challenge method, not ${picked.map((p) => '--' + p).join(' and ')}.`);
  if (picked.length === 0) throw usageError('How should the CA check you control the domain? Pass --webroot DIR, --standalone, --heroku-app APP or --dns route53.', '--webroot suits a running web server; --standalone when nothing listens on port 80');
  if (opts.httpPort !== undefined && !opts.standalone) throw usageError('--http-port only applies to --standalone.');
  if (opts.hostedZoneId !== undefined && opts.dns === undefined) throw usageError('--hosted-zone-id only applies to --dns route53.');
  let challenge: ChallengeSettings;
  if (opts.webroot !== undefined) challenge = { type: 'webroot', webroot: path.resolve(String(opts.webroot)) };
  else if (opts.standalone) {
    const httpPort = ctx.setting<number>('cert', 'httpPort', opts.httpPort, 80, 'number')!;
    if (!Number.isInteger(httpPort) || httpPort < 1 || httpPort > 65535) throw usageError(`--http-port must be 1-65535, got ${httpPort}.`);
    challenge = { type: 'standalone', httpPort };
  } else if (opts.herokuApp !== undefined) challenge = { type: 'heroku', app: String(opts.herokuApp) };
  else challenge = { type: 'dns', provider: 'route53', ...(opts.hostedZoneId ? { hostedZoneId: String(opts.hostedZoneId) } : {}) };
  const keyType = (opts.keyType ?? ctx.setting<string>('cert', 'keyType', undefined, 'ecdsa-p256')) as KeyType;
  if (!['ecdsa-p256', 'rsa-2048', 'rsa-4096'].includes(keyType)) throw usageError(`Unknown key type "${keyType}".`, 'use ecdsa-p256, rsa-2048 or rsa-4096');
  const caBundle = ctx.setting<string>('cert', 'caBundle', opts.caBundle);
  return {
    name: certName(domains[0]!),
    domains,
    directory,
    email,
    keyType,
    challenge,
    ...(opts.selfCheck === false ? { skipSelfCheck: true } : {}),
    ...(caBundle ? { caBundle: path.resolve(caBundle) } : {}),
  };
}

/**
 * The same names, key type and CA as a stored certificate that is not due:
 * issuing again would only spend the CA's duplicate-certificate rate limit.
 */
function unchanged(prev: CertMetadata, s: ObtainSettings, now: Date): boolean {
  const same = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
  return same(prev.domains, s.domains) && prev.keyType === s.keyType && prev.directory === s.directory && !renewalDue(prev, now).due;
}

export async function run(settings: ObtainSettings & { force?: boolean }, deps: CertDeps): Promise<IssueResult> {
  const previous = await deps.store.read(settings.name).catch((err: unknown) => {
    // Unreadable metadata must not block the way out of it: --force issues over it.
    if (!settings.force || !isOpsError(err) || err.code !== 'cert-metadata-corrupt') throw err;
    deps.warn(`${err.message}; issuing a new certificate over it (its push targets are forgotten)`);
    return undefined;
  });
  if (previous && !settings.force && unchanged(previous.meta, settings, deps.now())) {
    // Keep the certificate, but take new challenge settings for the next renewal.
    const meta: CertMetadata = { ...previous.meta, email: settings.email, challenge: settings.challenge, skipSelfCheck: settings.skipSelfCheck, caBundle: settings.caBundle };
    if (JSON.stringify(meta) !== JSON.stringify(previous.meta)) await deps.store.writeMeta(previous.dir, meta);
    return { ...summarize(previous.dir, meta), replaced: false, skipped: true };
  }
  const { dir, meta } = await obtainAndStore(settings, previous?.meta, deps);
  return { ...summarize(dir, meta), replaced: Boolean(previous), skipped: false };
}

function summarize(dir: string, meta: CertMetadata): Omit<IssueResult, 'replaced' | 'skipped'> {
  return {
    name: meta.name,
    dir,
    domains: meta.domains,
    directory: meta.directory,
    challenge: meta.challenge.type,
    issuer: meta.issuer,
    notBefore: meta.notBefore,
    notAfter: meta.notAfter,
    files: Object.fromEntries(CERT_FILES.map((f) => [f.replace('.pem', ''), path.join(dir, f)])),
    pushTargets: meta.pushTargets.map(describeTarget),
  };
}

export async function handler(_args: unknown[], opts: Record<string, any>, ctx: Context): Promise<number> {
  const settings = resolveIssueOptions(opts, ctx);
  const deps = certDeps(opts, ctx);
  if (ctx.global.dryRun) {
    const plan = { name: settings.name, dir: deps.store.dirFor(settings.name), domains: settings.domains, directory: settings.directory, email: settings.email, keyType: settings.keyType, challenge: settings.challenge };
    if (ctx.global.json) ctx.out.data({ dryRun: true, plan });
    else {
      ctx.out.line(`[dry run] would request a ${settings.keyType} certificate for ${settings.domains.join(', ')}`);
      ctx.out.line(`  from ${settings.directory} as ${settings.email}, answering ${describeChallenge(settings.challenge)}`);
      ctx.out.line(`  and store it in ${plan.dir}`);
    }
    return 0;
  }
  const result = await run({ ...settings, force: Boolean(opts.force) }, deps);
  if (ctx.global.json) ctx.out.data(result);
  else printIssued(ctx, result);
  return 0;
}

function describeChallenge(c: ChallengeSettings): string {
  switch (c.type) {
    case 'webroot':
      return `HTTP-01 through webroot ${c.webroot}`;
    case 'standalone':
      return `HTTP-01 served by opsctl on port ${c.httpPort}`;
    case 'heroku':
      return `HTTP-01 through the config vars of Heroku app ${c.app}`;
    case 'dns':
      return `DNS-01 through Route 53${c.hostedZoneId ? ` zone ${c.hostedZoneId}` : ''}`;
  }
}

function printIssued(ctx: Context, r: IssueResult): void {
  if (r.skipped) {
    ctx.out.info(`Certificate ${r.name} (${r.domains.join(', ')}) is already stored and not due until its last third (expires ${r.notAfter.slice(0, 10)}); nothing requested. Pass --force to issue again.`);
    ctx.out.line(`certificate: ${r.files.fullchain}`);
    ctx.out.line(`private key: ${r.files.privkey}`);
    return;
  }
  ctx.out.success(`${r.replaced ? 'Replaced' : 'Issued'} certificate ${r.name} (${r.domains.join(', ')}), valid until ${r.notAfter.slice(0, 10)}`);
  ctx.out.line(`certificate: ${r.files.fullchain}`);
  ctx.out.line(`private key: ${r.files.privkey}`);
  ctx.out.line(`expires:     ${r.notAfter}`);
  if (r.pushTargets.length) ctx.out.warn(`${r.pushTargets.join(', ')} still serve the previous certificate until \`opsctl cert push … -d ${r.name}\` or the next renewal`);
  else ctx.out.info(`next: \`opsctl cert push heroku|acm|ssh -d ${r.name} …\`, and run \`opsctl cert renew --all\` daily (see the README)`);
}
