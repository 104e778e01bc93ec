import { defineCommand, arg, flag } from '../../lib/command.js';
import { usageError } from '../../lib/errors.js';
import { dryRunResult, printDryRun, type DryRunResult } from '../../lib/plan.js';
import { escapeLine } from '../../lib/terminal.js';
import { certRoot } from './common.js';
import { pickCert } from './push.js';
import { CertStore, DEPLOY_HOOK, certName, deliveryLabels, describeTarget } from './store.js';

export interface RemoveTargetOptions {
  name?: string;
  /** A label as `cert list` shows it (heroku:APP, ssh:HOST:DIR, acm:ARN, deploy-hook). */
  target: string;
  certDir?: string;
  dryRun: boolean;
}

export interface RemoveTargetResult {
  name: string;
  removed: string;
  remaining: string[];
  dryRun: boolean;
  steps?: DryRunResult['steps'];
}

/** Give up a push target (or the deploy hook) for good: renewals stop delivering there and it is no longer pending. */
export async function run(o: RemoveTargetOptions, deps: { store: CertStore }): Promise<RemoveTargetResult> {
  const cert = await pickCert(deps.store, o.name);
  const labels = deliveryLabels(cert.meta);
  const wanted = o.target === 'acm' ? labels.find((l) => l === 'acm' || l.startsWith('acm:')) : labels.find((l) => l === o.target);
  if (!wanted) {
    throw usageError(`${cert.meta.name} has no push target "${o.target}".`, labels.length ? `its targets: ${labels.join(', ')}` : 'it has no push targets', 'target-not-found');
  }
  const meta = { ...cert.meta, pushTargets: cert.meta.pushTargets.filter((t) => describeTarget(t) !== wanted), deliveries: { ...cert.meta.deliveries } };
  delete meta.deliveries[wanted];
  if (wanted === DEPLOY_HOOK) {
    const { deploy: _gone, ...hooks } = meta.hooks ?? {};
    meta.hooks = hooks;
  }
  const result = { name: cert.meta.name, removed: wanted, remaining: deliveryLabels(meta), dryRun: o.dryRun };
  if (o.dryRun) return { ...result, ...dryRunResult([{ action: 'forget', target: wanted, detail: `renewals of ${cert.meta.name} stop delivering there` }]) };
  await deps.store.writeMeta(cert.dir, meta);
  return result;
}

export const command = defineCommand<RemoveTargetOptions, RemoveTargetResult>({
  options(args, flags, ctx) {
    const target = arg(args, 0);
    if (!target) throw usageError('Which target? `opsctl cert targets remove TARGET -d DOMAIN`.', 'the targets are listed by `opsctl cert list`');
    const domain = flag.string(flags, 'domain');
    return { target, name: domain ? certName(domain) : undefined, certDir: flag.string(flags, 'certDir'), dryRun: Boolean(ctx.global.dryRun) };
  },
  run: (options, ctx) => run(options, { store: new CertStore(certRoot(options, ctx)) }),
  print(r, out) {
    if (r.dryRun) return printDryRun({ dryRun: true, steps: r.steps ?? [] }, out);
    out.success(`Removed ${escapeLine(r.removed)} from ${escapeLine(r.name)}; renewals no longer deliver there${r.remaining.length ? ` (still: ${r.remaining.map(escapeLine).join(', ')})` : ''}`);
  },
});
