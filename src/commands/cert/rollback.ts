import { defineCommand, flag } from '../../lib/command.js';
import { OpsError, usageError } from '../../lib/errors.js';
import { dryRunResult, printDryRun, type DryRunResult } from '../../lib/plan.js';
import { escapeLine } from '../../lib/terminal.js';
import { certDeps, withTermination } from './common.js';
import { deliverPending, type DeliverDeps, type DeliveryResult } from './delivery.js';
import { pickCert } from './push.js';
import { certInfo, certName, deliveryLabels, pendingDeliveries, type CertStore } from './store.js';

export interface RollbackOptions {
  name?: string;
  /** Archive version to go back to (default: the one before the current). */
  to?: number;
  dryRun: boolean;
  certDir?: string;
}

export interface RollbackResult {
  name: string;
  from?: number;
  to: number;
  serial: string;
  notAfter: string;
  deliveries: DeliveryResult[];
  pending: string[];
  dryRun: boolean;
  steps?: DryRunResult['steps'];
}

/**
 * Point live/<name> back at an earlier archive version (the links swap one by
 * one, atomically), then deliver it wherever the newer one went: push targets
 * and the deploy hook see a different serial and are pending.
 */
export async function run(o: RollbackOptions, deps: DeliverDeps & { store: CertStore }): Promise<RollbackResult> {
  const cert = await pickCert(deps.store, o.name);
  const versions = await deps.store.versions(cert.meta.name);
  const current = versions.find((v) => v.current)?.version;
  const earlier = versions.filter((v) => current === undefined || v.version < current);
  const target = o.to !== undefined ? versions.find((v) => v.version === o.to) : earlier[earlier.length - 1];
  if (!target) {
    throw new OpsError(o.to !== undefined ? `${cert.meta.name} has no archive version ${o.to}.` : `${cert.meta.name} has no earlier version to go back to.`, {
      hint: versions.length ? `versions: ${versions.map((v) => `${v.version}${v.current ? ' (current)' : ''}`).join(', ')}` : undefined,
      exitCode: 2,
      code: 'no-such-version',
    });
  }
  if (target.current) throw usageError(`${cert.meta.name} is already at version ${target.version}.`);
  const base = { name: cert.meta.name, from: current, to: target.version, serial: target.serial ?? '', notAfter: target.notAfter ?? '', dryRun: o.dryRun };
  if (o.dryRun) {
    const steps = [
      { action: 'point', target: `${deps.store.dirFor(cert.meta.name)}/*.pem`, detail: `at version ${target.version} instead of ${current ?? '?'} (serial ${target.serial ?? '?'}, expires ${(target.notAfter ?? '').slice(0, 10)})` },
      ...deliveryLabels(cert.meta).map((label) => ({ action: 'deliver to', target: label, detail: `version ${target.version}` })),
    ];
    return { ...base, ...dryRunResult(steps), deliveries: [], pending: [] };
  }
  await deps.store.pointLive(cert.meta.name, target.version);
  const files = await deps.store.readFiles(cert);
  const info = certInfo(files.cert);
  const meta = { ...cert.meta, archiveVersion: target.version, serial: info.serial, issuer: info.issuer, notBefore: info.notBefore.toISOString(), notAfter: info.notAfter.toISOString() };
  delete meta.revokedAt;
  await deps.store.writeMeta(cert.dir, meta);
  const stored = { dir: cert.dir, meta };
  const deliveries = await deliverPending(stored, deps);
  return { ...base, deliveries, pending: pendingDeliveries(stored.meta).map((p) => p.label) };
}

export const command = defineCommand<RollbackOptions, RollbackResult>({
  options(_args, flags, ctx) {
    const domain = flag.string(flags, 'domain');
    return { name: domain ? certName(domain) : undefined, to: flag.number(flags, 'to'), dryRun: Boolean(ctx.global.dryRun), certDir: flag.string(flags, 'certDir') };
  },
  run: (o, ctx) => withTermination(ctx.signal, (signal) => run(o, certDeps(o, ctx, signal))),
  print(r, out) {
    if (r.dryRun) return printDryRun({ dryRun: true, steps: r.steps ?? [] }, out);
    out.success(`${escapeLine(r.name)} is back at version ${r.to} (serial ${r.serial}, expires ${r.notAfter.slice(0, 10)})`);
    for (const d of r.deliveries) {
      if (d.ok) out.line(`delivered to ${escapeLine(d.target)}`);
      else out.error(`delivering to ${escapeLine(d.target)} failed: ${escapeLine(d.error ?? '')}`, d.hint);
    }
  },
  exitCode: (r) => (r.pending.length ? 1 : 0),
});
