import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { binPath, runBin } from '../support/cli.js';
import { startPebble, type TestPebble } from '../support/cert-pebble.js';
import { missingTools } from '../support/tools.js';
import { nodeForOtherUsers } from '../support/other-user.js';
import { startSshd, recordingCommand, type TestSshd } from '../support/sshd.js';
import { seedCert } from '../support/cert-deps.js';
import { CertStore } from '../../src/commands/cert/store.js';

const env = (home: string) => ({ HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), PATH: process.env.PATH });

describe('opsctl cert (built binary): usage errors', () => {
  it('missing email or challenge: exit 2, one error line and a hint, no stack', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'home-'));
    const r = await runBin(['cert', 'issue', '-d', 'example.org', '--standalone'], { env: env(home) });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: An ACME account email is needed: pass --email \(or set cert.email in the config\)\.\nhint: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const r2 = await runBin(['cert', 'issue', '-d', 'example.org', '--email', 'me@example.org', '--json'], { env: env(home) });
    expect(r2.code).toBe(2);
    expect(JSON.parse(r2.stdout)).toMatchObject({ error: { code: 'usage', exitCode: 2, message: expect.stringContaining('--webroot DIR, --standalone') } });
    const r3 = await runBin(['cert', 'issue', '-d', 'bad_domain!', '--email', 'me@example.org', '--standalone'], { env: env(home) });
    expect(r3).toMatchObject({ code: 2, stderr: expect.stringContaining('"bad_domain!" is not a valid domain name.') });
    const r4 = await runBin(['cert', 'push', 'ssh', 'web1', '-d', 'example.org'], { env: env(home) });
    expect(r4).toMatchObject({ code: 2, stderr: expect.stringContaining('--dir') });
  });

  it('`opsctl --help` and `cert list` do not load acme-client or the AWS SDK', () => {
    for (const args of [['--help'], ['cert', 'list']]) {
      const script = `
        const Module = require('node:module');
        const seen = [];
        const orig = Module._load;
        Module._load = function (req, ...rest) { seen.push(req); return orig.call(this, req, ...rest); };
        process.argv = [process.argv[0], ${JSON.stringify(binPath)}, ...${JSON.stringify(args)}];
        process.on('exit', () => { require('node:fs').writeSync(2, '\\nLOADED:' + JSON.stringify(seen.filter((s) => /acme-client|@aws-sdk|axios/.test(s)))); });
        import(${JSON.stringify(binPath)});`;
      const home = spawnSync('mktemp', ['-d']).stdout.toString().trim();
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...env(home) } });
      expect(r.stderr).toContain('LOADED:[]');
    }
  });
});

