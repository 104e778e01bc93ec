import path from 'node:path';
import { defineCommand, flag } from '../../lib/command.js';
import type { Context } from '../../lib/context.js';
import type { Output } from '../../lib/output.js';
import { escapeLine } from '../../lib/terminal.js';
import { DIRECTORIES } from './acme.js';
import { testIssue, type TestIssuance } from './dry-run.js';
import { deliverPending, type DeliverDeps, type DeliveryResult } from './delivery.js';
import { HookRun } from './hooks.js';
import { obtainAndStore, type CertDeps, type ObtainSettings } from './obtain.js';
import { certName, describeTarget, normalizeDomains, pendingDeliveries, renewalDue, type CertHooks, type CertMetadata, type ChallengeSettings, type KeyType, type StoredCert, CERT_FILES } from './store.js';
import { isOpsError, usageError } from '../../lib/errors.js';
import { certDeps, withTermination } from './common.js';

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
  /** Pushes and the deploy hook run after it was stored. */
  deliveries: DeliveryResult[];
  /** Places still without this certificate. */
  pending: string[];
  pushTargets: string[];
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Flags > OPSCTL_CERT_* > config "cert" section > defaults, and the checks that need no network. */
export function resolveIssueOptions(flags: Record<string, unknown>, ctx: Pick<Context, 'setting'>, acmeProfile?: string): ObtainSettings {
  // commander's values as parsed: strings, booleans, numbers and the collected -d list.
  const opts = flags as Record<string, any>;
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
  if (opts.hostedZoneId !== undefined && opts.dns !== 'route53') throw usageError('--hosted-zone-id only applies to --dns route53.');
  const dns = opts.dns === undefined ? undefined : String(opts.dns);
  if (dns !== undefined && !['route53', 'rfc2136', 'cloudflare'].includes(dns) && !/^exec:./.test(dns)) throw usageError(`Unknown --dns provider "${dns}".`, 'use route53, rfc2136, cloudflare or exec:/path/to/script (lego\'s exec protocol: SCRIPT present|cleanup FQDN VALUE)');
  if (opts.rfc2136Credentials !== undefined && dns !== 'rfc2136') throw usageError('--rfc2136-credentials only applies to --dns rfc2136.');
  let challenge: ChallengeSettings;
  if (opts.webroot !== undefined) challenge = { type: 'webroot', webroot: path.resolve(String(opts.webroot)) };
  else if (opts.standalone) {
    const httpPort = ctx.setting<number>('cert', 'httpPort', opts.httpPort, 80, 'number')!;
    if (!Number.isInteger(httpPort) || httpPort < 1 || httpPort > 65535) throw usageError(`--http-port must be 1-65535, got ${httpPort}.`);
    challenge = { type: 'standalone', httpPort };
  } else if (opts.herokuApp !== undefined) challenge = { type: 'heroku', app: String(opts.herokuApp) };
  else if (dns === 'rfc2136') challenge = { type: 'dns', provider: 'rfc2136', ...(opts.rfc2136Credentials ? { credentials: path.resolve(String(opts.rfc2136Credentials)) } : {}) };
  else if (dns === 'cloudflare') challenge = { type: 'dns', provider: 'cloudflare' };
  else if (dns!.startsWith('exec:')) challenge = { type: 'dns', provider: 'exec', program: path.resolve(dns!.slice(5)) };
  else challenge = { type: 'dns', provider: 'route53', ...(opts.hostedZoneId ? { hostedZoneId: String(opts.hostedZoneId) } : {}) };
  const hooks: CertHooks = {};
  for (const [key, name] of [['preHook', 'pre'], ['postHook', 'post'], ['deployHook', 'deploy']] as const) {
    const v = opts[key];
    // An empty string clears a remembered hook (`--deploy-hook ''`).
    if (typeof v === 'string') hooks[name] = v.trim() === '' ? '' : v;
  }
  if ((opts.eabKid === undefined) !== (opts.eabHmacKey === undefined)) throw usageError('EAB needs both --eab-kid and --eab-hmac-key.', 'the CA shows both when you create EAB credentials (ZeroSSL, Google Trust Services)');
  if (opts.eabHmacKey !== undefined && !/^[A-Za-z0-9_-]+={0,2}$/.test(String(opts.eabHmacKey))) throw usageError('--eab-hmac-key must be the base64url key the CA gave you.');
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
    ...(Object.keys(hooks).length ? { hooks } : {}),
    ...(opts.reuseKey ? { reuseKey: true } : {}),
    ...(acmeProfile ?? opts.profile ? { profile: String(acmeProfile ?? opts.profile) } : {}),
    ...(opts.preferredChain ? { preferredChain: String(opts.preferredChain) } : {}),
    ...(opts.eabKid !== undefined ? { eab: { kid: String(opts.eabKid), hmacKey: String(opts.eabHmacKey) } } : {}),
  };
}

