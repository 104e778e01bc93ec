import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readlink, readdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run as issue, resolveIssueOptions, command as issueCommand } from '../../src/commands/cert/issue.js';
import { run as renew, resolveRenewOptions } from '../../src/commands/cert/renew.js';
import { run as rollback } from '../../src/commands/cert/rollback.js';
import { run as removeTarget } from '../../src/commands/cert/targets-remove.js';
import { run as list } from '../../src/commands/cert/list.js';
import { CertStore, pendingDeliveries, renewalDue } from '../../src/commands/cert/store.js';
import { startPebble, type TestPebble } from '../support/cert-pebble.js';
import { seedCert, testCertDeps } from '../support/cert-deps.js';
import { missingTools } from '../support/tools.js';

const skip = missingTools('/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', 'openssl');
const setting = (_s: string, _k: string, flag: any, fallback?: any) => flag ?? fallback;
const isRoot = process.getuid?.() === 0;

/** A hook that appends its name and the certbot variables to a log file. */
async function recorder(dir: string, name: string, exitCode = 0): Promise<{ command: string; log: string }> {
  const log = path.join(dir, `${name}.log`);
  const script = path.join(dir, `${name}.sh`);
  await writeFile(script, `#!/bin/sh\nprintf '%s|%s|%s\\n' "${name}" "$RENEWED_LINEAGE" "$RENEWED_DOMAINS" >> "${log}"\nexit ${exitCode}\n`, { mode: 0o755 });
  return { command: script, log };
}

const lines = async (f: string) => (await readFile(f, 'utf8').catch(() => '')).split('\n').filter(Boolean);

