import { defineCommand, flag } from '../../lib/command.js';
import { table } from '../../lib/output.js';
import { CertStore, describeTarget, renewalDue } from './store.js';
import { certRoot } from './common.js';

export interface ListedCert {
  name: string;
  domains: string[];
  notAfter: string;
  daysLeft: number;
  dueForRenewal: boolean;
  issuer?: string;
  challenge: string;
  pushTargets: string[];
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
        issuer: meta.issuer,
        challenge: meta.challenge.type,
        pushTargets: meta.pushTargets.map(describeTarget),
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
      c.domains.join(', '),
      c.notAfter.slice(0, 10),
      c.daysLeft < 0 ? 'EXPIRED' : c.dueForRenewal ? `${c.daysLeft} (due)` : String(c.daysLeft),
      c.issuer ?? '',
      c.pushTargets.join(', ') || '-',
    ]);
    out.line(table(['DOMAINS', 'EXPIRES', 'DAYS LEFT', 'ISSUER', 'PUSH TARGETS'], rows));
  },
});
