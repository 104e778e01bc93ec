import { OpsError, firstLine } from '../../lib/errors.js';
import { processRunner } from '../../lib/process.js';
import type { ChallengeItem, ChallengeSolver } from './acme.js';
import type { CertDeps } from './obtain.js';
import { dnsRecordName } from './solvers.js';

/**
 * --dns exec:PATH, lego's exec protocol: `PATH present FQDN VALUE` before the
 * CA is asked and `PATH cleanup FQDN VALUE` afterwards (FQDN with its trailing
 * dot), run as argv (no shell). The program returns once the record is served.
 */
export function execDnsSolver(program: string, deps: Pick<CertDeps, 'env' | 'log' | 'runner'>): ChallengeSolver {
  const runner = deps.runner ?? processRunner;
  const call = async (action: 'present' | 'cleanup', item: ChallengeItem) => {
    const fqdn = dnsRecordName(item) + '.';
    const r = await runner.run({ file: program, args: [action, fqdn, item.dnsValue], env: deps.env, timeoutMs: 300_000 });
    if (r.exitCode !== 0) {
      throw new OpsError(`The DNS program ${program} failed to ${action} the TXT record ${fqdn} (exit ${r.exitCode}): ${firstLine(r.stderr.trim() || r.stdout.trim() || 'no output')}`, {
        hint: `it is called as \`${program} present|cleanup FQDN VALUE\` (lego's exec protocol)`,
        code: 'dns-exec-failed',
      });
    }
  };
  return {
    name: 'dns',
    challengeType: 'dns-01',
    batchSize: Infinity,
    async prepare() {
      if (!runner.which(program)) throw new OpsError(`The DNS program ${program} is not an executable file.`, { hint: 'pass --dns exec:/path/to/script (chmod +x it)', exitCode: 2, code: 'dns-exec-missing' });
    },
    async present(items) {
      for (const item of items) await call('present', item);
      deps.log(`${program} presented ${items.length} TXT record(s)`);
    },
    async cleanup(items) {
      const errors: unknown[] = [];
      for (const item of items) await call('cleanup', item).catch((e) => errors.push(e));
      if (errors.length) throw errors[0];
    },
  };
}