describe.skipIf(skip)('certbot-compatible store, hooks and rollback against Pebble', () => {
  let pebble: TestPebble;
  beforeAll(async () => {
    pebble = await startPebble();
  });
  afterAll(async () => {
    await pebble?.stop();
  });

  const settings = (extra: Record<string, unknown>) =>
    resolveIssueOptions({ email: 'ops@opsctl.test', directory: pebble.directoryUrl, caBundle: pebble.caBundle, standalone: true, httpPort: pebble.httpPort, ...extra }, { setting } as any);

  it("a renewal keeps the key's owner, group and mode (640 root:ssl-cert stays so); the live paths never change; old versions are kept", async () => {
    const deps = await testCertDeps({ httpPort: pebble.httpPort });
    const first = await issue(settings({ domain: ['mode.test'] }), deps);
    const key = path.join(first.dir, 'privkey.pem');
    await chmod(key, 0o640);
    const group = isRoot ? 65534 : (await stat(key)).gid;
    if (isRoot) await chown(key, 0, group);
    const before = await readFile(key, 'utf8');
    const r = await renew({ ...resolveRenewOptions({ domain: ['mode.test'] }), force: true }, deps);
    expect(r.certificates[0]).toMatchObject({ status: 'renewed' });
    const st = await stat(key);
    expect(st.mode & 0o777).toBe(0o640);
    expect(st.gid).toBe(group);
    expect(await readFile(key, 'utf8')).not.toBe(before);
    expect((await lstat(key)).isSymbolicLink()).toBe(true);
    expect(await readlink(key)).toBe('../../archive/mode.test/privkey2.pem');
    expect(await readFile(path.join(deps.root, 'archive', 'mode.test', 'privkey1.pem'), 'utf8')).toBe(before);
    expect(((await stat(path.join(first.dir, 'opsctl.json'))).mode & 0o777)).toBe(0o600);
  });

  it('--reuse-key keeps the private key across renewals', async () => {
    const deps = await testCertDeps({ httpPort: pebble.httpPort });
    const first = await issue(settings({ domain: ['reuse.test'], reuseKey: true }), deps);
    const key = await readFile(path.join(first.dir, 'privkey.pem'), 'utf8');
    const cert = await readFile(path.join(first.dir, 'cert.pem'), 'utf8');
    await renew({ ...resolveRenewOptions({ domain: ['reuse.test'] }), force: true }, deps);
    expect(await readFile(path.join(first.dir, 'privkey.pem'), 'utf8')).toBe(key);
    expect(await readFile(path.join(first.dir, 'cert.pem'), 'utf8')).not.toBe(cert);
    expect(await readlink(path.join(first.dir, 'privkey.pem'))).toBe('../../archive/reuse.test/privkey2.pem');
  });

  it('deploy hook: run with RENEWED_LINEAGE/RENEWED_DOMAINS, remembered, re-run on renew; a failing one is pending until it succeeds', async () => {
    const deps = await testCertDeps({ httpPort: pebble.httpPort });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hooks-'));
    const bad = await recorder(dir, 'deploy-bad', 3);
    const r = await issue(settings({ domain: ['hook.test', 'www.hook.test'], deployHook: bad.command }), deps);
    expect(await lines(bad.log)).toEqual([`deploy-bad|${r.dir}|hook.test www.hook.test`]);
    expect(r.pending).toEqual(['deploy-hook']);
    expect(r.deliveries[0]).toMatchObject({ target: 'deploy-hook', ok: false, error: expect.stringContaining('exit 3') });
    expect(issueCommand.exitCode!(r, {} as any)).toBe(1);
    const listed = (await list(deps)).certificates[0]!;
    expect(listed.pending).toEqual([expect.objectContaining({ target: 'deploy-hook', error: expect.stringContaining('deploy-hook of hook.test failed (exit 3)') })]);
    // Fixed in place (same command line): the next renew (not due) runs it again, then it is done.
    await writeFile(bad.command, `#!/bin/sh\nprintf 'fixed|%s\\n' "$RENEWED_DOMAINS" >> "${bad.log}"\n`);
    const again = await renew(resolveRenewOptions({}), deps);
    expect(again).toMatchObject({ pending: 0, certificates: [{ status: 'not-due', pushes: [{ target: 'deploy-hook', ok: true }] }] });
    expect((await lines(bad.log)).at(-1)).toBe('fixed|hook.test www.hook.test');
    const quiet = await renew(resolveRenewOptions({}), deps);
    expect(quiet.certificates[0]!.pushes).toEqual([]);
    // A renewal runs it again for the new certificate.
    await renew({ ...resolveRenewOptions({}), force: true }, deps);
    expect(await lines(bad.log)).toHaveLength(3);
    // --deploy-hook '' forgets it; other settings stay
    await issue(settings({ domain: ['hook.test', 'www.hook.test'], deployHook: '' }), deps);
    expect((await deps.store.get('hook.test')).meta.hooks).toEqual({});
  });

  it('pre- and post-hooks run once per renew run around the certificates that are renewed, post even after a failure', async () => {
    const deps = await testCertDeps({ httpPort: pebble.httpPort });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hooks-'));
    const log = path.join(dir, 'order.log');
    const pre = `echo pre >> '${log}'`;
    const post = `echo post >> '${log}'`;
    await issue(settings({ domain: ['a.hooks.test'], preHook: pre, postHook: post }), deps);
    // certbot's order on issue: pre, the deploy hook (with the new certificate), then post
    const deploy = `echo "deploy $RENEWED_DOMAINS" >> '${log}'`;
    await issue(settings({ domain: ['b.hooks.test'], preHook: pre, postHook: post, deployHook: deploy }), deps);
    expect(await lines(log)).toEqual(['pre', 'post', 'pre', 'deploy b.hooks.test', 'post']);
    await writeFile(log, '');
    await renew({ ...resolveRenewOptions({}), force: true }, deps);
    expect(await lines(log)).toEqual(['pre', 'deploy b.hooks.test', 'post']);
    // not due: nothing is stopped or started
    await writeFile(log, '');
    await renew(resolveRenewOptions({}), deps);
    expect(await lines(log)).toEqual([]);
    // a failing pre-hook fails the renewal (the certificate is untouched) and the post-hook still runs
    const store = deps.store;
    const c = await store.get('a.hooks.test');
    await store.writeMeta(c.dir, { ...c.meta, hooks: { pre: `echo pre >> '${log}'; exit 4`, post } });
    const failed = await renew({ ...resolveRenewOptions({ domain: ['a.hooks.test'] }), force: true }, deps);
    expect(failed.certificates[0]).toMatchObject({ status: 'failed', error: { code: 'pre-hook-failed' } });
    expect(await lines(log)).toEqual(['pre', 'post']);
  });

  it('IP address identifiers (RFC 8738): issued for a name and an IP (an IP SAN), IPv6 spellings folded', async () => {
    const deps = await testCertDeps({ httpPort: pebble.httpPort });
    const r = await issue(settings({ domain: ['ip.test', '127.0.0.1'] }), deps);
    expect(r.domains).toEqual(['ip.test', '127.0.0.1']);
    const { X509Certificate } = await import('node:crypto');
    const leaf = new X509Certificate(await readFile(path.join(r.dir, 'cert.pem')));
    expect(leaf.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(() => settings({ domain: ['[::1]', '0:0:0:0:0:0:0:1'] })).not.toThrow();
    expect(settings({ domain: ['[::1]', '0:0:0:0:0:0:0:1'] }).domains).toEqual(['::1']);
  });

  it('rollback points live/ at the previous version and delivers it; --to picks one; no earlier version is a usage error', async () => {
    const deps = await testCertDeps({ httpPort: pebble.httpPort });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hooks-'));
    const hook = await recorder(dir, 'deploy');
    const first = await issue(settings({ domain: ['back.test'], deployHook: hook.command }), deps);
    await expect(rollback({ dryRun: false }, deps)).rejects.toMatchObject({ code: 'no-such-version', exitCode: 2 });
    const v1 = await readFile(path.join(first.dir, 'cert.pem'), 'utf8');
    await renew({ ...resolveRenewOptions({}), force: true }, deps);
    const v2 = await readFile(path.join(first.dir, 'cert.pem'), 'utf8');
    expect(v2).not.toBe(v1);
    const r = await rollback({ name: 'back.test', dryRun: false }, deps);
    expect(r).toMatchObject({ from: 2, to: 1, pending: [], deliveries: [{ target: 'deploy-hook', ok: true }] });
    expect(await readFile(path.join(first.dir, 'cert.pem'), 'utf8')).toBe(v1);
    const versions = await deps.store.versions('back.test');
    expect(versions.map((v) => [v.version, v.current])).toEqual([[1, true], [2, false]]);
    expect((await deps.store.get('back.test')).meta.serial).toBe(versions[0]!.serial);
    expect(await lines(hook.log)).toHaveLength(3);
    await rollback({ name: 'back.test', to: 2, dryRun: false }, deps);
    expect(await readFile(path.join(first.dir, 'cert.pem'), 'utf8')).toBe(v2);
  });
});

describe('store layout before v2 is migrated on first use', () => {
  it('files become archive version 1 (mode kept), live/ links, and the old directory a symlink so configs still work; a failed push stays pending', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'opsctl-legacy-'));
    // Make a v1 store: seed one with the current code, then lay it out as v1 did.
    const scratch = new CertStore(await mkdtemp(path.join(os.tmpdir(), 'seed-store-')));
    const seeded = await seedCert(scratch, ['old.test'], { pushTargets: [{ type: 'heroku', app: 'my-app' }] });
    const files = await scratch.readFiles({ dir: seeded.dir, meta: seeded.meta });
    const legacy = path.join(root, 'old.test');
    await mkdir(legacy);
    for (const [kind, text] of Object.entries(files)) await writeFile(path.join(legacy, `${kind}.pem`), text, { mode: kind === 'privkey' ? 0o640 : 0o644 });
    await chmod(path.join(legacy, 'privkey.pem'), 0o640);
    const { deliveries: _d, archiveVersion: _a, ...v1 } = seeded.meta;
    await writeFile(path.join(legacy, 'opsctl.json'), JSON.stringify({ ...v1, version: 1, lastPushes: [{ target: 'heroku:my-app', at: '2026-01-01T00:00:00.000Z', ok: false, message: 'Heroku rejected the API key (401 unauthorized)' }] }));
    const store = new CertStore(root);
    const listed = await list({ store, now: () => new Date() });
    expect(listed.certificates.map((c) => c.name)).toEqual(['old.test']);
    expect(listed.certificates[0]!.pending).toEqual([{ target: 'heroku:my-app', error: 'Heroku rejected the API key (401 unauthorized)', at: '2026-01-01T00:00:00.000Z' }]);
    expect((await lstat(legacy)).isSymbolicLink()).toBe(true);
    expect(await readFile(path.join(legacy, 'fullchain.pem'), 'utf8')).toBe(files.fullchain);
    expect(await readlink(path.join(root, 'live', 'old.test', 'fullchain.pem'))).toBe('../../archive/old.test/fullchain1.pem');
    expect((await stat(path.join(root, 'archive', 'old.test', 'privkey1.pem'))).mode & 0o777).toBe(0o640);
    expect((await readdir(root)).sort()).toEqual(['archive', 'live', 'old.test']);
    const meta = JSON.parse(await readFile(path.join(root, 'live', 'old.test', 'opsctl.json'), 'utf8'));
    expect(meta).toMatchObject({ version: 2, archiveVersion: 1, deliveries: { 'heroku:my-app': { ok: false } } });
    expect(meta.lastPushes).toBeUndefined();
    // a second store object sees the migrated layout and does nothing more
    expect((await new CertStore(root).list()).map((c) => c.meta.name)).toEqual(['old.test']);
  });
});