describe.skipIf(missingTools('/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', 'openssl'))('opsctl cert (built binary) against Pebble', () => {
  let pebble: TestPebble;
  beforeAll(async () => {
    pebble = await startPebble();
  });
  afterAll(async () => {
    await pebble?.stop();
  });

  it('the email comes from the environment when not given; --dry-run really issues (here: from the custom directory, said so) and stores nothing', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'home-'));
    const certDir = path.join(home, 'store');
    const r = await runBin(['cert', 'issue', '-d', 'dry.test', '--directory', pebble.directoryUrl, '--ca-bundle', pebble.caBundle, '--standalone', '--http-port', String(pebble.httpPort), '--no-self-check', '--dry-run', '--key-type', 'rsa-2048', '--cert-dir', certDir], { env: { ...env(home), OPSCTL_CERT_EMAIL: 'env@example.org' } });
    expect(r.stderr).toContain('registering ACME account env@example.org');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\[dry run\] issued a test certificate for dry\.test from https:\/\/127\.0\.0\.1:\d+\/dir \(serial [0-9A-F]+, Pebble Intermediate CA [0-9a-f]+\), answering standalone\n/);
    expect(r.stdout).toContain('has no known staging directory: the test certificate comes from it');
    expect(r.stdout).toContain(`nothing was stored in ${path.join(certDir, 'live', 'dry.test')}`);
    const list = await runBin(['cert', 'list', '--json', '--cert-dir', certDir], { env: env(home) });
    expect(JSON.parse(list.stdout).certificates).toEqual([]);
  });

  it('issue → list → renew (quiet when nothing is due) → renew --dry-run --force', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'home-'));
    const certDir = path.join(home, 'store');
    const e = env(home);
    const issue = await runBin(['cert', 'issue', '-d', 'bin.test', '-d', 'www.bin.test', '--email', 'ops@opsctl.test', '--directory', pebble.directoryUrl, '--ca-bundle', pebble.caBundle, '--standalone', '--http-port', String(pebble.httpPort), '--no-self-check', '--cert-dir', certDir], { env: e });
    expect(issue.stderr).toContain('✓ Issued certificate bin.test (bin.test, www.bin.test)');
    expect(issue.code).toBe(0);
    expect(issue.stdout).toContain(`certificate: ${path.join(certDir, 'live', 'bin.test', 'fullchain.pem')}`);
    expect((await stat(path.join(certDir, 'live', 'bin.test', 'privkey.pem'))).mode & 0o777).toBe(0o600);

    const list = await runBin(['cert', 'list', '--cert-dir', certDir], { env: e });
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^DOMAINS\s+EXPIRES\s+DAYS LEFT\s+RENEWS\s+ISSUER\s+PUSH TARGETS$/);
    expect(list.stdout).toMatch(/bin\.test, www\.bin\.test\s+\d{4}-\d\d-\d\d\s+\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+Pebble Intermediate/);
    expect(list.stdout).toMatch(/\nbin\.test: \d+ days left, due from \d{4}-\d\d-\d\d \(the last third of its lifetime\)\n/);
    const json = JSON.parse((await runBin(['cert', 'list', '--json', '--cert-dir', certDir], { env: e })).stdout);
    expect(json.certificates[0]).toMatchObject({ name: 'bin.test', domains: ['bin.test', 'www.bin.test'], dueForRenewal: false, pushTargets: [] });

    const quiet = await runBin(['cert', 'renew', '--cert-dir', certDir], { env: e });
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const dry = await runBin(['cert', 'renew', '--force', '--dry-run', '--cert-dir', certDir], { env: e });
    expect(dry).toMatchObject({ code: 0, stdout: expect.stringContaining('[dry run] would renew bin.test (forced') });

    const none = await runBin(['cert', 'push', 'heroku', '--app', 'x', '-d', 'nope.test', '--cert-dir', certDir], { env: e });
    expect(none).toMatchObject({ code: 2, stderr: expect.stringContaining('stored certificates: bin.test') });

    // Renewal from cron: a failure is named on stderr with exit 1, the files stay; a success says what it did.
    const before = await readFile(path.join(certDir, 'live', 'bin.test', 'fullchain.pem'), 'utf8');
    const squatter = http.createServer((_q, res) => res.end('busy'));
    await new Promise<void>((r) => squatter.listen(pebble.httpPort, '127.0.0.1', r));
    try {
      const failed = await runBin(['cert', 'renew', '--days', '100000', '--cert-dir', certDir], { env: e });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('error: renewing bin.test failed, the current certificate is untouched: Cannot listen on port');
      expect(await readFile(path.join(certDir, 'live', 'bin.test', 'fullchain.pem'), 'utf8')).toBe(before);
    } finally {
      await new Promise((r) => squatter.close(r));
    }
    const renewed = await runBin(['cert', 'renew', '--force', '--cert-dir', certDir], { env: e });
    expect(renewed).toMatchObject({ code: 0, stdout: expect.stringMatching(/^renewed bin\.test, valid until \d{4}-\d\d-\d\d\n$/) });
    expect(await readFile(path.join(certDir, 'live', 'bin.test', 'fullchain.pem'), 'utf8')).not.toBe(before);
  });

  it('an ACME failure through the binary: exit 1, one line and a hint, the stack only with --debug', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'home-'));
    const args = ['cert', 'issue', '-d', 'nobody.test', '--email', 'ops@opsctl.test', '--directory', pebble.directoryUrl, '--webroot', home, '--no-self-check', '--cert-dir', path.join(home, 's')];
    const r = await runBin([...args, '--ca-bundle', pebble.caBundle], { env: env(home) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^(registering|using) ACME account/);
    expect(r.stderr).toMatch(/\nerror: The CA could not validate nobody\.test: it fetched http:\/\/nobody\.test\/\.well-known\/acme-challenge\/\S+ and got: .*\nhint: .*webroot/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const tls = await runBin([...args, '--debug'], { env: env(home) });
    expect(tls.code).toBe(1);
    expect(tls.stderr).toContain('error: Cannot reach the ACME server 127.0.0.1');
    expect(tls.stderr).toContain('--ca-bundle');
  });
});

