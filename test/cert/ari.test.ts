import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run as issue, resolveIssueOptions } from '../../src/commands/cert/issue.js';
import { run as renew, resolveRenewOptions } from '../../src/commands/cert/renew.js';
import { run as list } from '../../src/commands/cert/list.js';
import { ariCertId, retryAfterMs, withWindow } from '../../src/commands/cert/ari.js';
import { startPebble, type TestPebble } from '../support/cert-pebble.js';
import { startAriProxy, type AriProxy } from '../support/cert-ari-proxy.js';
import { testCertDeps } from '../support/cert-deps.js';
import { missingTools } from '../support/tools.js';

const skip = missingTools('/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', 'openssl');
const setting = (_s: string, _k: string, flag: any, fallback?: any) => flag ?? fallback;
const HOUR = 3_600_000;

/** The CertID as RFC 9773 §4.1 builds it, from openssl's reading of the certificate. */
async function opensslCertId(pem: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'certid-'));
  await writeFile(path.join(dir, 'c.pem'), pem);
  const out = spawnSync('openssl', ['x509', '-in', path.join(dir, 'c.pem'), '-noout', '-serial', '-ext', 'authorityKeyIdentifier'], { encoding: 'utf8' }).stdout;
  const serialHex = /serial=([0-9A-F]+)/i.exec(out)![1]!;
  const akiHex = /X509v3 Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/i.exec(out)![1]!.replace(/:/g, '');
  let serial = Buffer.from(serialHex.length % 2 ? '0' + serialHex : serialHex, 'hex');
  if (serial[0]! & 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
  return `${Buffer.from(akiHex, 'hex').toString('base64url')}.${serial.toString('base64url')}`;
}

