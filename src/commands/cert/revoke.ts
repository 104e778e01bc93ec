import { defineCommand, flag } from '../../lib/command.js';
import { usageError } from '../../lib/errors.js';
import { dryRunResult, printDryRun, type DryRunResult } from '../../lib/plan.js';
import { escapeLine } from '../../lib/terminal.js';
import { REVOCATION_REASONS, revokeCertificate } from './acme.js';
import { certDeps, withTermination } from './common.js';
import type { CertDeps } from './obtain.js';
import { pickCert } from './push.js';
import { certName } from './store.js';

export interface RevokeOptions {
  name?: string;
  reason: keyof typeof REVOCATION_REASONS;
  dryRun: boolean;
  certDir?: string;
}

export interface RevokeResult {
  name: string;
  serial?: string;
  reason: string;
  revoked: boolean;
  dryRun: boolean;
  steps?: DryRunResult['steps'];
}

/**
 * Revoke the current certificate at its CA. It stays in the store, marked
 * revoked, so the next `cert renew` replaces it (and re-delivers) at once.
 */
export async function run(o: RevokeOptions, deps: CertDeps): Promise<RevokeResult> {
  const cert = await pickCert(deps.store, o.name);
  const base = { name: cert.meta.name, serial: cert.meta.serial, reason: o.reason, dryRun: o.dryRun };
  if (o.dryRun) {
    const step = { action: 'revoke', target: `${cert.meta.name} at ${new URL(cert.meta.directory).host}`, detail: `serial ${cert.meta.serial ?? '?'}, reason ${o.reason}; the next \`opsctl cert renew\` replaces it` };
    return { ...base, ...dryRunResult([step]), revoked: false };
  }
  const files = await deps.store.readFiles(cert);
  await revokeCertificate({ directoryUrl: cert.meta.directory, email: cert.meta.email, store: deps.store, caBundle: cert.meta.caBundle, certPem: files.cert, reason: REVOCATION_REASONS[o.reason], debug: deps.debug, signal: deps.signal, ...deps.transport });
  await deps.store.writeMeta(cert.dir, { ...cert.meta, revokedAt: deps.now().toISOString() });
  return { ...base, revoked: true };
}

export const command = defineCommand<RevokeOptions, RevokeResult>({
  options(_args, flags, ctx) {
    const raw = (flag.string(flags, 'reason') ?? 'unspecified').toLowerCase().replace(/[-_ ]/g, '');
    if (!(raw in REVOCATION_REASONS)) throw usageError(`Unknown revocation reason "${flag.string(flags, 'reason')}".`, `use one of: ${Object.keys(REVOCATION_REASONS).join(', ')}`);
    const domain = flag.string(flags, 'domain');
    return { name: domain ? certName(domain) : undefined, reason: raw as RevokeOptions['reason'], dryRun: Boolean(ctx.global.dryRun), certDir: flag.string(flags, 'certDir') };
  },
  run: (o, ctx) => withTermination(ctx.signal, (signal) => run(o, certDeps(o, ctx, signal))),
  print(r, out) {
    if (r.dryRun) return printDryRun({ dryRun: true, steps: r.steps ?? [] }, out);
    out.success(`Revoked ${escapeLine(r.name)} (serial ${r.serial ?? '?'}); \`opsctl cert renew\` replaces it on its next run`);
  },
});
