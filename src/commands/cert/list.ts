import { defineCommand, flag } from '../../lib/command.js';
import { table } from '../../lib/output.js';
import { escapeLine } from '../../lib/terminal.js';
import { CertStore, deliveryLabels, pendingDeliveries, renewalDue } from './store.js';
import { certRoot } from './common.js';

export interface ListedCert {
  name: string;
  domains: string[];
  notAfter: string;
  daysLeft: number;
  dueForRenewal: boolean;
  /** When `cert renew` renews it, and by which rule. */
  renewAt: string;
  renewReason: string;
  issuer?: string;
  challenge: string;
  pushTargets: string[];
  /** Places without the current certificate, with the last error. */
  pending: Array<{ target: string; error?: string; at?: string }>;
  dir: string;
}

export interface ListResult {
  root: string;
  certificates: ListedCert[];
}

export async function run(deps: { store: CertStore; now: () => Date; warn?: (m: string) => void }): Promise<ListResult> {
  const now = deps.now();
  const certs = await deps.store.list((name, err) => deps.warn?.(`skipping ${name}: ${(err as Error).message}`));
  return {
    root: deps.store.root,
    certificates: certs.map(({ dir, meta }) => {
      const due = renewalDue(meta, now);
      return {
        name: meta.name,
        domains: meta.domains,
        notAfter: meta.notAfter,
        daysLeft: due.daysLeft,
        dueForRenewal: due.due,
        renewAt: due.renewAt,
        renewReason: due.reason,
        issuer: meta.issuer,
        challenge: meta.challenge.type,
        pushTargets: deliveryLabels(meta),
        pending: pendingDeliveries(meta).map((p) => ({ target: p.label, ...(p.last?.error ? { error: p.last.error } : {}), ...(p.last?.at ? { at: p.last.at } : {}) })),
        dir,
      };
    }),
  };
}

export interface ListOptions {
  certDir?: string;
}

export const command = defineCommand<ListOptions, ListResult>({
  options: (_args, flags) => ({ certDir: flag.string(flags, 'certDir') }),
  run: (options, ctx) => run({ store: new CertStore(certRoot(options, ctx)), now: () => new Date(), warn: (m) => ctx.out.warn(m) }),
  print(result, out) {
    if (result.certificates.length === 0) {
      out.info(`No certificates in ${result.root}. Issue one with \`opsctl cert issue -d DOMAIN --email EMAIL --webroot DIR\`.`);
      return;
    }
    const rows = result.certificates.map((c) => [
      escapeLine(c.domains.join(', ')),
      c.notAfter.slice(0, 10),
      c.daysLeft < 0 ? 'EXPIRED' : c.dueForRenewal ? `${c.daysLeft} (due)` : String(c.daysLeft),
      c.dueForRenewal ? 'now' : c.renewAt.slice(0, 16).replace('T', ' '),
      escapeLine(c.issuer ?? ''),
      c.pushTargets.map((t) => (c.pending.some((p) => p.target === t) ? `${escapeLine(t)} (PENDING)` : escapeLine(t))).join(', ') || '-',
    ]);
    out.line(table(['DOMAINS', 'EXPIRES', 'DAYS LEFT', 'RENEWS', 'ISSUER', 'PUSH TARGETS'], rows));
    for (const c of result.certificates) {
      out.line(`${escapeLine(c.name)}: ${escapeLine(c.renewReason)}`);
      for (const p of c.pending) out.line(`  pending ${escapeLine(p.target)}: ${p.error ? `last attempt failed${p.at ? ` (${p.at.slice(0, 16).replace('T', ' ')})` : ''}: ${escapeLine(p.error)}` : 'not yet delivered'}`);
    }
  },
});