describe.skipIf(skip)('ARI (RFC 9773) and profiles, through a stand-in in front of Pebble', () => {
  let pebble: TestPebble;
  let proxy: AriProxy;
  beforeAll(async () => {
    pebble = await startPebble();
    proxy = await startAriProxy(pebble);
  });
  afterAll(async () => {
    await proxy?.stop();
    await pebble?.stop();
  });

  const settings = (extra: Record<string, unknown>, profile?: string) =>
    resolveIssueOptions({ email: 'ops@opsctl.test', directory: proxy.directoryUrl, caBundle: pebble.caBundle, standalone: true, httpPort: pebble.httpPort, ...extra }, { setting } as any, profile);

  it('--profile is validated against meta.profiles (listed when wrong), sent in the order and remembered for renewals', async () => {
    const deps = await testCertDeps({ httpPort: pebble.httpPort });
    await expect(issue(settings({ domain: ['prof.test'] }, 'tlsserver'), deps)).rejects.toMatchObject({
      exitCode: 2,
      code: 'acme-bad-profile',
      message: expect.stringContaining('has no profile "tlsserver"'),
      hint: expect.stringContaining('classic (The same profile you know and love), shortlived'),
    });
    const before = proxy.orders.length;
    const r = await issue(settings({ domain: ['prof.test'] }, 'shortlived'), deps);
    expect(proxy.orders.slice(before)).toEqual([{ identifiers: [{ type: 'dns', value: 'prof.test' }], profile: 'shortlived' }]);
    expect(JSON.parse(await readFile(path.join(r.dir, 'opsctl.json'), 'utf8')).profile).toBe('shortlived');
    await renew({ ...resolveRenewOptions({}), force: true }, deps);
    expect(proxy.orders.at(-1)).toMatchObject({ profile: 'shortlived' });
  });

  it('renews at a random point inside the suggested window, honours Retry-After, and sends `replaces` with the CertID', async () => {
    let clock = new Date();
    const deps = await testCertDeps({ httpPort: pebble.httpPort, now: () => clock });
    const r = await issue(settings({ domain: ['ari.test'] }), deps);
    const pem = await readFile(path.join(r.dir, 'cert.pem'), 'utf8');
    const certId = ariCertId(pem);
    expect(certId).toBe(await opensslCertId(pem));
    // the CA suggests a window a day from now
    const start = new Date(clock.getTime() + 24 * HOUR);
    const end = new Date(clock.getTime() + 30 * HOUR);
    proxy.window = (id) => (id === certId ? { start: start.toISOString(), end: end.toISOString() } : undefined);
    proxy.retryAfter = '3600';
    const first = await renew(resolveRenewOptions({}), deps);
    expect(first.certificates[0]).toMatchObject({ status: 'not-due', reason: expect.stringContaining("picked in the CA's renewal window (ARI") });
    const renewAt = Date.parse(first.certificates[0]!.renewAt!);
    expect(renewAt).toBeGreaterThanOrEqual(start.getTime());
    expect(renewAt).toBeLessThanOrEqual(end.getTime());
    expect(proxy.renewalInfoAsked.filter((i) => i === certId)).toHaveLength(1);
    // within Retry-After: not asked again; the picked time holds
    clock = new Date(clock.getTime() + 30 * 60_000);
    const second = await renew(resolveRenewOptions({}), deps);
    expect(proxy.renewalInfoAsked.filter((i) => i === certId)).toHaveLength(1);
    expect(second.certificates[0]!.renewAt).toBe(first.certificates[0]!.renewAt);
    expect((await list(deps)).certificates[0]).toMatchObject({ renewAt: first.certificates[0]!.renewAt, renewReason: expect.stringContaining('ARI') });
    // a mass revocation: the CA moves the window into the past → renewed at once, replacing the old certificate
    proxy.window = (id) => (id === certId ? { start: new Date(clock.getTime() - 2 * HOUR).toISOString(), end: new Date(clock.getTime() - HOUR).toISOString() } : undefined);
    clock = new Date(clock.getTime() + 2 * HOUR);
    const ordersBefore = proxy.orders.length;
    const third = await renew(resolveRenewOptions({}), deps);
    expect(third.certificates[0]).toMatchObject({ status: 'renewed', reason: expect.stringContaining("inside the CA's renewal window") });
    expect(proxy.orders.slice(ordersBefore)).toEqual([{ identifiers: [{ type: 'dns', value: 'ari.test' }], replaces: certId }]);
    // the new certificate has no window yet: the lifetime rule until the CA gives one
    proxy.window = () => undefined;
    clock = new Date(clock.getTime() + 2 * HOUR);
    const fourth = await renew(resolveRenewOptions({}), deps);
    expect(fourth.certificates[0]).toMatchObject({ status: 'not-due', reason: expect.stringContaining('the last third of its lifetime') });
  });

  it('the watchdog: one 503 that passes does not trip it; a CA answering 503 for good fails fast in one line', async () => {
    const deps = await testCertDeps({ httpPort: pebble.httpPort, transport: { retryAttempts: 1, retryDelaySeconds: 0, unreachableMs: 300 } });
    proxy.failPosts = 1;
    const ok = await issue(settings({ domain: ['blip.test'] }), deps);
    expect(ok.skipped).toBe(false);
    proxy.failPosts = Infinity;
    try {
      const t0 = Date.now();
      await expect(issue(settings({ domain: ['down.test'] }), { ...deps, transport: { retryAttempts: 1, retryDelaySeconds: 0, unreachableMs: 1500 } })).rejects.toMatchObject({ code: expect.stringMatching(/^acme-(unreachable|serverinternal)$/), message: expect.not.stringContaining('\n') });
      expect(Date.now() - t0).toBeLessThan(8000);
    } finally {
      proxy.failPosts = 0;
    }
  });

  it('Retry-After in seconds or as a date; a picked time stays while the window is unchanged', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 01:00:00 GMT', now)).toBe(HOUR);
    expect(retryAfterMs(undefined, now)).toBe(6 * HOUR);
    const info = { start: '2026-01-02T00:00:00.000Z', end: '2026-01-03T00:00:00.000Z', nextFetch: '2026-01-01T06:00:00.000Z' };
    const picked = withWindow(undefined, info, (lo, hi) => lo + (hi - lo) / 4);
    expect(picked.renewAt).toBe('2026-01-02T06:00:00.000Z');
    expect(withWindow(picked, { ...info, nextFetch: '2026-01-01T12:00:00.000Z' }, () => 0)).toMatchObject({ renewAt: picked.renewAt, nextFetch: '2026-01-01T12:00:00.000Z' });
    expect(withWindow(picked, { ...info, start: '2026-01-01T00:00:00.000Z' }, (lo) => lo).renewAt).toBe('2026-01-01T00:00:00.000Z');
  });
});
