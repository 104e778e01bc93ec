import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

/**
 * A real BIND 9 (Debian `bind9`) serving one zone on 127.0.0.1 that accepts
 * RFC 2136 updates signed with a fresh TSIG key (tsig-keygen), for DNS-01.
 */
export interface TestBind {
  port: number;
  zone: string;
  keyName: string;
  secret: string;
  algorithm: string;
  /** A certbot-dns-rfc2136 credentials file for this server and key (0600). */
  credentialsFile: string;
  logs(): string;
  stop(): Promise<void>;
}

export async function startBind(zone = 'rfc.test'): Promise<TestBind> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'opsctl-bind-'));
  await chmod(dir, 0o755);
  const port = await freePort();
  const keyName = 'opsctl-test-key';
  const algorithm = 'hmac-sha256';
  const keygen = spawnSync('/usr/sbin/tsig-keygen', ['-a', algorithm, keyName], { encoding: 'utf8' });
  if (keygen.status !== 0) throw new Error(`tsig-keygen failed: ${keygen.stderr}`);
  const secret = /secret "([^"]+)"/.exec(keygen.stdout)![1]!;
  await writeFile(
    path.join(dir, 'zone.db'),
    `$TTL 60\n@ IN SOA ns1.${zone}. hostmaster.${zone}. 1 60 60 600 60\n@ IN NS ns1.${zone}.\nns1 IN A 127.0.0.1\n`,
  );
  await writeFile(
    path.join(dir, 'named.conf'),
    `${keygen.stdout}
options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
};
controls { };
zone "${zone}" { type primary; file "${dir}/zone.db"; journal "${dir}/zone.db.jnl"; allow-update { key "${keyName}"; }; };
`,
  );
  const credentialsFile = path.join(dir, 'rfc2136.ini');
  await writeFile(credentialsFile, `dns_rfc2136_server = 127.0.0.1\ndns_rfc2136_port = ${port}\ndns_rfc2136_name = ${keyName}\ndns_rfc2136_secret = ${secret}\ndns_rfc2136_algorithm = HMAC-SHA256\n`, { mode: 0o600 });
  let logs = '';
  const named: ChildProcess = spawn('/usr/sbin/named', ['-g', '-c', path.join(dir, 'named.conf'), ...(process.getuid?.() === 0 ? ['-u', 'root'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  named.stdout?.on('data', (d) => (logs += d));
  named.stderr?.on('data', (d) => (logs += d));
  const stop = async () => {
    if (named.exitCode === null && named.signalCode === null) {
      named.kill('SIGTERM');
      await new Promise((r) => named.once('exit', r));
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (!/running/.test(logs)) {
    if (named.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`named did not start:\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, zone, keyName, secret, algorithm, credentialsFile, logs: () => logs, stop };
}
