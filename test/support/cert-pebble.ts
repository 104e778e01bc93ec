import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';

/**
 * A real Pebble (Let's Encrypt's test CA) with pebble-challtestsrv as its DNS
 * server: every name resolves to 127.0.0.1, so HTTP-01 validation connects to
 * 127.0.0.1:httpPort and DNS-01 reads the TXT records set through `setTxt`.
 * Pebble ships no TLS certificate for its API, so a throwaway CA is made with
 * openssl; `caBundle` is the file to trust.
 */
export interface TestPebble {
  directoryUrl: string;
  /** PEM file of the throwaway CA that signed Pebble's API certificate. */
  caBundle: string;
  /** Where Pebble connects for HTTP-01 validation (on 127.0.0.1). */
  httpPort: number;
  /** Pebble's issuing root (PEM), from its management API. */
  root(): Promise<string>;
  /** Root i of the alternate chains (PEBBLE_ALTERNATE_ROOTS). */
  rootN(i: number): Promise<string>;
  /** The CA's view of a certificate: "Valid" or "Revoked" (management API cert-status-by-serial). */
  certStatus(serialHex: string): Promise<string>;
  setTxt(host: string, value: string): Promise<void>;
  clearTxt(host: string): Promise<void>;
  /** Names whose DNS lookup fails (SERVFAIL) in Pebble's eyes. */
  setServfail(host: string): Promise<void>;
  setCaa(host: string, issuer: string): Promise<void>;
  dir: string;
  /** challtestsrv's management API (POST /set-txt, /clear-txt). */
  challengeManagementUrl: string;
  /** challtestsrv's DNS server (host:port), where set-txt records are served. */
  dnsServer: string;
  /** Kill Pebble itself (a CA dying mid-issuance); stop() still cleans up. */
  killCa(): void;
  logs(): string;
  stop(): Promise<void>;
}

type PebbleOptions = { nosleep?: boolean; nonceReject?: number; eab?: Record<string, string>; dnsServer?: string; alternateRoots?: number };

/** Ports are picked free and then bound by Pebble: another suite starting at the same moment can take one first, so a failed start is retried on new ports. */
export async function startPebble(opts: PebbleOptions = {}): Promise<TestPebble> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startPebbleOnce(opts);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

async function startPebbleOnce(opts: PebbleOptions): Promise<TestPebble> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'opsctl-pebble-'));
  const ca = path.join(dir, 'ca.pem');
  const caKey = path.join(dir, 'ca.key');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=opsctl test pebble API CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const csr = path.join(dir, 'api.csr');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost']);
  const ext = path.join(dir, 'ext.cnf');
  await writeFile(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext]);

  const [apiPort, mgmtPort, httpPort, tlsPort, dnsPort, chalMgmtPort] = await distinctPorts(6);
  const config = path.join(dir, 'pebble.json');
  await writeFile(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${apiPort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: cert,
        privateKey: key,
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: Boolean(opts.eab),
        ...(opts.eab ? { externalAccountMACKeys: opts.eab } : {}),
      },
    }),
  );
  let logs = '';
  const chal: ChildProcess = spawn(
    '/usr/bin/pebble-challtestsrv',
    ['-defaultIPv4', '127.0.0.1', '-defaultIPv6', '', '-dns01', `127.0.0.1:${dnsPort}`, '-management', `127.0.0.1:${chalMgmtPort}`, '-http01', '', '-https01', '', '-tlsalpn01', ''],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  chal.stdout?.on('data', (d) => (logs += d));
  chal.stderr?.on('data', (d) => (logs += d));
  const pebble: ChildProcess = spawn('/usr/bin/pebble', ['-config', config, '-dnsserver', opts.dnsServer ?? `127.0.0.1:${dnsPort}`, '-strict=false'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PEBBLE_VA_NOSLEEP: opts.nosleep === false ? '0' : '1', PEBBLE_WFE_NONCEREJECT: String(opts.nonceReject ?? 0), PEBBLE_ALTERNATE_ROOTS: String(opts.alternateRoots ?? 0), PEBBLE_AUTHZREUSE: '0', PEBBLE_VA_ALWAYS_VALID: '0' },
  });
  pebble.stdout?.on('data', (d) => (logs += d));
  pebble.stderr?.on('data', (d) => (logs += d));
  const stop = async () => {
    for (const c of [pebble, chal]) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGTERM');
        await new Promise((r) => c.once('exit', r));
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(apiPort, 15_000, () => logs, 'pebble');
    await waitForPort(mgmtPort, 15_000, () => logs, 'pebble');
    await waitForPort(chalMgmtPort, 15_000, () => logs, 'pebble');
  } catch (err) {
    await stop();
    throw err;
  }
  const caPem = await readFile(ca);
  const chalPost = async (p: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${chalMgmtPort}${p}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`challtestsrv ${p}: HTTP ${res.status}`);
  };
  const fqdn = (h: string) => (h.endsWith('.') ? h : h + '.');
  return {
    directoryUrl: `https://127.0.0.1:${apiPort}/dir`,
    caBundle: ca,
    httpPort,
    dir,
    root: () => httpsGet(`https://127.0.0.1:${mgmtPort}/roots/0`, caPem),
    rootN: (i) => httpsGet(`https://127.0.0.1:${mgmtPort}/roots/${i}`, caPem),
    certStatus: async (serial) => JSON.parse(await httpsGet(`https://127.0.0.1:${mgmtPort}/cert-status-by-serial/${serial.toLowerCase()}`, caPem)).Status,
    setTxt: (host, value) => chalPost('/set-txt', { host: fqdn(host), value }),
    clearTxt: (host) => chalPost('/clear-txt', { host: fqdn(host) }),
    setServfail: (host) => chalPost('/set-servfail', { host: fqdn(host) }),
    setCaa: (host, issuer) => chalPost('/add-caa', { host: fqdn(host), policies: [{ tag: 'issue', value: issuer }] }),
    challengeManagementUrl: `http://127.0.0.1:${chalMgmtPort}`,
    dnsServer: `127.0.0.1:${dnsPort}`,
    killCa: () => void pebble.kill('SIGKILL'),
    logs: () => logs,
    stop,
  };
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function httpsGet(url: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}
