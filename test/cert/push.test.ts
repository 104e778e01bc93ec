import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import { run, resolvePushOptions } from '../../src/commands/cert/push.js';
import { createHerokuApi } from '../../src/commands/cert/heroku.js';
import { CertStore, pendingDeliveries } from '../../src/commands/cert/store.js';
import type { PushDeps } from '../../src/commands/cert/targets.js';
import { processRunner, type CommandSpec, type ProcessRunner } from '../../src/lib/process.js';
import { seedCert } from '../support/cert-deps.js';
import { startHeroku, type HerokuStandIn } from '../support/cert-heroku.js';
import { recordingCommand, startSshd, type TestSshd } from '../support/sshd.js';
import { missingTools } from '../support/tools.js';

const DOMAINS = ['push.test', 'www.push.test'];

async function setup(over: Partial<PushDeps> = {}) {
  const store = new CertStore(await mkdtemp(path.join(os.tmpdir(), 'opsctl-certs-')));
  const seeded = await seedCert(store, DOMAINS);
  const logs: string[] = [];
  const specs: CommandSpec[] = [];
  const runner: ProcessRunner = { which: processRunner.which, run: (s) => (specs.push(s), processRunner.run(s)) };
  const deps = {
    store,
    now: () => new Date('2026-03-01T00:00:00Z'),
    runner,
    herokuApi: async () => {
      throw new Error('no heroku here');
    },
    aws: { region: 'eu-west-1' },
    env: {},
    log: (m: string) => logs.push(m),
    ...over,
  };
  return { store, seeded, deps, logs, specs };
}

