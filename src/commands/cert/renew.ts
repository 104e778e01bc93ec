import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { defineCommand, flag } from '../../lib/command.js';
import { OpsError, isOpsError, usageError } from '../../lib/errors.js';
import { escapeLine } from '../../lib/terminal.js';
import { deliverPending, describeError, type DeliverDeps, type DeliveryResult } from './delivery.js';
import { HookRun } from './hooks.js';
import { testIssue, type TestIssuance } from './dry-run.js';
import { obtainAndStore, storedSettings, type CertDeps } from './obtain.js';
import { certName, deliveryLabels, pendingDeliveries, renewalDue, type StoredCert } from './store.js';
import { certDeps, withTermination } from './common.js';
import { makeDirs } from './store-fs.js';

export interface RenewOptions {
  /** Certificate names; empty = every stored certificate. */
  names: string[];
  force: boolean;
  days?: number;
  dryRun?: boolean;
  certDir?: string;
}

export interface RenewedCert {
  name: string;
  status: 'renewed' | 'not-due' | 'failed' | 'would-renew';
  reason: string;
  daysLeft: number;
  notAfter: string;
  renewAt?: string;
  error?: { message: string; hint?: string; code: string };
  /** Deliveries attempted in this run (pushes and the deploy hook). */
  pushes: DeliveryResult[];
  /** Places still without the current certificate after this run. */
  pending: Array<{ target: string; error?: string }>;
  /** --dry-run: the test certificate issued from the staging directory (not stored). */
  test?: TestIssuance;
}

export interface RenewResult {
  certificates: RenewedCert[];
  renewed: number;
  failed: number;
  pending: number;
  hookErrors: Array<{ message: string; hint?: string }>;
  dryRun?: boolean;
}

export function resolveRenewOptions(flags: Record<string, unknown>): RenewOptions {
  const domains = flag.strings(flags, 'domain');
  const days = flag.number(flags, 'days');
  if (flag.bool(flags, 'all') && domains.length) throw usageError('Pass either --all or -d DOMAIN, not both.');
  if (days !== undefined && flag.bool(flags, 'force')) throw usageError('--days has no effect with --force.');
  return { names: domains.map((d) => certName(d)), force: flag.bool(flags, 'force'), days, certDir: flag.string(flags, 'certDir') };
}

export type RenewDeps = CertDeps & DeliverDeps;

/**
 * Renew what is due, then deliver the current certificate to every place that
 * does not have it yet: a push or deploy hook that failed last time is tried
 * again on every run, due or not, until it succeeds.
 */
export async function run(o: RenewOptions, deps: RenewDeps): Promise<RenewResult> {
  const out: RenewedCert[] = [];
  // A certificate whose metadata cannot be read cannot be renewed: that is a failure cron must see.
  const unreadable = (name: string, err: unknown) =>
    out.push({ name, status: 'failed', reason: 'unreadable metadata', daysLeft: NaN, notAfter: '', error: describeError(err), pushes: [], pending: [] });
  const certs: StoredCert[] = o.names.length ? await Promise.all(o.names.map((n) => deps.store.get(n))) : await deps.store.list(unreadable);
  const release = o.dryRun ? async () => {} : await lock(deps.store.root, deps.now);
  const hooks = new HookRun(deps);
  const directories = new Map<string, Promise<string | undefined>>();
  let hookErrors: OpsError[] = [];
  try {
    for (const c of certs) {
      if (deps.signal?.aborted) throw deps.signal.reason;
      out.push(await renewOne(c, o, deps, hooks, directories));
    }
  } finally {
    hookErrors = await hooks.finish();
    await release();
  }
  return {
    certificates: out,
    renewed: out.filter((c) => c.status === 'renewed').length,
    failed: out.filter((c) => c.status === 'failed').length,
    pending: out.reduce((n, c) => n + c.pending.length, 0),
    hookErrors: hookErrors.map((e) => ({ message: e.message, hint: e.hint })),
    ...(o.dryRun ? { dryRun: true } : {}),
  };
}

