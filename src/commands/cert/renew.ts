import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Context } from '../../lib/context.js';
import { OpsError, isOpsError, usageError } from '../../lib/errors.js';
import { obtainAndStore, storedSettings, type CertDeps } from './obtain.js';
import { planPush, type PushDeps } from './targets.js';
import { certName, describeTarget, renewalDue, type StoredCert } from './store.js';
import { remember } from './push.js';
import { certDeps } from './common.js';

export interface RenewOptions {
  /** Certificate names; empty = every stored certificate. */
  names: string[];
  force: boolean;
  days?: number;
  dryRun?: boolean;
}

export interface RenewedCert {
  name: string;
  status: 'renewed' | 'not-due' | 'failed' | 'would-renew';
  reason: string;
  daysLeft: number;
  notAfter: string;
  error?: { message: string; hint?: string; code: string };
  pushes: Array<{ target: string; ok: boolean; error?: string; hint?: string }>;
}

export interface RenewResult {
  certificates: RenewedCert[];
  renewed: number;
  failed: number;
}

export function resolveRenewOptions(opts: Record<string, any>): RenewOptions {
  if (opts.all && opts.domain?.length) throw usageError('Pass either --all or -d DOMAIN, not both.');
  if (opts.days !== undefined && opts.force) throw usageError('--days has no effect with --force.');
  return { names: (opts.domain ?? []).map((d: string) => certName(d)), force: Boolean(opts.force), days: opts.days, dryRun: undefined };
}

export async function run(o: RenewOptions, deps: CertDeps & PushDeps): Promise<RenewResult> {
  const out: RenewedCert[] = [];
  // A certificate whose metadata cannot be read cannot be renewed: that is a failure cron must see.
  const unreadable = (name: string, err: unknown) =>
    out.push({ name, status: 'failed', reason: 'unreadable metadata', daysLeft: NaN, notAfter: '', error: describeError(err), pushes: [] });
  const certs: StoredCert[] = o.names.length ? await Promise.all(o.names.map((n) => deps.store.get(n))) : await deps.store.list(unreadable);
  const release = o.dryRun ? async () => {} : await lock(deps.store.root, deps.now);
  try {
    for (const c of certs) out.push(await renewOne(c, o, deps));
  } finally {
    await release();
  }
  return { certificates: out, renewed: out.filter((c) => c.status === 'renewed').length, failed: out.filter((c) => c.status === 'failed' || c.pushes.some((p) => !p.ok)).length };
}

async function renewOne(c: StoredCert, o: RenewOptions, deps: CertDeps & PushDeps): Promise<RenewedCert> {
  const now = deps.now();
  const due = renewalDue(c.meta, now, o.days);
  const base = { name: c.meta.name, daysLeft: due.daysLeft, notAfter: c.meta.notAfter, pushes: [] as RenewedCert['pushes'] };
  if (!due.due && !o.force) return { ...base, status: 'not-due', reason: due.reason };
  const reason = o.force && !due.due ? `forced (${due.reason})` : due.reason;
  if (o.dryRun) return { ...base, status: 'would-renew', reason, pushes: c.meta.pushTargets.map((t) => ({ target: describeTarget(t), ok: true })) };
  deps.log(`renewing ${c.meta.name}: ${reason}`);
  let renewed: StoredCert;
  try {
    renewed = await obtainAndStore(storedSettings(c.meta), c.meta, deps);
  } catch (err) {
    if (isOpsError(err) && err.code === 'interrupted') throw err;
    return { ...base, status: 'failed', reason, error: describeError(err) };
  }
  const result: RenewedCert = { ...base, status: 'renewed', reason, notAfter: renewed.meta.notAfter, daysLeft: renewalDue(renewed.meta, now).daysLeft };
  const files = await deps.store.readFiles(renewed);
  for (const target of renewed.meta.pushTargets) {
    const label = describeTarget(target);
    const at = deps.now().toISOString();
    try {
      const plan = await planPush(target, renewed.meta, files, deps);
      const done = await plan.execute();
      await remember(deps.store, renewed, done, { target: label, at, ok: true });
      result.pushes.push({ target: label, ok: true });
    } catch (err) {
      const e = describeError(err);
      await remember(deps.store, renewed, target, { target: label, at, ok: false, message: e.message }).catch(() => {});
      result.pushes.push({ target: label, ok: false, error: e.message, hint: e.hint });
    }
  }
  return result;
}

function describeError(err: unknown): { message: string; hint?: string; code: string } {
  if (isOpsError(err)) return { message: err.message, hint: err.hint, code: err.code };
  return { message: (err as Error)?.message ?? String(err), code: 'unexpected' };
}

/** One renewal run at a time per store (cron and a human may overlap). */
async function lock(root: string, now: () => Date): Promise<() => Promise<void>> {
  await fsp.mkdir(root, { recursive: true, mode: 0o700 });
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

export async function handler(_args: unknown[], opts: Record<string, any>, ctx: Context): Promise<number> {
  const o = { ...resolveRenewOptions(opts), dryRun: ctx.global.dryRun };
  const deps = certDeps(opts, ctx);
  const result = await run(o, { ...deps, runner: ctx.runner });
  if (ctx.global.json) {
    ctx.out.data(result);
    return result.failed ? 1 : 0;
  }
  // Quiet unless something happened: made for cron and systemd timers.
  for (const c of result.certificates) {
    if (c.status === 'not-due') ctx.out.log(`${c.name}: not due (${c.reason})`);
    else if (c.status === 'would-renew') ctx.out.line(`[dry run] would renew ${c.name} (${c.reason})${c.pushes.length ? ` and push to ${c.pushes.map((p) => p.target).join(', ')}` : ''}`);
    else if (c.status === 'failed') ctx.out.error(`renewing ${c.name} failed, the current certificate is untouched: ${c.error!.message}`, c.error!.hint);
    else {
      ctx.out.line(`renewed ${c.name}, valid until ${c.notAfter.slice(0, 10)}`);
      for (const p of c.pushes) {
        if (p.ok) ctx.out.line(`  pushed to ${p.target}`);
        else ctx.out.error(`pushing ${c.name} to ${p.target} failed: ${p.error}`, p.hint);
      }
    }
  }
  if (result.certificates.length === 0) ctx.out.log('no certificates stored');
  return result.failed ? 1 : 0;
}