describe.skipIf(missingTools('/usr/sbin/sshd', 'ssh', 'openssl'))('cert push ssh (real sshd)', () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  beforeEach(async () => {
    await sshd.clearCalls();
  });
  const target = (dir: string, reload?: string) => resolvePushOptions(['ssh', sshd.alias], { dir, reload, sshConfig: sshd.sshConfigPath }, { aws: {} }).target;

  it('copies the four files atomically (key 0600, no temp files left), runs the reload, remembers the target; the key is never in argv', async () => {
    const { deps, seeded, store, specs } = await setup();
    await recordingCommand(sshd.binDir, 'systemctl', { exitCode: 0 });
    const remote = path.join(await mkdtemp(path.join(os.tmpdir(), 'remote-')), "etc/ssl/it's here");
    const r = await run({ target: target(remote, 'systemctl reload nginx') }, deps);
    expect(r).toMatchObject({ name: 'push.test', pushed: true, target: `ssh:${sshd.alias}:${remote}` });
    expect((await readdir(remote)).sort()).toEqual(['cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem']);
    for (const f of ['cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem']) expect(await readFile(path.join(remote, f), 'utf8')).toBe(await readFile(path.join(seeded.dir, f), 'utf8'));
    expect((await stat(path.join(remote, 'privkey.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(remote, 'fullchain.pem'))).mode & 0o777).toBe(0o644);
    expect(await sshd.calls()).toEqual([{ name: 'systemctl', argv: ['reload', 'nginx'], tty: false }]);
    expect(specs.every((s) => !s.args.join(' ').includes('PRIVATE KEY'))).toBe(true);
    // through src/lib/ssh.ts: ssh -G first, then BatchMode, our ConnectTimeout, `--` before the host
    expect(specs[0]!.args).toEqual(['-F', sshd.sshConfigPath, '-G', '--', sshd.alias]);
    expect(specs[1]!.args).toEqual(['-F', sshd.sshConfigPath, '-T', '-o', 'ConnectTimeout=10', '-o', 'BatchMode=yes', '--', sshd.alias, 'sh -s']);
    const meta = (await store.get('push.test')).meta;
    expect(meta.pushTargets).toEqual([{ type: 'ssh', host: sshd.alias, dir: remote, reload: 'systemctl reload nginx', sshConfig: sshd.sshConfigPath }]);
    expect(meta.deliveries).toEqual({ [`ssh:${sshd.alias}:${remote}`]: { at: '2026-03-01T00:00:00.000Z', ok: true, serial: meta.serial } });
    // pushing again replaces the stored target rather than adding one
    await run({ target: target(remote, 'systemctl reload nginx') }, deps);
    expect((await store.get('push.test')).meta.pushTargets).toHaveLength(1);
  });

  it('a failed reload exits non-zero and says so (the files are in place)', async () => {
    const { deps } = await setup();
    await recordingCommand(sshd.binDir, 'systemctl', { exitCode: 1, stderr: 'Job for nginx.service failed because the control process exited with error code.\n' });
    const remote = await mkdtemp(path.join(os.tmpdir(), 'remote-'));
    const err = await run({ target: target(remote, 'systemctl reload nginx') }, deps).catch((e) => e);
    expect(err).toMatchObject({ code: 'ssh-reload', exitCode: 1, message: 'The reload command failed on testhost (exit 1): Job for nginx.service failed because the control process exited with error code.' });
    expect(err.hint).toContain('systemctl reload nginx');
    expect((await readdir(remote)).sort()).toEqual(['cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem']);
  });

  it('an unreachable host: a one-line connection error', async () => {
    const { deps } = await setup();
    const cfg = await sshd.writeClientConfig([{ host: 'nowhere', hostName: '127.0.0.2' }]);
    const err = await run({ target: resolvePushOptions(['ssh', 'nowhere'], { dir: '/tmp/x', sshConfig: cfg }, { aws: {} }).target }, deps).catch((e) => e);
    expect(err).toMatchObject({ code: 'ssh-connect', message: expect.stringMatching(/^Cannot connect to nowhere over ssh: .*refused/i) });
  });

  it('--dry-run shows the plan and touches nothing', async () => {
    const { deps, store, specs } = await setup();
    const remote = path.join(os.tmpdir(), 'never-' + randomUUID());
    const r = await run({ target: target(remote, 'systemctl reload nginx'), dryRun: true }, deps);
    expect(r.dryRun).toBe(true);
    expect(r.steps.map((s) => s.action)).toEqual(['copy', 'reload']);
    expect(r.steps[1]!.detail).toContain('systemctl reload nginx');
    // only `ssh -G` (reads the config, connects nowhere)
    expect(specs.map((s) => s.args)).toEqual([['-F', sshd.sshConfigPath, '-G', '--', sshd.alias]]);
    expect((await store.get('push.test')).meta.pushTargets).toEqual([]);
  });
});

describe('cert push heroku (Platform API stand-in)', () => {
  let heroku: HerokuStandIn;
  beforeAll(async () => {
    heroku = await startHeroku();
    heroku.domains.push({ id: randomUUID(), hostname: 'www.push.test', kind: 'custom', sni_endpoint: null, cname: 'www.herokudns.com' });
  });
  afterAll(async () => {
    await heroku?.stop();
  });
  const api = (token = heroku.token) => async () => createHerokuApi({ token, baseUrl: heroku.apiUrl });
  const target = resolvePushOptions(['heroku'], { app: 'my-app' }, { aws: {} }).target;

  it('creates the SNI endpoint, links the existing domain, adds the missing one; the next push updates the same endpoint', async () => {
    const { deps, store, seeded } = await setup({ herokuApi: api() });
    const plan = await run({ target, dryRun: true }, deps);
    expect(plan.steps.map((s) => s.action)).toEqual(['create', 'link', 'add-domain']);
    expect(heroku.sniEndpoints).toHaveLength(0);
    const r = await run({ target }, deps);
    expect(r.pushed).toBe(true);
    expect(heroku.sniEndpoints).toHaveLength(1);
    const ep = heroku.sniEndpoints[0]!;
    expect(ep.certificate_chain).toBe(await readFile(path.join(seeded.dir, 'fullchain.pem'), 'utf8'));
    expect(ep.ssl_cert.cert_domains.sort()).toEqual(DOMAINS);
    expect(heroku.domains.filter((d) => d.kind === 'custom').map((d) => [d.hostname, d.sni_endpoint?.id]).sort()).toEqual([
      ['push.test', ep.id],
      ['www.push.test', ep.id],
    ]);
    expect((await store.get('push.test')).meta.pushTargets).toEqual([{ type: 'heroku', app: 'my-app', sniEndpoint: ep.id }]);
    const before = heroku.requests.length;
    const again = await run({ target }, deps);
    expect(again.steps.map((s) => s.action)).toEqual(['update']);
    expect(heroku.sniEndpoints).toHaveLength(1);
    expect(heroku.requests.slice(before).map((q) => `${q.method} ${q.path}`)).toEqual([
      'GET /apps/my-app/sni-endpoints',
      'GET /apps/my-app/domains',
      `PATCH /apps/my-app/sni-endpoints/${ep.id}`,
    ]);
  });

  it('a bad API key: 401 as one line with what to do', async () => {
    const { deps } = await setup({ herokuApi: api('nope') });
    await expect(run({ target }, deps)).rejects.toMatchObject({ code: 'heroku-unauthorized', message: 'Heroku rejected the API key (401 unauthorized): Invalid credentials provided.', hint: expect.stringContaining('heroku login') });
  });

  it('422 from Heroku (e.g. no paid dynos) is reported with its message, and the target is remembered for renewal', async () => {
    const other = await startHeroku({ appName: 'free-app' });
    try {
      other.failNext('POST', '/apps/free-app/sni-endpoints', 422, { id: 'invalid_params', message: 'SNI endpoints require paid dynos.' });
      const { deps, store } = await setup({ herokuApi: async () => createHerokuApi({ token: other.token, baseUrl: other.apiUrl }) });
      const t = resolvePushOptions(['heroku'], { app: 'free-app' }, { aws: {} }).target;
      await expect(run({ target: t }, deps)).rejects.toMatchObject({ code: 'heroku-unprocessable', message: expect.stringContaining('422 invalid_params): SNI endpoints require paid dynos.') });
      const meta = (await store.get('push.test')).meta;
      expect(meta.pushTargets).toEqual([{ type: 'heroku', app: 'free-app' }]);
      expect(meta.deliveries?.['heroku:free-app']).toMatchObject({ ok: false, error: expect.stringContaining('SNI endpoints require paid dynos.') });
      expect(pendingDeliveries(meta)).toEqual([{ label: 'heroku:free-app', last: expect.objectContaining({ ok: false }) }]);
    } finally {
      await other.stop();
    }
  });

  it('reads the token from ~/.netrc when HEROKU_API_KEY is unset', async () => {
    const { herokuToken, netrcPassword } = await import('../../src/commands/cert/heroku.js');
    expect(netrcPassword('machine git.heroku.com\n  login a@b.c\n  password GIT\nmachine api.heroku.com\n  login a@b.c\n  password API-TOKEN\n', 'api.heroku.com')).toBe('API-TOKEN');
    const home = await mkdtemp(path.join(os.tmpdir(), 'home-'));
    await expect(herokuToken({ HOME: home })).rejects.toMatchObject({ code: 'heroku-no-token', exitCode: 2 });
    await (await import('node:fs/promises')).writeFile(path.join(home, '.netrc'), 'machine api.heroku.com login x password FROM-NETRC\n');
    expect(await herokuToken({ HOME: home })).toBe('FROM-NETRC');
    expect(await herokuToken({ HOME: home, HEROKU_API_KEY: 'FROM-ENV' })).toBe('FROM-ENV');
  });
});

describe('cert push acm (SDK client mock)', () => {
  const acm = mockClient(ACMClient);
  beforeEach(() => acm.reset());
  const acmDeps = { acm: async (region: string | undefined) => ({ client: new ACMClient({ region, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }), importCommand: (i: Record<string, unknown>) => new ImportCertificateCommand(i as any) }) };
  const ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

  it('imports once, then re-imports over the same ARN (remembered with its region)', async () => {
    acm.on(ImportCertificateCommand).resolves({ CertificateArn: ARN });
    const { deps, store, seeded } = await setup(acmDeps);
    const target = resolvePushOptions(['acm'], {}, { aws: { region: 'eu-west-1' } }).target;
    const first = await run({ target }, deps);
    expect(first.steps[0]!.action).toBe('import');
    const input1 = acm.commandCalls(ImportCertificateCommand)[0]!.args[0].input;
    expect(input1.CertificateArn).toBeUndefined();
    expect(Buffer.from(input1.Certificate as Uint8Array).toString()).toBe(await readFile(path.join(seeded.dir, 'cert.pem'), 'utf8'));
    expect(Buffer.from(input1.CertificateChain as Uint8Array).toString()).toBe(await readFile(path.join(seeded.dir, 'chain.pem'), 'utf8'));
    expect((await store.get('push.test')).meta.pushTargets).toEqual([{ type: 'acm', certificateArn: ARN, region: 'eu-west-1' }]);
    const second = await run({ target }, deps);
    expect(second.steps[0]!.action).toBe('reimport');
    expect(acm.commandCalls(ImportCertificateCommand)[1]!.args[0].input.CertificateArn).toBe(ARN);
    expect((await store.get('push.test')).meta.pushTargets).toHaveLength(1);
  });

  it('an unknown ARN is a clear error', async () => {
    acm.on(ImportCertificateCommand).rejects(Object.assign(new Error('Could not find certificate'), { name: 'ResourceNotFoundException' }));
    const { deps } = await setup(acmDeps);
    const target = resolvePushOptions(['acm'], { certificateArn: ARN }, { aws: { region: 'eu-west-1' } }).target;
    await expect(run({ target }, deps)).rejects.toMatchObject({ code: 'acm-not-found', message: expect.stringContaining(ARN) });
  });

  it('refuses options of other targets and malformed ARNs', () => {
    expect(() => resolvePushOptions(['acm'], { app: 'x' }, { aws: {} })).toThrow(/--app does not apply to the acm target/);
    expect(() => resolvePushOptions(['acm'], { certificateArn: 'arn:nope' }, { aws: {} })).toThrow(/not an ACM certificate ARN/);
    expect(() => resolvePushOptions(['ssh', 'web1'], {}, { aws: {} })).toThrow(/--dir/);
    expect(() => resolvePushOptions(['ftp'], {}, { aws: {} })).toThrow(/Unknown push target/);
  });
});

describe('cert push: which certificate', () => {
  it('an empty store says so (exit 2) instead of naming a certificate nobody asked for', async () => {
    const { deps } = await setup();
    const empty = new CertStore(await mkdtemp(path.join(os.tmpdir(), 'opsctl-certs-')));
    const target = resolvePushOptions(['heroku'], { app: 'my-app' }, { aws: {} }).target;
    await expect(run({ target }, { ...deps, store: empty })).rejects.toMatchObject({ exitCode: 2, code: 'cert-not-found', message: `No certificates in ${empty.root}.`, hint: expect.stringContaining('opsctl cert issue') });
  });
});