/**
 * Ask the CA for the certificate's renewal window (RFC 9773) unless the last
 * answer's Retry-After has not passed; the window and the time picked in it
 * are stored. A CA without renewalInfo, or one that does not answer, leaves
 * the lifetime rule in charge.
 */
async function refreshAri(c: StoredCert, deps: RenewDeps, directories: Map<string, Promise<string | undefined>>, persist: boolean): Promise<void> {
  const now = deps.now();
  const ari = c.meta.ari;
  if (ari && ari.serial === c.meta.serial && Date.parse(ari.nextFetch) > now.getTime()) return;
  try {
    const { fetchRenewalInfo, getJson, withWindow } = await import('./ari.js');
    let url = directories.get(c.meta.directory);
    if (!url) {
      url = getJson(c.meta.directory, c.meta.caBundle).then((r) => (typeof r.body?.renewalInfo === 'string' ? r.body.renewalInfo : undefined));
      directories.set(c.meta.directory, url);
    }
    const renewalInfo = await url;
    if (!renewalInfo) return;
    const files = await deps.store.readFiles(c);
    const info = await fetchRenewalInfo(renewalInfo, files.cert, c.meta.caBundle, now);
    if (!info) return;
    const next = { ...withWindow(ari && ari.serial === c.meta.serial ? ari : undefined, info), serial: c.meta.serial };
    c.meta = { ...c.meta, ari: next };
    if (persist) await deps.store.writeMeta(c.dir, c.meta);
  } catch (err) {
    deps.debug?.(`${c.meta.name}: no renewal information from the CA (${(err as Error).message}); using the lifetime rule`);
  }
}

async function renewOne(c: StoredCert, o: RenewOptions, deps: RenewDeps, hooks: HookRun, directories: Map<string, Promise<string | undefined>>): Promise<RenewedCert> {
  if (!o.force && o.days === undefined) await refreshAri(c, deps, directories, !o.dryRun);
  const now = deps.now();
  const due = renewalDue(c.meta, now, o.days);
  const base = { name: c.meta.name, daysLeft: due.daysLeft, notAfter: c.meta.notAfter, renewAt: due.renewAt, pushes: [] as DeliveryResult[] };
  const pendingOf = (s: StoredCert) => pendingDeliveries(s.meta).map((p) => ({ target: p.label, ...(p.last?.error ? { error: p.last.error } : {}) }));
  const renewing = due.due || o.force;
  const reason = o.force && !due.due ? `forced (${due.reason})` : due.reason;
  if (o.dryRun) {
    // As certbot's: every selected certificate is renewed for real against the staging directory, and nothing is stored.
    try {
      await hooks.pre(c.meta, c.dir);
      const test = await testIssue(storedSettings(c.meta), deps);
      return { ...base, status: 'would-renew', reason: renewing ? reason : `not due (${due.reason}); simulated`, test, pending: deliveryLabels(c.meta).map((target) => ({ target })) };
    } catch (err) {
      if (isOpsError(err) && err.code === 'interrupted') throw err;
      return { ...base, status: 'failed', reason, error: describeError(err), pending: [] };
    }
  }
  let current = c;
  let result: RenewedCert;
  if (!renewing) {
    deps.debug?.(`${c.meta.name}: not due (${due.reason})`);
    result = { ...base, status: 'not-due', reason, pending: [] };
  } else {
    deps.log(`renewing ${c.meta.name}: ${reason}`);
    try {
      await hooks.pre(c.meta, c.dir);
      current = await obtainAndStore(storedSettings(c.meta), c.meta, deps);
      result = { ...base, status: 'renewed', reason, notAfter: current.meta.notAfter, daysLeft: renewalDue(current.meta, now).daysLeft, renewAt: renewalDue(current.meta, now).renewAt, pending: [] };
    } catch (err) {
      if (isOpsError(err) && err.code === 'interrupted') throw err;
      result = { ...base, status: 'failed', reason, error: describeError(err), pending: [] };
    }
  }
  // Whatever happened above, the stored certificate goes wherever it has not arrived.
  try {
    result.pushes = await deliverPending(current, deps);
  } catch (err) {
    // The files themselves could not be read: nothing was delivered, and cron must see it.
    if (isOpsError(err) && err.code === 'interrupted') throw err;
    return { ...result, status: 'failed', error: describeError(err), pending: pendingOf(current) };
  }
  result.pending = pendingOf(current);
  return result;
}