/**
 * The same names, key type and CA as a stored certificate that is not due:
 * issuing again would only spend the CA's duplicate-certificate rate limit.
 */
function unchanged(prev: CertMetadata, s: ObtainSettings, now: Date): boolean {
  const same = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
  return same(prev.domains, s.domains) && prev.keyType === s.keyType && prev.directory === s.directory && prev.profile === s.profile && !renewalDue(prev, now).due;
}

export type IssueDeps = CertDeps & DeliverDeps;

export async function run(settings: ObtainSettings & { force?: boolean }, deps: IssueDeps): Promise<IssueResult> {
  const previous = await deps.store.read(settings.name).catch((err: unknown) => {
    // Unreadable metadata must not block the way out of it: --force issues over it.
    if (!settings.force || !isOpsError(err) || err.code !== 'cert-metadata-corrupt') throw err;
    deps.warn(`${err.message}; issuing a new certificate over it (its push targets are forgotten)`);
    return undefined;
  });
  // Hooks given again replace the stored ones; not given, the stored ones stay (as certbot's renewal config).
  const hooks: CertHooks = Object.fromEntries(Object.entries({ ...previous?.meta.hooks, ...settings.hooks }).filter(([, v]) => v));
  const wanted = { ...settings, hooks };
  if (previous && !settings.force && unchanged(previous.meta, settings, deps.now())) {
    // Keep the certificate, but take new settings for the next renewal.
    const meta: CertMetadata = {
      ...previous.meta,
      email: settings.email,
      challenge: settings.challenge,
      skipSelfCheck: settings.skipSelfCheck,
      caBundle: settings.caBundle,
      hooks,
      reuseKey: settings.reuseKey,
      preferredChain: settings.preferredChain,
      profile: settings.profile,
    };
    if (JSON.stringify(meta) !== JSON.stringify(previous.meta)) await deps.store.writeMeta(previous.dir, meta);
    const stored = { dir: previous.dir, meta };
    const deliveries = await deliverPending(stored, deps);
    return { ...summarize(previous.dir, stored.meta), replaced: false, skipped: true, deliveries, pending: pendingDeliveries(stored.meta).map((p) => p.label) };
  }
  const run = new HookRun(deps);
  let stored: StoredCert;
  // certbot's order: pre-hook, issuance, pushes and the deploy hook, then the post-hook (also after a failure).
  const finish = async () => {
    for (const e of await run.finish()) deps.warn(e.message);
  };
  try {
    await run.pre({ ...(previous?.meta ?? ({} as CertMetadata)), name: settings.name, domains: settings.domains, hooks }, deps.store.dirFor(settings.name));
    stored = await obtainAndStore(wanted, previous?.meta, deps);
  } catch (err) {
    await finish();
    throw err;
  }
  let deliveries: DeliveryResult[];
  try {
    deliveries = await deliverPending(stored, deps);
  } finally {
    await finish();
  }
  return { ...summarize(stored.dir, stored.meta), replaced: Boolean(previous), skipped: false, deliveries, pending: pendingDeliveries(stored.meta).map((p) => p.label) };
}

