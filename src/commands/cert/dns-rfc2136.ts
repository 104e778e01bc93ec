import { readFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { OpsError, firstLine } from '../../lib/errors.js';
import { pollUntil } from '../../lib/poll.js';
import { processRunner, type ProcessRunner } from '../../lib/process.js';
import type { ChallengeItem, ChallengeSolver } from './acme.js';
import { dnsRecordName } from './solvers.js';

/**
 * --dns rfc2136: DNS UPDATE (RFC 2136) signed with TSIG, sent by ISC's own
 * `nsupdate` (bind9-dnsutils). It is the reference client of BIND, knows every
 * TSIG algorithm and TCP fallback, and reads its commands (and the secret) on
 * stdin, so nothing secret is in argv and no shell is involved. The settings
 * come from a certbot-dns-rfc2136 credentials file (--rfc2136-credentials) or
 * lego's RFC2136_* variables.
 */
export interface Rfc2136Settings {
  server: string;
  port: number;
  keyName?: string;
  secret?: string;
  algorithm: string;
}

/** certbot-dns-rfc2136's INI (dns_rfc2136_server, _port, _name, _secret, _algorithm), then lego's env names. */
export async function rfc2136Settings(credentials: string | undefined, env: NodeJS.ProcessEnv): Promise<Rfc2136Settings> {
  const ini: Record<string, string> = {};
  if (credentials) {
    let text: string;
    try {
      text = await readFile(credentials, 'utf8');
    } catch (err) {
      throw new OpsError(`Cannot read the RFC 2136 credentials ${credentials}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`, { exitCode: 2, code: 'rfc2136-credentials' });
    }
    for (const line of text.split('\n')) {
      const m = /^\s*(dns_rfc2136_\w+)\s*=\s*(.*?)\s*$/.exec(line);
      if (m) ini[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
    }
  }
  let server = ini.dns_rfc2136_server ?? env.RFC2136_NAMESERVER;
  let port = Number(ini.dns_rfc2136_port ?? 53);
  const hostPort = server ? /^(.+?):(\d+)$/.exec(server) : null;
  if (hostPort && !server!.includes('::')) {
    server = hostPort[1];
    port = Number(hostPort[2]);
  }
  if (!server) throw new OpsError('--dns rfc2136 needs the primary name server.', { hint: 'pass --rfc2136-credentials FILE (certbot-dns-rfc2136 format: dns_rfc2136_server, dns_rfc2136_name, dns_rfc2136_secret, dns_rfc2136_algorithm) or set RFC2136_NAMESERVER', exitCode: 2, code: 'rfc2136-settings' });
  const keyName = ini.dns_rfc2136_name ?? env.RFC2136_TSIG_KEY;
  const secret = ini.dns_rfc2136_secret ?? env.RFC2136_TSIG_SECRET;
  if (Boolean(keyName) !== Boolean(secret)) throw new OpsError('A TSIG key needs both its name and its secret.', { hint: 'set dns_rfc2136_name and dns_rfc2136_secret (or RFC2136_TSIG_KEY and RFC2136_TSIG_SECRET)', exitCode: 2, code: 'rfc2136-settings' });
  const algorithm = (ini.dns_rfc2136_algorithm ?? env.RFC2136_TSIG_ALGORITHM ?? 'hmac-sha256').toLowerCase().replace(/\.$/, '');
  return { server, port, ...(keyName ? { keyName, secret } : {}), algorithm };
}

/** The nsupdate script: one transaction per call; the TSIG secret travels on stdin. */
export function nsupdateScript(s: Rfc2136Settings, action: 'add' | 'delete', records: Array<{ name: string; value: string }>): string {
  const lines = [`server ${s.server} ${s.port}`];
  if (s.keyName) lines.push(`key ${s.algorithm}:${s.keyName} ${s.secret}`);
  for (const r of records) lines.push(action === 'add' ? `update add ${r.name}. 60 IN TXT "${r.value}"` : `update delete ${r.name}. IN TXT "${r.value}"`);
  lines.push('send', '');
  return lines.join('\n');
}

export function rfc2136Solver(settings: Rfc2136Settings, deps: { runner?: ProcessRunner; log: (m: string) => void; signal?: AbortSignal; wait?: { timeoutMs: number; intervalMs: number } }): ChallengeSolver {
  const runner = deps.runner ?? processRunner;
  const records = (items: ChallengeItem[]) => items.map((i) => ({ name: dnsRecordName(i), value: i.dnsValue }));
  const send = async (action: 'add' | 'delete', items: ChallengeItem[]) => {
    const r = await runner.run({ file: 'nsupdate', args: ['-v'], input: nsupdateScript(settings, action, records(items)), timeoutMs: 60_000 });
    if (r.exitCode !== 0) {
      const why = firstLine(r.stderr.trim() || r.stdout.trim() || `exit ${r.exitCode}`);
      throw new OpsError(`DNS UPDATE to ${settings.server}:${settings.port} failed: ${why}`, {
        hint: /REFUSED|NOTAUTH|tsig|BADKEY|BADSIG/i.test(why) ? 'check the TSIG key name, secret and algorithm, and that the zone allows updates with that key (allow-update / update-policy)' : 'check the server address and that it is the primary for the zone',
        code: 'rfc2136-failed',
      });
    }
  };
  return {
    name: 'dns',
    challengeType: 'dns-01',
    batchSize: Infinity,
    async prepare() {
      if (!runner.which('nsupdate')) throw new OpsError('--dns rfc2136 needs nsupdate, which is not installed.', { hint: 'apt-get install bind9-dnsutils (or dnsutils)', code: 'nsupdate-missing' });
    },
    async present(items) {
      await send('add', items);
      deps.log(`added ${items.length} TXT record(s) on ${settings.server}; waiting until it serves them`);
      await waitForTxt(records(items), [`${settings.server}:${settings.port}`], deps.wait ?? { timeoutMs: 120_000, intervalMs: 1000 }, deps.signal);
    },
    async cleanup(items) {
      await send('delete', items);
    },
  };
}

/**
 * Before asking the CA: every name's TXT values must be served by the zone's
 * authoritative server(s) (asked directly, so no cache in between can lie).
 */
export async function waitForTxt(records: Array<{ name: string; value: string }>, servers: string[], wait: { timeoutMs: number; intervalMs: number }, signal?: AbortSignal): Promise<void> {
  await pollUntil(
    async () => {
      for (const server of servers) {
        const resolver = new Resolver({ timeout: 2000, tries: 1 });
        resolver.setServers([server]);
        for (const r of records) {
          const got = await resolver.resolveTxt(r.name).then((rows) => rows.map((chunks) => chunks.join('')), () => [] as string[]);
          if (!got.includes(r.value)) return { done: false, detail: `${server} serves ${got.length ? got.join(', ') : 'no TXT'} for ${r.name}` };
        }
      }
      return { done: true, value: undefined };
    },
    { timeoutMs: wait.timeoutMs, intervalMs: wait.intervalMs, signal, what: 'the TXT records on the authoritative servers', code: 'dns-propagation-timeout', hint: 'the update was accepted but is not served: check the zone is the one for these names' },
  );
}