/** One renewal run at a time per store (cron and a human may overlap). */
async function lock(root: string, now: () => Date): Promise<() => Promise<void>> {
  try {
    await makeDirs(root, 0o700);
  } catch (err) {
    throw new OpsError(`Cannot write to the certificate store ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, {
      hint: 'run as a user who can write there, or pick another place with --cert-dir',
      code: 'cert-store-unwritable',
    });
  }
  const file = path.join(root, '.renew.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await fsp.open(file, 'wx', 0o600);
      await h.writeFile(`${process.pid} ${now().toISOString()}\n`);
      await h.close();
      return () => fsp.rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [pid] = (await fsp.readFile(file, 'utf8').catch(() => '')).split(' ');
      if (pid && !alive(Number(pid))) {
        await fsp.rm(file, { force: true });
        continue;
      }
      throw new OpsError(`Another \`opsctl cert renew\` (pid ${pid}) is running on ${root}.`, { hint: `wait for it to finish; remove ${file} if that process is gone`, code: 'renew-locked' });
    }
  }
  throw new OpsError(`Cannot take the renewal lock ${file}.`, { code: 'renew-locked' });
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const command = defineCommand<RenewOptions, RenewResult>({
  options: (_args, flags, ctx) => ({ ...resolveRenewOptions(flags), dryRun: Boolean(ctx.global.dryRun) }),
  run: (options, ctx) => withTermination(ctx.signal, (signal) => run(options, certDeps(options, ctx, signal))),
  // Quiet unless something happened or is pending: made for cron and systemd timers.
  print(result, out) {
    for (const c of result.certificates) {
      const name = escapeLine(c.name);
      if (c.status === 'not-due') out.log(`${name}: not due (${c.reason})`);
      else if (c.status === 'would-renew') {
        out.line(`[dry run] would renew ${name} (${c.reason})${c.pending.length ? ` and deliver to ${c.pending.map((p) => escapeLine(p.target)).join(', ')}` : ''}`);
        if (c.test) out.line(`[dry run]   test certificate issued by ${escapeLine(c.test.directory)} (serial ${c.test.serial}); ${escapeLine(c.test.note)}; nothing stored`);
      }
      else if (c.status === 'failed') out.error(`renewing ${name} failed, the current certificate is untouched: ${escapeLine(c.error!.message)}`, c.error!.hint);
      else out.line(`renewed ${name}, valid until ${c.notAfter.slice(0, 10)}`);
      for (const p of c.pushes) {
        if (p.ok) out.line(`  delivered ${name} to ${escapeLine(p.target)}`);
        else out.error(`delivering ${name} to ${escapeLine(p.target)} failed: ${escapeLine(p.error ?? '')}`, p.hint);
      }
      if (!result.dryRun && c.pending.length) out.warn(`${name}: still pending for ${c.pending.map((p) => escapeLine(p.target)).join(', ')}; the next \`opsctl cert renew\` tries again (\`opsctl cert targets remove\` to give one up)`);
    }
    for (const e of result.hookErrors) out.error(escapeLine(e.message), e.hint);
    if (result.dryRun) out.line('[dry run] nothing was stored, pushed or deployed');
    if (result.certificates.length === 0) out.log('no certificates stored');
  },
  exitCode: (r) => (r.failed || r.pending || r.hookErrors.length ? 1 : 0),
});