function summarize(dir: string, meta: CertMetadata): Omit<IssueResult, 'replaced' | 'skipped' | 'deliveries' | 'pending'> {
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

export interface IssueCommandOptions {
  settings: ObtainSettings;
  force: boolean;
  dryRun: boolean;
  certDir?: string;
}

export interface IssueDryRun {
  dryRun: true;
  name: string;
  domains: string[];
  challenge: ChallengeSettings['type'];
  test: TestIssuance;
  /** Where the real run would store it. */
  dir: string;
}

/** --dry-run: pre/post hooks run (as certbot's), a test certificate is issued, nothing is stored or delivered. */
export async function dryRun(s: ObtainSettings, deps: IssueDeps): Promise<IssueDryRun> {
  const hooks = new HookRun(deps);
  let test: TestIssuance;
  try {
    await hooks.pre({ name: s.name, domains: s.domains, hooks: s.hooks } as CertMetadata, deps.store.dirFor(s.name));
    test = await testIssue(s, deps);
  } finally {
    for (const e of await hooks.finish()) deps.warn(e.message);
  }
  return { dryRun: true, name: s.name, domains: s.domains, challenge: s.challenge.type, test, dir: deps.store.dirFor(s.name) };
}

export const command = defineCommand<IssueCommandOptions, IssueResult | IssueDryRun>({
  // `--profile` is a global option (the AWS profile) that commander takes wherever it stands; on `cert issue` it names the ACME profile, as lego's does.
  options: (_args, flags, ctx) => ({ settings: resolveIssueOptions(flags as Record<string, unknown>, ctx, ctx.global.profile), force: flag.bool(flags, 'force'), dryRun: Boolean(ctx.global.dryRun), certDir: flag.string(flags, 'certDir') }),
  async run(o, ctx) {
    const s = o.settings;
    // The AWS profile for Route 53 then comes from AWS_PROFILE / the config file only.
    const aws = { ...ctx.aws, profile: ctx.setting<string>('aws', 'profile', undefined) };
    return withTermination<IssueResult | IssueDryRun>(ctx.signal, (signal) => {
      const deps = { ...certDeps(o, ctx, signal), aws };
      return o.dryRun ? dryRun(s, deps) : run({ ...s, force: o.force }, deps);
    });
  },
  print(r, out) {
    if ('test' in r) {
      out.line(`[dry run] issued a test certificate for ${escapeLine(r.domains.join(', '))} from ${escapeLine(r.test.directory)} (serial ${r.test.serial}, ${escapeLine(r.test.issuer)}), answering ${r.challenge}`);
      out.line(`[dry run] ${escapeLine(r.test.note)}`);
      out.line(`[dry run] nothing was stored in ${escapeLine(r.dir)}; no push or deploy hook ran`);
    } else printIssued(out, r);
  },
  exitCode: (r) => ('test' in r || !r.pending.length ? 0 : 1),
});

function describeChallenge(c: ChallengeSettings): string {
  switch (c.type) {
    case 'webroot':
      return `HTTP-01 through webroot ${c.webroot}`;
    case 'standalone':
      return `HTTP-01 served by opsctl on port ${c.httpPort}`;
    case 'heroku':
      return `HTTP-01 through the config vars of Heroku app ${c.app}`;
    case 'dns':
      if (c.provider === 'exec') return `DNS-01 through ${c.program} (present/cleanup)`;
      if (c.provider === 'rfc2136') return `DNS-01 through RFC 2136 updates${c.credentials ? ` (${c.credentials})` : ''}`;
      if (c.provider === 'cloudflare') return 'DNS-01 through the Cloudflare API';
      return `DNS-01 through Route 53${c.hostedZoneId ? ` zone ${c.hostedZoneId}` : ''}`;
  }
}

function printIssued(out: Output, r: IssueResult): void {
  printIssuedCert(out, r);
  for (const d of r.deliveries) {
    if (d.ok) out.line(`delivered to ${escapeLine(d.target)}`);
    else out.error(`delivering to ${escapeLine(d.target)} failed: ${escapeLine(d.error ?? '')}`, d.hint);
  }
  if (r.pending.length) out.warn(`pending: ${r.pending.map(escapeLine).join(', ')}; \`opsctl cert renew\` tries again until it succeeds`);
}

function printIssuedCert(out: Output, r: IssueResult): void {
  if (r.skipped) {
    out.info(`Certificate ${r.name} (${r.domains.join(', ')}) is already stored and not due until its last third (expires ${r.notAfter.slice(0, 10)}); nothing requested. Pass --force to issue again.`);
    out.line(`certificate: ${r.files.fullchain}`);
    out.line(`private key: ${r.files.privkey}`);
    return;
  }
  out.success(`${r.replaced ? 'Replaced' : 'Issued'} certificate ${r.name} (${r.domains.join(', ')}), valid until ${r.notAfter.slice(0, 10)}`);
  out.line(`certificate: ${r.files.fullchain}`);
  out.line(`private key: ${r.files.privkey}`);
  out.line(`expires:     ${r.notAfter}`);
  if (!r.pushTargets.length) out.info(`next: \`opsctl cert push heroku|acm|ssh -d ${r.name} …\`, and run \`opsctl cert renew --all\` daily (see the README)`);
}
