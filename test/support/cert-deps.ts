import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { CertStore, certName, type CertMetadata } from '../../src/commands/cert/store.js';
import type { CertDeps } from '../../src/commands/cert/obtain.js';
import type { HerokuApi } from '../../src/commands/cert/heroku.js';
import { processRunner, type ProcessRunner } from '../../src/lib/process.js';

/** CertDeps for run()-level tests: a temp store, logs captured, challenge self-checks sent to 127.0.0.1. */
export async function testCertDeps(over: Partial<CertDeps> & { httpPort?: number } = {}): Promise<CertDeps & { runner: ProcessRunner; logs: string[]; root: string }> {
  const root = over.store?.root ?? (await mkdtemp(path.join(os.tmpdir(), 'opsctl-certs-')));
  const logs: string[] = [];
  const { httpPort, ...rest } = over;
  return {
    runner: processRunner,
    store: new CertStore(root),
    env: {},
    aws: { region: 'us-east-1' },
    now: () => new Date(),
    log: (m) => logs.push(m),
    warn: (m) => logs.push('warning: ' + m),
    transport: { retryAttempts: 1, retryDelaySeconds: 0 },
    selfCheck: { connectHost: () => '127.0.0.1', port: httpPort },
    standaloneHost: '127.0.0.1',
    herokuApi: async (): Promise<HerokuApi> => {
      throw new Error('no Heroku API in this test');
    },
    waits: { herokuTimeoutMs: 10_000, herokuIntervalMs: 100, dnsTimeoutMs: 10_000, dnsIntervalMs: 50 },
    ...rest,
    logs,
    root,
  };
}

/** Whether the leaf of fullchain verifies up to `rootPem` through the chain. */
export function verifiesTo(fullchain: string, rootPem: string): boolean {
  const certs = (fullchain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
  const root = new X509Certificate(rootPem);
  for (let i = 0; i < certs.length; i++) {
    const issuer = certs[i + 1] ?? root;
    if (!certs[i]!.checkIssued(issuer) || !certs[i]!.verify(issuer.publicKey)) return false;
  }
  const last = certs[certs.length - 1]!;
  return last.checkIssued(root) ? last.verify(root.publicKey) : last.fingerprint256 === root.fingerprint256;
}

/**
 * Put a certificate in the store without a CA (for push tests): a throwaway
 * issuer signs a leaf for `domains`, stored with metadata like `cert issue` writes.
 */
export async function seedCert(store: CertStore, domains: string[], meta: Partial<CertMetadata> = {}): Promise<{ dir: string; meta: CertMetadata }> {
  const { spawnSync } = await import('node:child_process');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'seed-'));
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
  };
  const f = (n: string) => path.join(tmp, n);
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '30', '-subj', '/CN=Seed Intermediate', '-addext', 'basicConstraints=critical,CA:TRUE']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('key.pem'), '-out', f('csr.pem'), '-subj', `/CN=${domains[0]}`]);
  const { writeFile, readFile } = await import('node:fs/promises');
  await writeFile(f('ext.cnf'), `subjectAltName=${domains.map((d) => 'DNS:' + d).join(',')}\n`);
  run(['x509', '-req', '-in', f('csr.pem'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('cert.pem'), '-days', '90', '-extfile', f('ext.cnf')]);
  const cert = await readFile(f('cert.pem'), 'utf8');
  const chain = await readFile(f('ca.pem'), 'utf8');
  const x = new X509Certificate(cert);
  const full: CertMetadata = {
    version: 2,
    name: certName(domains[0]!),
    domains,
    directory: 'https://acme.invalid/directory',
    email: 'ops@opsctl.test',
    keyType: 'ecdsa-p256',
    challenge: { type: 'webroot', webroot: '/var/www/html' },
    pushTargets: [],
    issuer: 'Seed Intermediate',
    serial: x.serialNumber,
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: new Date(x.validTo).toISOString(),
    issuedAt: new Date().toISOString(),
    ...meta,
  };
  const dir = await store.writeCert(full.name, { privkey: await readFile(f('key.pem'), 'utf8'), cert, chain, fullchain: cert + chain }, full);
  return { dir, meta: full };
}
