import path from 'node:path';
import { defineCommand, flag } from '../../lib/command.js';
import type { Context } from '../../lib/context.js';
import { usageError } from '../../lib/errors.js';
import { dryRunResult, printDryRun, type PlanStep } from '../../lib/plan.js';
import { escapeLine } from '../../lib/terminal.js';
import { describeError, recordDelivery } from './delivery.js';
import { planPush, type PushDeps, type PushStep } from './targets.js';
import { certName, describeTarget, sameTarget, type CertStore, type PushTarget, type StoredCert } from './store.js';
import { certDeps, withTermination } from './common.js';

export interface PushOptions {
  /** Certificate name (first domain); undefined = the only stored one. */
  name?: string;
  target: PushTarget;
  dryRun?: boolean;
}

export interface PushResult {
  name: string;
  target: string;
  /** The shared plan shape (src/lib/plan.ts): each push step acts on the target. */
  steps: Array<PushStep & { target: string }>;
  dryRun: boolean;
  pushed: boolean;
  remembered?: PushTarget;
}

/** Build the push target from argv; checks that need no network. */
export function resolvePushOptions(args: readonly unknown[], flags: Record<string, unknown>, ctx: Pick<Context, 'aws'>): PushOptions {
  const opts = flags as Record<string, string | undefined>;
  const kind = String(args[0] ?? '');
  const host = args[1] as string | undefined;
  const only = (allowed: string[]) => {
    for (const [flag, key] of [['--app', 'app'], ['--certificate-arn', 'certificateArn'], ['--dir', 'dir'], ['--reload', 'reload'], ['--ssh-config', 'sshConfig']] as const) {
      if (opts[key] !== undefined && !allowed.includes(key)) throw usageError(`${flag} does not apply to the ${kind} target.`);
    }
  };
  let target: PushTarget;
  switch (kind) {
    case 'ssh':
      only(['dir', 'reload', 'sshConfig']);
      if (!host) throw usageError('Which host? `opsctl cert push ssh HOST --dir PATH`.', 'HOST can be an alias from ~/.ssh/config, or user@host');
      if (host.startsWith('-')) throw usageError(`"${host}" is not an ssh host.`);
      if (!opts.dir) throw usageError('Where on the host? Pass --dir PATH (e.g. /etc/ssl/example.com).');
      target = { type: 'ssh', host, dir: String(opts.dir), ...(opts.reload ? { reload: String(opts.reload) } : {}), ...(opts.sshConfig ? { sshConfig: path.resolve(String(opts.sshConfig)) } : {}) };
      break;
    case 'heroku':
      only(['app']);
      if (host) throw usageError(`Unexpected argument "${host}" for the heroku target.`, 'name the app with --app');
      if (!opts.app) throw usageError('Which Heroku app? Pass --app APP.');
      target = { type: 'heroku', app: String(opts.app) };
      break;
    case 'acm':
      only(['certificateArn']);
      if (host) throw usageError(`Unexpected argument "${host}" for the acm target.`);
      if (opts.certificateArn && !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(opts.certificateArn)) {
        throw usageError(`"${opts.certificateArn}" is not an ACM certificate ARN.`, 'e.g. arn:aws:acm:eu-west-1:123456789012:certificate/0f1e…');
      }
      target = { type: 'acm', ...(opts.certificateArn ? { certificateArn: String(opts.certificateArn) } : {}), ...(ctx.aws.region ? { region: ctx.aws.region } : {}) };
      break;
    default:
      throw usageError(`Unknown push target "${kind}".`, 'use heroku, acm or ssh');
  }
  return { name: opts.domain ? certName(String(opts.domain)) : undefined, target };
}

export async function pickCert(store: CertStore, name: string | undefined): Promise<StoredCert> {
  if (name) return store.get(name);
  const all = await store.list();
  if (all.length === 1) return all[0]!;
  if (all.length === 0) throw usageError(`No certificates in ${store.root}.`, 'issue one first with `opsctl cert issue -d DOMAIN --email EMAIL …`', 'cert-not-found');
  throw usageError('Which certificate? Pass -d DOMAIN.', `stored: ${all.map((c) => c.meta.name).join(', ')}`);
}

/** Merge what a push learned (ARN, SNI endpoint) with what was stored for the same target. */
export function withStored(target: PushTarget, stored: PushTarget[]): PushTarget {
  const prev = stored.find((t) => sameTarget(t, target));
  if (!prev) return target;
  if (target.type === 'acm' && prev.type === 'acm') return { ...prev, ...target, certificateArn: target.certificateArn ?? prev.certificateArn, region: target.region ?? prev.region };
  if (target.type === 'heroku' && prev.type === 'heroku') return { ...target, sniEndpoint: prev.sniEndpoint };
  return target;
}

export async function run(o: PushOptions, deps: PushDeps & { store: CertStore; now: () => Date }): Promise<PushResult> {
  const cert = await pickCert(deps.store, o.name);
  const target = withStored(o.target, cert.meta.pushTargets);
  const files = await deps.store.readFiles(cert);
  const plan = await planPush(target, cert.meta, files, deps);
  const steps = plan.steps.map((s) => ({ action: s.action, target: plan.label, detail: s.detail }));
  if (o.dryRun) return { ...dryRunResult(steps satisfies PlanStep[]), name: cert.meta.name, target: plan.label, steps, pushed: false };
  const at = deps.now().toISOString();
  try {
    const done = await plan.execute();
    await recordDelivery(deps.store, cert, plan.label, { ok: true, at, serial: cert.meta.serial }, done);
    return { name: cert.meta.name, target: describeTarget(done), steps, dryRun: false, pushed: true, remembered: done };
  } catch (err) {
    // A failed push is remembered as pending, so every renewal retries it.
    const e = describeError(err);
    await recordDelivery(deps.store, cert, plan.label, { ok: false, at, serial: cert.meta.serial, error: e.message, ...(e.hint ? { hint: e.hint } : {}) }, target).catch(() => {});
    throw err;
  }
}

export const command = defineCommand<PushOptions & { certDir?: string }, PushResult>({
  options: (args, flags, ctx) => ({ ...resolvePushOptions(args, flags as Record<string, unknown>, ctx), dryRun: Boolean(ctx.global.dryRun), certDir: flag.string(flags, 'certDir') }),
  run: (options, ctx) => withTermination(ctx.signal, (signal) => run(options, certDeps(options, ctx, signal))),
  print(result, out) {
    if (result.dryRun) return printDryRun({ dryRun: true, steps: result.steps }, out);
    out.success(`Pushed ${escapeLine(result.name)} to ${escapeLine(result.target)}; renewals will push there too`);
  },
});