describe('cert targets remove', () => {
  it('drops a pending target for good; an unknown one lists what there is', async () => {
    const store = new CertStore(await mkdtemp(path.join(os.tmpdir(), 'opsctl-certs-')));
    const seeded = await seedCert(store, ['rm.test'], {
      pushTargets: [{ type: 'heroku', app: 'gone-app' }, { type: 'ssh', host: 'web1', dir: '/etc/ssl/rm' }],
      deliveries: { 'heroku:gone-app': { ok: false, at: '2026-01-01T00:00:00.000Z', error: 'app not found' } },
    });
    expect(pendingDeliveries(seeded.meta).map((p) => p.label)).toEqual(['heroku:gone-app', 'ssh:web1:/etc/ssl/rm']);
    await expect(removeTarget({ target: 'heroku:other', dryRun: false }, { store })).rejects.toMatchObject({ exitCode: 2, hint: 'its targets: heroku:gone-app, ssh:web1:/etc/ssl/rm' });
    const r = await removeTarget({ target: 'heroku:gone-app', dryRun: false }, { store });
    expect(r).toEqual({ name: 'rm.test', removed: 'heroku:gone-app', remaining: ['ssh:web1:/etc/ssl/rm'], dryRun: false });
    const meta = (await store.get('rm.test')).meta;
    expect(meta.pushTargets).toEqual([{ type: 'ssh', host: 'web1', dir: '/etc/ssl/rm' }]);
    expect(meta.deliveries).toEqual({});
  });
});

