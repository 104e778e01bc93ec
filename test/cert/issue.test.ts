import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, stat, readlink } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { run, resolveIssueOptions } from '../../src/commands/cert/issue.js';
import { CertStore } from '../../src/commands/cert/store.js';
import { startPebble, type TestPebble } from '../support/cert-pebble.js';
import { testCertDeps, verifiesTo } from '../support/cert-deps.js';
import { missingTools } from '../support/tools.js';

const skip = missingTools('/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', 'openssl');
const setting = (_s: string, _k: string, flag: any, fallback?: any) => flag ?? fallback;

describe.skipIf(skip)('cert issue against Pebble', () => {
  let pebble: TestPebble;
  let root: string;
  beforeAll(async () => {
    pebble = await startPebble();
    root = await pebble.root();
  });
  afterAll(async () => {
    await pebble?.stop();
  });

  const settings = (extra: Record<string, any>) =>
    resolveIssueOptions({ email: 'ops@opsctl.test', directory: pebble.directoryUrl, caBundle: pebble.caBundle, ...extra }, { setting } as any);

  it('--standalone: issues, stores certbot-style files with a 0600 key, metadata, chain verifying to Pebble root', async () => {
    const deps = await testCertDeps({ httpPort: pebble.httpPort });
    const s = settings({ domain: ['www.Standalone.test', 'standalone.test'], standalone: true, httpPort: pebble.httpPort });
    const r = await run(s, deps);
    expect(r.name).toBe('www.standalone.test');
    expect(r.replaced).toBe(false);
    const dir = path.join(deps.root, 'live', 'www.standalone.test');
    expect(r.dir).toBe(dir);
    expect((await readdir(dir)).sort()).toEqual(['cert.pem', 'chain.pem', 'fullchain.pem', 'opsctl.json', 'privkey.pem']);
    // certbot's layout: live/ links into archive/<name>/*1.pem; the metadata 0600
    expect(await readlink(path.join(dir, 'privkey.pem'))).toBe('../../archive/www.standalone.test/privkey1.pem');
    expect((await readdir(path.join(deps.root, 'archive', 'www.standalone.test'))).sort()).toEqual(['cert1.pem', 'chain1.pem', 'fullchain1.pem', 'privkey1.pem']);
    expect((await stat(path.join(dir, 'opsctl.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, 'privkey.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, 'fullchain.pem'))).mode & 0o777).toBe(0o644);
    const fullchain = await readFile(path.join(dir, 'fullchain.pem'), 'utf8');
    expect(fullchain).toBe((await readFile(path.join(dir, 'cert.pem'), 'utf8')) + (await readFile(path.join(dir, 'chain.pem'), 'utf8')));
    expect(verifiesTo(fullchain, root)).toBe(true);
    const leaf = new X509Certificate(await readFile(path.join(dir, 'cert.pem')));
    expect(leaf.subjectAltName).toContain('DNS:www.standalone.test');
    expect(leaf.subjectAltName).toContain('DNS:standalone.test');
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    const key = createPrivateKey(await readFile(path.join(dir, 'privkey.pem')));
    expect(key.asymmetricKeyType).toBe('ec');
    expect(createPublicKey(key).export({ format: 'pem', type: 'spki' })).toBe(leaf.publicKey.export({ format: 'pem', type: 'spki' }));
    const meta = JSON.parse(await readFile(path.join(dir, 'opsctl.json'), 'utf8'));
    expect(meta).toMatchObject({ name: 'www.standalone.test', domains: ['www.standalone.test', 'standalone.test'], directory: pebble.directoryUrl, email: 'ops@opsctl.test', keyType: 'ecdsa-p256', challenge: { type: 'standalone', httpPort: pebble.httpPort }, pushTargets: [] });
    expect(Date.parse(meta.notAfter)).toBe(new Date(leaf.validTo).getTime());
    // the account key: once per directory+email, 0600
    const accounts = new CertStore(deps.root).accountPaths(pebble.directoryUrl, 'ops@opsctl.test');
    expect((await stat(accounts.key)).mode & 0o777).toBe(0o600);
    const accountKey = await readFile(accounts.key, 'utf8');
    const again = await run(settings({ domain: ['www.standalone.test'], standalone: true, httpPort: pebble.httpPort, keyType: 'rsa-2048' }), deps);
    expect(again.replaced).toBe(true);
    expect(await readFile(accounts.key, 'utf8')).toBe(accountKey);
    expect(createPrivateKey(await readFile(path.join(dir, 'privkey.pem'))).asymmetricKeyType).toBe('rsa');
    // the previous version is kept, the live links moved to version 2
    expect(await readlink(path.join(dir, 'cert.pem'))).toBe('../../archive/www.standalone.test/cert2.pem');
    expect(createPrivateKey(await readFile(path.join(deps.root, 'archive', 'www.standalone.test', 'privkey1.pem'))).asymmetricKeyType).toBe('ec');
    expect(deps.logs.some((l) => l.includes('warning'))).toBe(false);
    // The same certificate again, not due: nothing is requested (the CA's duplicate limit is precious)…
    const before = await readFile(path.join(dir, 'cert.pem'), 'utf8');
    const same = await run(settings({ domain: ['www.standalone.test'], standalone: true, httpPort: pebble.httpPort + 0, keyType: 'rsa-2048', selfCheck: false }), deps);
    expect(same).toMatchObject({ skipped: true, replaced: false });
    expect(await readFile(path.join(dir, 'cert.pem'), 'utf8')).toBe(before);
    expect(JSON.parse(await readFile(path.join(dir, 'opsctl.json'), 'utf8')).skipSelfCheck).toBe(true);
    // …unless forced.
    const forced = await run({ ...settings({ domain: ['www.standalone.test'], standalone: true, httpPort: pebble.httpPort, keyType: 'rsa-2048' }), force: true }, deps);
    expect(forced).toMatchObject({ skipped: false, replaced: true });
    expect(await readFile(path.join(dir, 'cert.pem'), 'utf8')).not.toBe(before);
  });

  it('--webroot: writes the token under DIR/.well-known/acme-challenge/ served by a web server, and removes it after', async () => {
    const webroot = await mkdtemp(path.join(os.tmpdir(), 'webroot-'));
    const served: string[] = [];
    const server = http.createServer(async (req, res) => {
      served.push(req.url!);
      try {
        res.end(await readFile(path.join(webroot, decodeURIComponent(req.url!.split('?')[0]!))));
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(pebble.httpPort, '127.0.0.1', r));
    try {
      const deps = await testCertDeps({ httpPort: pebble.httpPort });
      const r = await run(settings({ domain: ['web.test'], webroot }), deps);
      expect(r.challenge).toBe('webroot');
      expect(served.some((u) => u.startsWith('/.well-known/acme-challenge/'))).toBe(true);
      expect(await readdir(webroot)).toEqual([]);
      expect(verifiesTo(await readFile(r.files.fullchain!, 'utf8'), root)).toBe(true);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('cert issue over unreadable metadata', () => {
  it('stops with a hint to --force, and --force gets past it (here to the next check, before any CA is asked)', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const deps = await testCertDeps();
    await mkdir(path.join(deps.root, 'broken.test'));
    await writeFile(path.join(deps.root, 'broken.test', 'opsctl.json'), '{ not json');
    const s = resolveIssueOptions({ domain: ['*.broken.test'], email: 'ops@opsctl.test', directory: 'https://acme.invalid/directory', standalone: true }, { setting } as any);
    await expect(run(s, deps)).rejects.toMatchObject({ code: 'cert-metadata-corrupt', hint: expect.stringContaining('opsctl cert issue -d broken.test … --force') });
    await expect(run({ ...s, force: true }, deps)).rejects.toMatchObject({ code: 'wildcard-needs-dns' });
    expect(deps.logs).toContainEqual(expect.stringMatching(/^warning: .*not valid JSON.*issuing a new certificate over it/));
  });
});