describe.skipIf(missingTools('/usr/sbin/sshd', 'ssh', 'openssl'))('opsctl cert push ssh (built binary, real sshd)', () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('--dry-run prints the plan; the push copies and reloads; list shows the target; a failing reload exits 1', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'home-'));
    const certDir = path.join(home, 'store');
    await seedCert(new CertStore(certDir), ['ssh.test']);
    const remote = path.join(home, 'remote dir');
    const args = ['cert', 'push', 'ssh', sshd.alias, '--dir', remote, '--reload', 'systemctl reload nginx', '--ssh-config', sshd.sshConfigPath, '--cert-dir', certDir];
    const dry = await runBin([...args, '--dry-run'], { env: env(home) });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`[dry run] would copy ssh:${sshd.alias}:${remote} — `);
    expect(dry.stdout).toContain(`[dry run] would reload ssh:${sshd.alias}:${remote} — ssh -F`);
    expect(dry.stdout).not.toContain('PRIVATE KEY');
    await expect(readdir(remote)).rejects.toThrow();
    await recordingCommand(sshd.binDir, 'systemctl', {});
    const ok = await runBin(args, { env: env(home) });
    expect(ok).toMatchObject({ code: 0, stderr: expect.stringContaining(`✓ Pushed ssh.test to ssh:${sshd.alias}:${remote}`) });
    expect((await stat(path.join(remote, 'privkey.pem'))).mode & 0o777).toBe(0o600);
    const list = await runBin(['cert', 'list', '--cert-dir', certDir], { env: env(home) });
    expect(list.stdout).toContain(`ssh:${sshd.alias}:${remote}`);
    await recordingCommand(sshd.binDir, 'systemctl', { exitCode: 5, stderr: 'Unit nginx.service not loaded.\n' });
    const bad = await runBin(args, { env: env(home) });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error: The reload command failed on testhost (exit 5): Unit nginx.service not loaded.');
  });
});

// Needs root to become another user. `nobody` can enter neither /root (the cached Node 22/24) nor a
// checkout under a root-only directory: it runs a Node and an opsctl built from src/ in a world-readable temp dir.
describe.skipIf(process.getuid?.() !== 0)('opsctl cert as a user who cannot read the store', () => {
  it('cert list on root\'s store: exit 1, one line naming the store and a hint, no stack', async () => {
    const { chmod, mkdir } = await import('node:fs/promises');
    const parent = await mkdtemp(path.join(os.tmpdir(), 'store-'));
    await chmod(parent, 0o755);
    const store = path.join(parent, 'certs');
    await mkdir(store, { mode: 0o700 });
    const other = nodeForOtherUsers({ opsctl: true });
    const r = spawnSync(other.node, [other.opsctl!, 'cert', 'list', '--cert-dir', store], {
      encoding: 'utf8',
      cwd: other.dir,
      uid: 65534,
      gid: 65534,
      env: { PATH: process.env.PATH, HOME: parent, NO_COLOR: '1' },
    });
    other.cleanup();
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 1, stdout: '' });
    expect(r.stderr.trim().split('\n')).toEqual([
      `error: Cannot read the certificate store at ${store}: permission denied.`,
      "hint: run as the user that owns it (certificates issued with sudo are root's: sudo opsctl cert …), or pick another store with --cert-dir",
    ]);
  });
});