describe('renewal rule', () => {
  it('last third, or last half for certificates of 10 days or less; short ones counted in hours', () => {
    const nb = '2026-01-01T00:00:00.000Z';
    const long = { notBefore: nb, notAfter: '2026-03-31T00:00:00.000Z' }; // 89 days
    expect(renewalDue(long, new Date('2026-03-01T09:00:00Z'))).toMatchObject({ due: true, daysLeft: 29 });
    expect(renewalDue(long, new Date('2026-02-15T00:00:00Z'))).toMatchObject({ due: false, renewAt: '2026-03-01T08:00:00.000Z' });
    const short = { notBefore: nb, notAfter: '2026-01-07T00:00:00.000Z' }; // 6 days
    expect(renewalDue(short, new Date('2026-01-03T12:00:00Z'))).toMatchObject({ due: false, renewAt: '2026-01-04T00:00:00.000Z', reason: expect.stringMatching(/^3 days left, due from 2026-01-04 00:00 UTC \(the last half/) });
    expect(renewalDue(short, new Date('2026-01-06T00:00:00Z'))).toMatchObject({ due: true, daysLeft: 1, reason: expect.stringMatching(/^24 hours left, within the last half/) });
    expect(renewalDue({ ...short, revokedAt: '2026-01-02T00:00:00.000Z' }, new Date('2026-01-02T01:00:00Z'))).toMatchObject({ due: true, reason: 'revoked 2026-01-02' });
  });
});

describe('--dry-run directory', () => {
  it("Let's Encrypt production maps to staging; another directory is used as it is, and the note says so", async () => {
    const { stagingFor } = await import('../../src/commands/cert/dry-run.js');
    expect(stagingFor('https://acme-v02.api.letsencrypt.org/directory').directory).toBe('https://acme-staging-v02.api.letsencrypt.org/directory');
    expect(stagingFor('https://acme-staging-v02.api.letsencrypt.org/directory').note).toContain('already');
    expect(stagingFor('https://acme.zerossl.com/v2/DV90')).toEqual({ directory: 'https://acme.zerossl.com/v2/DV90', note: expect.stringContaining('has no known staging directory') });
  });
});

describe.skipIf(skip)('cert revoke against Pebble', () => {
  let pebble: TestPebble;
  beforeAll(async () => {
    pebble = await startPebble();
  });
  afterAll(async () => {
    await pebble?.stop();
  });

  it('revokes at the CA with the ordering account and reason; the next renew replaces it at once', async () => {
    const { run: revoke, command: revokeCommand } = await import('../../src/commands/cert/revoke.js');
    const deps = await testCertDeps({ httpPort: pebble.httpPort });
    const s = resolveIssueOptions({ domain: ['revoke.test'], email: 'ops@opsctl.test', directory: pebble.directoryUrl, caBundle: pebble.caBundle, standalone: true, httpPort: pebble.httpPort }, { setting } as any);
    const issued = await issue(s, deps);
    const serial = (await deps.store.get('revoke.test')).meta.serial!;
    expect(await pebble.certStatus(serial)).toBe('Valid');
    const r = await revoke({ name: 'revoke.test', reason: 'keycompromise', dryRun: false }, deps);
    expect(r).toMatchObject({ revoked: true, serial });
    expect(await pebble.certStatus(serial)).toBe('Revoked');
    expect((await list(deps)).certificates[0]).toMatchObject({ dueForRenewal: true, renewReason: expect.stringMatching(/^revoked \d{4}-\d\d-\d\d$/) });
    const renewed = await renew(resolveRenewOptions({}), deps);
    expect(renewed.certificates[0]).toMatchObject({ status: 'renewed', reason: expect.stringContaining('revoked') });
    expect((await deps.store.get('revoke.test')).meta.revokedAt).toBeUndefined();
    expect(issued.dir).toBe(deps.store.dirFor('revoke.test'));
    expect(() => revokeCommand.options([], { reason: 'because' }, { global: {} } as any)).toThrow(/Unknown revocation reason "because"/);
  });
});
