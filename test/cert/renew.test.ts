import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { run as issue, resolveIssueOptions } from '../../src/commands/cert/issue.js';
import { run as renew, resolveRenewOptions, command as renewCommand } from '../../src/commands/cert/renew.js';
import { run as push, resolvePushOptions } from '../../src/commands/cert/push.js';
import { run as list } from '../../src/commands/cert/list.js';
import { createHerokuApi } from '../../src/commands/cert/heroku.js';
import { processRunner } from '../../src/lib/process.js';
import { startPebble, type TestPebble } from '../support/cert-pebble.js';
import { startHeroku, type HerokuStandIn } from '../support/cert-heroku.js';
import { testCertDeps, verifiesTo } from '../support/cert-deps.js';
import { missingTools } from '../support/tools.js';

const skip = missingTools('/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', 'openssl');
const setting = (_s: string, _k: string, flag: any, fallback?: any) => flag ?? fallback;
const DAY = 86_400_000;

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = await readFile(path.join(dir, f), 'utf8');
  return out;
}

describe.skipIf(skip)('cert renew against Pebble', () => {
  let pebble: TestPebble;
  let heroku: HerokuStandIn;
  beforeAll(async () => {
    pebble = await startPebble();
    heroku = await startHeroku();
  });
  afterAll(async () => {
    await heroku?.stop();
    await pebble?.stop();
  });

  async function issued(domain: string) {
    let clock = new Date();
    const deps = { ...(await testCertDeps({ httpPort: pebble.httpPort, herokuApi: async () => createHerokuApi({ token: heroku.token, baseUrl: heroku.apiUrl }) })), runner: processRunner, now: () => clock };
    const s = resolveIssueOptions({ domain: [domain], email: 'ops@opsctl.test', directory: pebble.directoryUrl, caBundle: pebble.caBundle, standalone: true, httpPort: pebble.httpPort }, { setting } as any);
    const r = await issue(s, deps);
    await push({ target: resolvePushOptions(['heroku'], { app: heroku.appName }, { aws: {} }).target }, deps);
    const meta = JSON.parse(await readFile(path.join(r.dir, 'opsctl.json'), 'utf8'));
    return { deps, dir: r.dir, meta, setClock: (d: Date) => (clock = d) };
  }

  it('a certificate near expiry is renewed with its stored settings and re-pushed to its stored targets', async () => {
    const { deps, dir, meta, setClock } = await issued('near.test');
    const before = await snapshot(dir);
    const endpoint = heroku.sniEndpoints.find((e) => e.ssl_cert.cert_domains.includes('near.test'))!;
    expect(endpoint.certificate_chain).toBe(before['fullchain.pem']);
    setClock(new Date(Date.parse(meta.notAfter) - 10 * DAY));
    expect((await list(deps)).certificates[0]).toMatchObject({ name: 'near.test', dueForRenewal: true, daysLeft: 10, pushTargets: ['heroku:my-app'] });
    const r = await renew(resolveRenewOptions({ all: true }), deps);
    expect(r).toMatchObject({ renewed: 1, failed: 0 });
    expect(r.certificates[0]).toMatchObject({ name: 'near.test', status: 'renewed', pushes: [{ target: 'heroku:my-app', ok: true }] });
    const after = await snapshot(dir);
    expect(after['privkey.pem']).not.toBe(before['privkey.pem']);
    expect(after['cert.pem']).not.toBe(before['cert.pem']);
    expect(verifiesTo(after['fullchain.pem']!, await pebble.root())).toBe(true);
    // the same SNI endpoint now serves the new chain
    expect(heroku.sniEndpoints.filter((e) => e.ssl_cert.cert_domains.includes('near.test'))).toHaveLength(1);
    expect(endpoint.certificate_chain).toBe(after['fullchain.pem']);
    const newMeta = JSON.parse(after['opsctl.json']!);
    expect(newMeta.pushTargets).toEqual(meta.pushTargets);
    expect(newMeta.serial).not.toBe(meta.serial);
  });

  it('a certificate far from expiry is left alone (and nothing is pushed); --days and --force override', async () => {
    const { deps, dir } = await issued('far.test');
    const before = await snapshot(dir);
    const requests = heroku.requests.length;
    const r = await renew(resolveRenewOptions({ domain: ['far.test'] }), deps);
    expect(r).toMatchObject({ renewed: 0, failed: 0, certificates: [{ name: 'far.test', status: 'not-due' }] });
    expect(await snapshot(dir)).toEqual(before);
    expect(heroku.requests.length).toBe(requests);
    const dry = await renew({ ...resolveRenewOptions({ domain: ['far.test'], force: true }), dryRun: true }, deps);
    // certbot's dry run: a real test renewal (here from Pebble itself: a custom directory has no known staging twin), nothing stored or pushed
    expect(dry.certificates[0]).toMatchObject({ status: 'would-renew', pending: [{ target: 'heroku:my-app' }], test: { directory: pebble.directoryUrl, serial: expect.stringMatching(/^[0-9A-F]+$/), note: expect.stringContaining('no known staging') } });
    expect(dry.certificates[0]!.test!.serial).not.toBe(JSON.parse(before['opsctl.json']!).serial);
    expect(heroku.requests.length).toBe(requests);
    expect(await snapshot(dir)).toEqual(before);
    const byDays = await renew(resolveRenewOptions({ domain: ['far.test'], days: 100_000 }), deps);
    expect(byDays.certificates[0]).toMatchObject({ status: 'renewed' });
    expect(() => resolveRenewOptions({ all: true, domain: ['x'] })).toThrow(/either --all or -d/);
  });

  it('a renewal that fails leaves the current files byte-for-byte intact, exits non-zero and says why', async () => {
    const { deps, dir, meta, setClock } = await issued('fail.test');
    const before = await snapshot(dir);
    setClock(new Date(Date.parse(meta.notAfter) - DAY));
    // Something else now answers on the challenge port with the wrong content.
    const squatter = http.createServer((_q, s) => s.end('not the token'));
    await new Promise<void>((r) => squatter.listen(pebble.httpPort, '127.0.0.1', r));
    try {
      const r = await renew(resolveRenewOptions({ domain: ['fail.test'] }), deps);
      expect(r.failed).toBe(1);
      expect(r.certificates[0]).toMatchObject({ status: 'failed', error: { code: 'standalone-listen' } });
      expect(await snapshot(dir)).toEqual(before);
      // Now the CA itself refuses: the stored webroot is not what the server on port 80 serves.
      const webroot = await mkdtemp(path.join(os.tmpdir(), 'webroot-'));
      const m = JSON.parse(before['opsctl.json']!);
      await writeFile(path.join(dir, 'opsctl.json'), JSON.stringify({ ...m, challenge: { type: 'webroot', webroot } }));
      const changed = await snapshot(dir);
      const r2 = await renew(resolveRenewOptions({ domain: ['fail.test'] }), deps);
      expect(r2.certificates[0]).toMatchObject({ status: 'failed', error: { code: 'acme-unauthorized', message: expect.stringContaining('not the token') } });
      expect(await snapshot(dir)).toEqual(changed);
      await writeFile(path.join(dir, 'opsctl.json'), before['opsctl.json']!);
    } finally {
      await new Promise((r) => squatter.close(r));
    }
    expect(await snapshot(dir)).toEqual(before);
    expect(await readdir(deps.store.root)).not.toContain('.renew.lock');
  });

  it('a push that fails during renewal stays pending: exit non-zero, listed with its error, delivered by the next renew (not due)', async () => {
    const { deps, dir, meta, setClock } = await issued('pushfail.test');
    setClock(new Date(Date.parse(meta.notAfter) - DAY));
    heroku.failNext('PATCH', '/apps/my-app/sni-endpoints', 401, { id: 'unauthorized', message: 'Invalid credentials provided.' });
    const r = await renew(resolveRenewOptions({ domain: ['pushfail.test'] }), deps);
    expect(r).toMatchObject({ renewed: 1, failed: 0, pending: 1 });
    expect(renewCommand.exitCode!(r, {} as any)).toBe(1);
    expect(r.certificates[0]!.pushes[0]).toMatchObject({ target: 'heroku:my-app', ok: false, error: expect.stringContaining('Invalid credentials provided.') });
    const newMeta = JSON.parse(await readFile(path.join(dir, 'opsctl.json'), 'utf8'));
    expect(newMeta.serial).not.toBe(meta.serial);
    expect(newMeta.deliveries['heroku:my-app']).toMatchObject({ ok: false, serial: newMeta.serial, error: expect.stringContaining('Invalid credentials') });
    const endpoint = heroku.sniEndpoints.find((e) => e.ssl_cert.cert_domains.includes('pushfail.test'))!;
    const fullchain = await readFile(path.join(dir, 'fullchain.pem'), 'utf8');
    expect(endpoint.certificate_chain).not.toBe(fullchain);
    // cert list shows it pending with the error
    const listed = (await list(deps)).certificates.find((c) => c.name === 'pushfail.test')!;
    expect(listed.pending).toEqual([{ target: 'heroku:my-app', error: expect.stringContaining('Invalid credentials'), at: expect.any(String) }]);
    // the next run: not due, but the pending push is delivered, and then nothing is pending
    setClock(new Date());
    const again = await renew(resolveRenewOptions({}), deps);
    const mine = again.certificates.find((c) => c.name === 'pushfail.test')!;
    expect(mine).toMatchObject({ status: 'not-due', pushes: [{ target: 'heroku:my-app', ok: true }], pending: [] });
    expect(endpoint.certificate_chain).toBe(fullchain);
    const third = await renew(resolveRenewOptions({ domain: ['pushfail.test'] }), deps);
    expect(third).toMatchObject({ pending: 0, certificates: [{ status: 'not-due', pushes: [] }] });
    expect(renewCommand.exitCode!(third, {} as any)).toBe(0);
  });
});

describe('cert renew without a CA', () => {
  it('unreadable metadata counts as a failed renewal (cron sees a non-zero exit), other certificates still run', async () => {
    const { CertStore } = await import('../../src/commands/cert/store.js');
    const { seedCert } = await import('../support/cert-deps.js');
    const { mkdir } = await import('node:fs/promises');
    const store = new CertStore(await mkdtemp(path.join(os.tmpdir(), 'opsctl-certs-')));
    await seedCert(store, ['ok.test']);
    await mkdir(path.join(store.root, 'broken.test'));
    await writeFile(path.join(store.root, 'broken.test', 'opsctl.json'), '{ not json');
    const deps = { ...(await testCertDeps({ store })), runner: processRunner };
    const r = await renew(resolveRenewOptions({}), deps);
    expect(r.failed).toBe(1);
    expect(r.certificates.map((c) => [c.name, c.status])).toEqual([
      ['broken.test', 'failed'],
      ['ok.test', 'not-due'],
    ]);
    expect(r.certificates[0]!.error).toMatchObject({ code: 'cert-metadata-corrupt' });
  });
});
