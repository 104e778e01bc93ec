import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { binPath, runBin } from '../support/cli.js';
import { FakeAws, startEcsStandin, type EcsStandin } from '../support/ecs-standin.js';
import { recordingCommand, startSshd, type TestSshd } from '../support/sshd.js';
import { missingTools } from '../support/tools.js';
import { shellQuote } from '../../src/lib/process.js';
import { HOSTILE } from './helpers.js';

// The built binary (npm run build first), the ECS/EC2 stand-in, and a real
// OpenSSH server whose remote PATH has a recording `docker` that really runs
// the command it is given, so argv, TTY and exit codes flow end to end.
const skip = missingTools('/usr/sbin/sshd', 'ssh', 'script');

describe.skipIf(skip)('opsctl ecs-ssh end to end (built binary, real sshd)', () => {
  let sshd: TestSshd;
  let standin: EcsStandin;
  let aws: FakeAws;
  let home: string;
  let env: Record<string, string>;
  let pluginDir: string;
  let pluginLog: string;

  beforeAll(async () => {
    [sshd, standin] = await Promise.all([startSshd(), startEcsStandin()]);
    aws = standin.aws;
    // `docker exec -i|-it ID cmd…` → record, then run cmd… (argv index 3 on)
    await recordingCommand(sshd.binDir, 'docker', { execAfter: 3 });
    home = mkdtempSync(path.join(os.tmpdir(), 'ecs-ssh-home-'));
    env = { ...standin.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), AWS_CONFIG_FILE: path.join(home, 'aws-config'), AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'aws-credentials') };
    // A recording session-manager-plugin: notes its argv, exits as told.
    pluginDir = path.join(home, 'plugin-bin');
    mkdirSync(pluginDir);
    pluginLog = path.join(home, 'plugin.jsonl');
    writeFileSync(path.join(pluginDir, 'session-manager-plugin'), `#!${process.execPath}\nrequire('node:fs').appendFileSync(${JSON.stringify(pluginLog)}, JSON.stringify(process.argv.slice(2)) + '\\n');\nprocess.exit(Number(process.env.FAKE_PLUGIN_EXIT || 0));\n`, { mode: 0o755 });
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), standin?.stop()]);
  });
  beforeEach(async () => {
    aws.clusters.clear();
    aws.services = [];
    aws.tasks = [];
    aws.containerInstances.clear();
    aws.instances.clear();
    aws.calls = [];
    aws.sessions = [];
    aws.clearFaults();
    await sshd.clearCalls();
    // each test starts without a remembered task
    env.XDG_CACHE_HOME = mkdtempSync(path.join(home, 'cache-'));
  });

  const bin = (args: string[], extra: Record<string, string> = {}) => runBin(args, { env: { ...env, ...extra }, timeoutMs: 30_000 });

  it('Name tag alias: the container receives exactly the argv typed, and the exit code comes back', async () => {
    aws.addService('prod', 'web');
    const t = aws.addEc2Task('prod', 'web', { instance: { nameTag: 'ecs-prod-1', privateIp: '127.0.0.1' } });
    const cfg = await sshd.writeClientConfig([{ host: 'ecs-prod-1' }]);
    const command = ['sh', '-c', 'echo "$HOME"; printf "<%s>" "$@"; echo; exit 42', 'sh', ...HOSTILE];
    const r = await bin(['ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', cfg, '--', ...command]);
    expect(r.stderr).not.toMatch(/error|at .*\.js/);
    expect(r.code).toBe(42);
    expect(r.stdout).toBe(`${os.userInfo().homedir}\n${HOSTILE.map((a) => `<${a}>`).join('')}\n`);
    expect(await sshd.calls()).toEqual([{ name: 'docker', argv: ['exec', '-i', t.containers[0]!.runtimeId, ...command], tty: false }]);
    expect(aws.counts()).toEqual({ ListTasks: 1, DescribeTasks: 1, DescribeContainerInstances: 1, DescribeInstances: 1 });
  });

  it('HostName match: an alias whose HostName is the private IP', async () => {
    aws.addService('prod', 'web');
    const t = aws.addEc2Task('prod', 'web', { instance: { privateIp: '127.0.0.1' } });
    const cfg = await sshd.writeClientConfig([{ host: 'some-other', hostName: '10.1.1.1' }, { host: 'web-box', hostName: '127.0.0.1' }]);
    const r = await bin(['ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', cfg, '--', 'sh', '-c', 'exit 3']);
    expect(r.code).toBe(3);
    expect((await sshd.calls())[0]!.argv).toEqual(['exec', '-i', t.containers[0]!.runtimeId, 'sh', '-c', 'exit 3']);
    const p = await bin(['--json', 'ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', cfg, '--print']);
    expect(JSON.parse(p.stdout).ssh).toMatchObject({ host: 'web-box', hostSource: 'hostname-alias', user: null, configFile: cfg, hostname: '127.0.0.1', port: sshd.port });
  });

  it('IP fallback: no alias, ssh to the private IP as --user with --ssh-option passed through', async () => {
    aws.addService('prod', 'web');
    aws.addEc2Task('prod', 'web', { instance: { nameTag: 'not-in-config', privateIp: '127.0.0.1' } });
    const empty = path.join(home, 'empty_ssh_config');
    writeFileSync(empty, '');
    const o = ['Port=' + sshd.port, 'IdentityFile=' + sshd.identityFile, 'StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null', 'BatchMode=yes', 'LogLevel=ERROR'];
    const r = await bin(['-v', 'ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', empty, '--user', sshd.user, ...o.flatMap((x) => ['--ssh-option', x]), '--', 'echo', 'hi there']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hi there\n');
    expect(r.stderr).toMatch(/route: ssh: private IP of i-[0-9a-f]+ \(no ssh config entry resolves Name tag "not-in-config" to it\)/);
  });

  it('with stdin on a terminal: ssh -t and docker exec -it (TTY flag), interactive shell probe by default', async () => {
    aws.addService('prod', 'web');
    const t = aws.addEc2Task('prod', 'web', { instance: { nameTag: 'ecs-prod-1', privateIp: '127.0.0.1' } });
    const cfg = await sshd.writeClientConfig([{ host: 'ecs-prod-1' }]);
    const args = [process.execPath, binPath, 'ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', cfg, '--', 'sh', '-c', 'exit 5'];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('script', ['-qec', args.map(shellQuote).join(' '), '/dev/null'], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['pipe', 'ignore', 'ignore'] });
      child.on('close', resolve);
      child.stdin.end();
    });
    expect(code).toBe(5);
    expect(await sshd.calls()).toEqual([{ name: 'docker', argv: ['exec', '-it', t.containers[0]!.runtimeId, 'sh', '-c', 'exit 5'], tty: true }]);
  });

  it('--all runs on every task in turn and prints each exit code', async () => {
    aws.addService('prod', 'web');
    const a = aws.addEc2Task('prod', 'web', { instance: { nameTag: 'node-a', privateIp: '127.0.0.1' } });
    const b = aws.addEc2Task('prod', 'web', { instance: { nameTag: 'node-b', privateIp: '127.0.0.1' } });
    // LC_* is what the test sshd accepts: each host alias tells its command which exit code to use.
    const cfg = await sshd.writeClientConfig([{ host: 'node-a', extra: ['SetEnv LC_EXIT=0'] }, { host: 'node-b', extra: ['SetEnv LC_EXIT=4'] }]);
    const r = await bin(['ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', cfg, '--all', '--', 'sh', '-c', 'echo "task says $LC_EXIT"; exit "$LC_EXIT"']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('task says 0\ntask says 4\n');
    expect(r.stdout).toMatch(new RegExp(`TASK\\s+HOST\\s+CONTAINER\\s+EXIT\\n${a.id}\\s+node-a\\s+web\\s+0\\n${b.id}\\s+node-b\\s+web\\s+4`));
    const j = await bin(['--json', 'ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', cfg, '--all', '--', 'sh', '-c', 'echo "task says $LC_EXIT"; exit "$LC_EXIT"']);
    expect(JSON.parse(j.stdout).map((x: { task: { id: string }; exitCode: number; stdout: string }) => [x.task.id, x.exitCode, x.stdout])).toEqual([
      [a.id, 0, 'task says 0\n'],
      [b.id, 4, 'task says 4\n'],
    ]);
  });

  it('--print shows the target and the exact ssh command; --list shows the tasks', async () => {
    aws.addService('prod', 'web');
    // print mode only: the fixture addresses are never connected to
    const t = aws.addEc2Task('prod', 'web', { instance: { nameTag: 'ecs-prod-1', privateIp: '10.0.3.4', publicIp: '54.9.9.9' } });
    const cfg = await sshd.writeClientConfig([{ host: 'ecs-prod-1', hostName: '10.0.3.4' }]);
    const p = await bin(['ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', cfg, '--print', '--', 'ls', 'a b']);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain(`task:       ${t.id} (RUNNING, eu-west-1a, rev 7, started 2026-11-23T09:00:00.000Z)`);
    expect(p.stdout).toContain(`private ip: 10.0.3.4\npublic ip:  54.9.9.9\nname tag:   ecs-prod-1\nvia:        ssh\nssh host:   ecs-prod-1 (name tag; resolves to 10.0.3.4:${sshd.port})\n`);
    expect(p.stdout).toContain('why:        ssh: ssh config: Name tag "ecs-prod-1" → its HostName 10.0.3.4 is this instance\'s address\n');
    expect(p.stdout.trim().split('\n').at(-1)).toBe(`ssh -F ${cfg} -T -o ConnectTimeout=10 -- ecs-prod-1 'docker exec -i ${t.containers[0]!.runtimeId} ls '\\''a b'\\'''`);
    expect(await sshd.calls()).toEqual([]);
    const dry = await bin(['--dry-run', 'ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', cfg, '--', 'ls', 'a b']);
    expect(dry.stdout).toBe(p.stdout);

    const l = await bin(['ecs-ssh', '--list', '--cluster', 'prod']);
    expect(l.code).toBe(0);
    expect(l.stdout).toMatch(new RegExp(`^TASK\\s+SERVICE\\s+STATUS\\s+AZ\\s+HOST\\s+INSTANCE\\s+CONTAINERS\\s+STARTED\\s+REV\\n${t.id}\\s+web\\s+RUNNING\\s+eu-west-1a\\s+ecs-prod-1\\s+i-`));
    const lj = JSON.parse((await bin(['--json', 'ecs-ssh', '--list', 'web', '--cluster', 'prod'])).stdout);
    expect(lj.tasks[0]).toMatchObject({ id: t.id, host: 'ecs-prod-1', lastStatus: 'RUNNING', availabilityZone: 'eu-west-1a' });
  });

  it('errors are one line with a hint and the contract exit code, never a stack', async () => {
    aws.addService('prod', 'web-frontend');
    let r = await bin(['ecs-ssh', 'web-fronted', '--cluster', 'prod']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: Unknown ECS service "web-fronted" in cluster prod.\nhint: did you mean web-frontend?\n');
    r = await bin(['--json', 'ecs-ssh', 'web-fronted', '--cluster', 'prod']);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'unknown-service', exitCode: 2 });

    // ssh not installed: PATH without it
    aws.addEc2Task('prod', 'web-frontend', { instance: { nameTag: 'h' } });
    r = await bin(['ecs-ssh', 'web-frontend', '--cluster', 'prod'], { PATH: path.join(home, 'no-bin') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: ssh \(the OpenSSH client\) is not installed or not on PATH\.\nhint: install it/);
  });

  it('Ctrl-C during a session ends ssh and exits 130', async () => {
    aws.addService('prod', 'web');
    aws.addEc2Task('prod', 'web', { instance: { nameTag: 'ecs-prod-1', privateIp: '127.0.0.1' } });
    const cfg = await sshd.writeClientConfig([{ host: 'ecs-prod-1' }]);
    const child = spawn(process.execPath, [binPath, 'ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', cfg, '--', 'sleep', '30'], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    // wait until the command runs in the "container", then interrupt opsctl alone
    for (let i = 0; i < 100 && (await sshd.calls()).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await sshd.calls()).toHaveLength(1);
    const t0 = Date.now();
    child.kill('SIGINT');
    expect(await closed).toBe(130);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(stderr).not.toMatch(/at .*\.js/);
  });

  it('Ctrl-C while AWS is answering cancels the call in flight: exit 130 at once, no ssh', async () => {
    aws.addService('prod', 'web');
    aws.addEc2Task('prod', 'web', { instance: { nameTag: 'ecs-prod-1' } });
    aws.latencyMs = 5000;
    try {
      const child = spawn(process.execPath, [binPath, 'ecs-ssh', 'web', '--cluster', 'prod', '--', 'true'], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      for (let i = 0; i < 100 && aws.count() === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(aws.counts()).toEqual({ ListTasks: 1 });
      const t0 = Date.now();
      child.kill('SIGINT');
      expect(await closed).toBe(130);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(aws.counts()).toEqual({ ListTasks: 1 });
      expect(await sshd.calls()).toEqual([]);
      expect(stderr).not.toMatch(/at .*\.js/);
    } finally {
      aws.latencyMs = 0;
    }
  });

  it('an expired SSO session says to run aws sso login', async () => {
    writeFileSync(path.join(home, 'sso-config'), ['[profile dev]', 'sso_session = corp', 'sso_account_id = 123456789012', 'sso_role_name = Dev', 'region = eu-west-1', '', '[sso-session corp]', 'sso_start_url = https://corp.awsapps.com/start', 'sso_region = eu-west-1', ''].join('\n'));
    const r = await bin(['ecs-ssh', 'web', '--cluster', 'prod', '--profile', 'dev'], { AWS_CONFIG_FILE: path.join(home, 'sso-config'), AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: Your AWS SSO session has expired or was never started \(profile dev\)\.\nhint: run `aws sso login --profile dev`/);
    expect(aws.count()).toBe(0);
  });

  it('--forward through the real sshd moves bytes both ways to a local server, until Ctrl-C', async () => {
    // The "container" port 80 is published on the host as the test server's port.
    const server = net.createServer((sock) => sock.on('data', (d) => sock.write(Buffer.from(d.toString('utf8').toUpperCase() + '|' + d.length))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const hostPort = (server.address() as net.AddressInfo).port;
    const local = await freeLocalPort();
    try {
      aws.addService('prod', 'web');
      aws.addEc2Task('prod', 'web', { instance: { nameTag: 'ecs-prod-1', privateIp: '127.0.0.1' }, containers: [{ name: 'web', ports: [{ containerPort: 80, hostPort }] }] });
      const cfg = await sshd.writeClientConfig([{ host: 'ecs-prod-1' }]);
      const child = spawn(process.execPath, [binPath, 'ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', cfg, '--forward', `${local}:80`], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      let reply = '';
      for (let i = 0; i < 100 && !reply; i++) {
        reply = await roundTrip(local, 'hello forward').catch(() => '');
        if (!reply) await new Promise((r) => setTimeout(r, 100));
      }
      expect(reply).toBe('HELLO FORWARD|13');
      expect(stderr).toContain(`forwarding 127.0.0.1:${local} → 127.0.0.1:${hostPort} (container web port 80 (published on the host as ${hostPort})) over ssh ecs-prod-1; Ctrl-C to stop`);
      child.kill('SIGINT');
      expect(await closed).toBe(130);
    } finally {
      server.close();
    }
  });

  it('ECS Exec on an EC2 task and SSM to the host go through session-manager-plugin with the AWS CLI argv', async () => {
    aws.addService('prod', 'web');
    const t = aws.addEc2Task('prod', 'web', { instance: { privateIp: '10.0.0.4', ssm: 'Online' }, enableExecuteCommand: true });
    const pathEnv = { PATH: `${pluginDir}:${process.env.PATH}` };
    writeFileSync(pluginLog, '');
    const r = await bin(['ecs-ssh', 'web', '--cluster', 'prod', '--', 'ls'], pathEnv);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/note: over ECS Exec the command's own exit code does not come back/);
    const [execArgs] = readFileSync(pluginLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
    expect(execArgs!.slice(1, 4)).toEqual(['eu-west-1', 'StartSession', '']);
    expect(JSON.parse(execArgs![4]!)).toEqual({ Target: `ecs:prod_${t.id}_${t.containers[0]!.runtimeId}` });
    expect(execArgs![5]).toBe(standin.url);

    // --via ssm: StartSession to the instance; a failing plugin's exit code comes back, and the session is closed
    writeFileSync(pluginLog, '');
    const s = await bin(['ecs-ssh', 'web', '--cluster', 'prod', '--via', 'ssm'], { ...pathEnv, FAKE_PLUGIN_EXIT: '3' });
    expect(s.code).toBe(3);
    const [ssmArgs] = readFileSync(pluginLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
    expect(JSON.parse(ssmArgs![4]!)).toMatchObject({ Target: [...aws.instances.keys()][0], DocumentName: 'AWS-StartInteractiveCommand' });
    expect(aws.sessions).toHaveLength(1);
    expect(aws.sessions[0]!.terminated).toBe(true);
  });

  it('a repeat connect costs one AWS call and reaches the same container', async () => {
    aws.addService('prod', 'web');
    const t = aws.addEc2Task('prod', 'web', { instance: { nameTag: 'ecs-prod-1', privateIp: '127.0.0.1' } });
    const cfg = await sshd.writeClientConfig([{ host: 'ecs-prod-1' }]);
    expect((await bin(['ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', cfg, '--', 'true'])).code).toBe(0);
    expect(aws.count()).toBe(4);
    aws.calls = [];
    expect((await bin(['ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', cfg, '--', 'sh', '-c', 'exit 6'])).code).toBe(6);
    expect(aws.counts()).toEqual({ DescribeTasks: 1 });
    expect((await sshd.calls()).map((c) => c.argv[2])).toEqual([t.containers[0]!.runtimeId, t.containers[0]!.runtimeId]);
  });
});

function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.setTimeout(2000, () => sock.destroy(new Error('timeout')));
    sock.on('connect', () => sock.write(text));
    sock.on('data', (d) => {
      got += d.toString('utf8');
      if (got.includes('|')) {
        sock.end();
        resolve(got);
      }
    });
    sock.on('error', reject);
    sock.on('close', () => resolve(got));
  });
}
