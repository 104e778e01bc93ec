import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OpsError } from '../../src/lib/errors.js';
import { FakeAws, startEcsStandin, type EcsStandin } from '../support/ecs-standin.js';
import { recordingRunner, runEcs, shellSplit, sshConfig } from './helpers.js';

// Routes (ECS Exec, SSM, ssh), the session-manager-plugin hand-off, the
// repeat-connect cache and the error paths, against the stand-in through the real SDK.
let standin: EcsStandin;
const saved = { ...process.env };
beforeAll(async () => {
  standin = await startEcsStandin();
  Object.assign(process.env, standin.env);
  delete process.env.AWS_PROFILE;
});
afterAll(async () => {
  process.env = saved;
  await standin?.stop();
});

function world(): FakeAws {
  const w = standin.aws;
  w.clusters.clear();
  w.services = [];
  w.tasks = [];
  w.containerInstances.clear();
  w.instances.clear();
  w.calls = [];
  w.sessions = [];
  w.latencyMs = 0;
  w.clearFaults();
  return w;
}

async function failure(p: Promise<unknown>): Promise<OpsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected an OpsError').toBeInstanceOf(OpsError);
  return err as OpsError;
}

describe('ECS Exec on EC2 tasks', () => {
  it('auto takes ECS Exec when the task has it, and hands the plugin what the AWS CLI does', async () => {
    const w = world();
    w.addService('prod', 'web');
    const t = w.addEc2Task('prod', 'web', { instance: { nameTag: 'n1', privateIp: '10.0.0.4' }, enableExecuteCommand: true });
    const { runner, specs } = recordingRunner({ exitCodes: [0] });
    const logs: string[] = [];
    const r = await runEcs(standin, { command: ['ls', 'a b'] }, { runner, logs });
    expect(r).toMatchObject({ action: 'exec', exitCode: 0, exitCodeRecovered: false, target: { via: 'exec' } });
    expect(w.counts()).toEqual({ ListTasks: 1, DescribeTasks: 1, DescribeContainerInstances: 1, DescribeInstances: 1, ExecuteCommand: 1 });
    expect(w.calls.find((c) => c.op === 'ExecuteCommand')!.input).toEqual({ cluster: 'prod', task: t.arn, container: 'web', command: "ls 'a b'", interactive: true });
    expect(specs).toHaveLength(1);
    const [session, region, verb, profile, params, endpoint] = specs[0]!.args;
    expect(specs[0]!.file).toBe('session-manager-plugin');
    expect(Object.keys(JSON.parse(session!))).toEqual(['sessionId', 'streamUrl', 'tokenValue']);
    expect([region, verb, profile, endpoint]).toEqual(['eu-west-1', 'StartSession', '', standin.url]);
    expect(JSON.parse(params!)).toEqual({ Target: `ecs:prod_${t.id}_${t.containers[0]!.runtimeId}` });
    expect(logs.join('\n')).toContain('route: ECS Exec: enabled for task');
    // said plainly: the plugin does not return the command's exit code
    expect(logs.join('\n')).toMatch(/note: over ECS Exec the command's own exit code does not come back/);
  });

  it('--via exec refuses a task without it, saying what is missing; --via ssh skips it', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'n1', privateIp: '10.0.0.4' } });
    const e = await failure(runEcs(standin, { via: 'exec' }));
    expect(e.message).toMatch(/^ECS Exec is not enabled for task [0-9a-f]+ \(enableExecuteCommand is false\)\.$/);
    expect(e.hint).toContain('--enable-execute-command --force-new-deployment');
    expect(e.hint).toContain('ssmmessages:');
    const agent = world();
    agent.addService('prod', 'web');
    agent.addEc2Task('prod', 'web', { instance: { privateIp: '10.0.0.4' }, enableExecuteCommand: true, containers: [{ name: 'web', execAgent: 'STOPPED' }] });
    expect((await failure(runEcs(standin, { via: 'exec' }))).message).toMatch(/ECS Exec's agent in container web of task [0-9a-f]+ is STOPPED\./);
    const { runner } = recordingRunner({ missing: ['session-manager-plugin'] });
    agent.tasks[0]!.containers[0]!.execAgent = 'RUNNING';
    const p = await failure(runEcs(standin, { via: 'exec' }, { runner }));
    expect(p.message).toBe('ECS Exec needs session-manager-plugin, which is not on PATH.');
    expect(p.hint).toMatch(/install the Session Manager plugin/);
    const s = await runEcs(standin, { via: 'ssh', print: true });
    expect(s.action === 'print' && s.targets[0]!.via).toBe('ssh');
  });
});

describe('SSM Session Manager to the container instance', () => {
  it('auto: no ssh config entry for the instance, SSM-managed → StartSession with docker exec, through the plugin', async () => {
    const w = world();
    w.addService('prod', 'web');
    const t = w.addEc2Task('prod', 'web', { instance: { nameTag: 'closed-22', privateIp: '10.0.0.4', ssm: 'Online' } });
    const inst = [...w.instances.values()][0]!;
    const { runner, specs } = recordingRunner({ exitCodes: [0] });
    const r = await runEcs(standin, { command: ['cat', "it's"] }, { runner });
    expect(r).toMatchObject({ action: 'exec', target: { via: 'ssm' }, exitCodeRecovered: false });
    expect(w.counts()).toEqual({ ListTasks: 1, DescribeTasks: 1, DescribeContainerInstances: 1, DescribeInstances: 1, DescribeInstanceInformation: 1, StartSession: 1 });
    const start = w.sessions[0]!;
    expect(start.input).toMatchObject({ Target: inst.id, DocumentName: 'AWS-StartInteractiveCommand' });
    const line = (start.input.Parameters as { command: string[] }).command[0]!;
    // the far side runs exactly this argv: docker (or sudo -n docker) exec -it ID cat "it's"
    expect(shellSplit(line)).toEqual(['sh', '-c', 'if [ -w /var/run/docker.sock ]; then exec docker "$@"; fi; exec sudo -n docker "$@"', 'sh', 'exec', '-it', t.containers[0]!.runtimeId, 'cat', "it's"]);
    const [session, region, verb, , params, endpoint] = specs[0]!.args;
    expect(specs[0]!.file).toBe('session-manager-plugin');
    expect(JSON.parse(session!)).toEqual({ SessionId: start.sessionId, TokenValue: expect.stringMatching(/^token-/), StreamUrl: expect.stringMatching(/^wss:/) });
    expect([region, verb, endpoint]).toEqual(['eu-west-1', 'StartSession', standin.url]);
    expect(JSON.parse(params!)).toEqual(start.input);
    expect(start.terminated).toBe(false);
  });

  it('a plugin that fails leaves no session behind (TerminateSession)', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { privateIp: '10.0.0.4', ssm: 'Online' } });
    const { runner } = recordingRunner({ exitCodes: [1] });
    const r = await runEcs(standin, { via: 'ssm' }, { runner });
    expect(r).toMatchObject({ action: 'exec', exitCode: 1 });
    expect(w.sessions[0]!.terminated).toBe(true);
  });

  it('an ssh config entry that names the instance wins over SSM in auto (no SSM call spent)', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'box', privateIp: '10.0.0.4', ssm: 'Online' } });
    const r = await runEcs(standin, { print: true, sshConfig: sshConfig([{ host: 'box', hostName: '10.0.0.4' }]) });
    expect(r.action === 'print' && r.targets[0]!.via).toBe('ssh');
    expect(w.count('DescribeInstanceInformation')).toBe(0);
  });

  it('not managed: auto falls back to ssh to the IP with the reason; --via ssm says what is missing', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { privateIp: '10.0.0.4', ssm: 'ConnectionLost' } });
    const r = await runEcs(standin, { print: true });
    if (r.action !== 'print') throw new Error('expected print');
    expect(r.targets[0]!.via).toBe('ssh');
    expect(r.targets[0]!.reasons).toEqual([expect.stringMatching(/^not ECS Exec: ECS Exec is not enabled/), expect.stringMatching(/^not SSM: instance i-[0-9a-f]+ is not managed \(SSM Agent 3\.3\.1142\.0 is ConnectionLost\)$/), expect.stringMatching(/^ssh: private IP of i-/)]);
    const e = await failure(runEcs(standin, { via: 'ssm' }));
    expect(e.message).toMatch(/^Instance i-[0-9a-f]+ is not reachable over SSM Session Manager: SSM Agent 3\.3\.1142\.0 is ConnectionLost\.$/);
    expect(e.hint).toMatch(/AmazonSSMManagedInstanceCore/);
    // no permission to ask SSM: auto goes on to ssh; --via ssm names the IAM action
    w.fail('DescribeInstanceInformation', { code: 'AccessDeniedException', message: 'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ssm:DescribeInstanceInformation' });
    const auto = await runEcs(standin, { print: true });
    expect(auto.action === 'print' && auto.targets[0]!.reasons[1]).toMatch(/cannot ask SSM: Access denied: your identity lacks permission for ssm:DescribeInstanceInformation/);
    expect((await failure(runEcs(standin, { via: 'ssm' }))).message).toBe('Access denied: your identity lacks permission for ssm:DescribeInstanceInformation.');
  });

  it('Fargate has no instance for SSM: the refusal says so', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addFargateTask('prod', 'web');
    expect((await failure(runEcs(standin, { via: 'ssm' }))).code).toBe('fargate-no-exec');
    w.tasks[0]!.enableExecuteCommand = true;
    const e = await failure(runEcs(standin, { via: 'ssh' }));
    expect(e.message).toMatch(/^Task [0-9a-f]+ runs on FARGATE: there is no container instance to ssh to\.$/);
    expect(e.hint).toBe('ECS Exec is enabled for it: use --via exec (or --via auto)');
  });
});

describe('--forward', () => {
  it('a container port over ssh: -N -L to the host port Docker published, ExitOnForwardFailure', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'box', privateIp: '10.0.0.4' }, containers: [{ name: 'web', ports: [{ containerPort: 8080, hostPort: 32768 }] }] });
    const cfg = sshConfig([{ host: 'box', hostName: '10.0.0.4', user: 'ec2-user' }]);
    const r = await runEcs(standin, { print: true, sshConfig: cfg, forward: { localPort: 18080, port: 8080 } });
    if (r.action !== 'print') throw new Error('expected print');
    expect(r.targets[0]!.command.args).toEqual(['-F', cfg, '-T', '-N', '-o', 'ConnectTimeout=10', '-o', 'ExitOnForwardFailure=yes', '-o', 'ServerAliveInterval=30', '-L', '127.0.0.1:18080:127.0.0.1:32768', '--', 'box']);
    expect(r.targets[0]!.forward).toEqual({ local: '127.0.0.1:18080', destination: '127.0.0.1:32768', what: 'container web port 8080 (published on the host as 32768)' });
    const missing = await failure(runEcs(standin, { print: true, sshConfig: cfg, forward: { localPort: 9, port: 9 } }));
    expect(missing.message).toMatch(/does not publish port 9 on its host \(it publishes 8080→32768\)\.$/);
  });

  it('awsvpc tasks: to the task ENI; LOCAL:HOST:PORT to a host the instance reaches', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'box', privateIp: '10.0.0.4' }, eniIp: '10.0.5.6' });
    const cfg = sshConfig([{ host: 'box', hostName: '10.0.0.4' }]);
    const a = await runEcs(standin, { print: true, sshConfig: cfg, forward: { localPort: 8080, port: 80 } });
    expect(a.action === 'print' && a.targets[0]!.command.args).toContain('127.0.0.1:8080:10.0.5.6:80');
    const rds = 'db.abc.eu-west-1.rds.amazonaws.com';
    const b = await runEcs(standin, { print: true, sshConfig: cfg, forward: { localPort: 15432, host: rds, port: 5432 } });
    expect(b.action === 'print' && b.targets[0]!.command.args).toContain(`127.0.0.1:15432:${rds}:5432`);
  });

  it('over SSM and ECS Exec: the port-forwarding session documents', async () => {
    const w = world();
    w.addService('prod', 'web');
    const t = w.addEc2Task('prod', 'web', { instance: { privateIp: '10.0.0.4', ssm: 'Online' }, containers: [{ name: 'web', ports: [{ containerPort: 80, hostPort: 32769 }] }] });
    const inst = [...w.instances.values()][0]!;
    const { runner, specs } = recordingRunner({ exitCodes: [0, 0, 0] });
    const logs: string[] = [];
    const r = await runEcs(standin, { forward: { localPort: 8080, port: 80 } }, { runner, logs });
    expect(r).toMatchObject({ action: 'forward', local: '127.0.0.1:8080' });
    expect(w.sessions.at(-1)!.input).toEqual({ Target: inst.id, DocumentName: 'AWS-StartPortForwardingSession', Parameters: { portNumber: ['32769'], localPortNumber: ['8080'] } });
    expect(logs.join('\n')).toContain('forwarding 127.0.0.1:8080 → 127.0.0.1:32769');
    await runEcs(standin, { forward: { localPort: 15432, host: 'db.internal', port: 5432 } }, { runner });
    expect(w.sessions.at(-1)!.input).toEqual({ Target: inst.id, DocumentName: 'AWS-StartPortForwardingSessionToRemoteHost', Parameters: { host: ['db.internal'], portNumber: ['5432'], localPortNumber: ['15432'] } });
    t.enableExecuteCommand = true;
    await runEcs(standin, { forward: { localPort: 8080, port: 80 } }, { runner });
    expect(w.sessions.at(-1)!.input).toEqual({ Target: `ecs:prod_${t.id}_${t.containers[0]!.runtimeId}`, DocumentName: 'AWS-StartPortForwardingSession', Parameters: { portNumber: ['80'], localPortNumber: ['8080'] } });
    expect(specs.every((s) => s.file === 'session-manager-plugin' && JSON.parse(s.args[4]!).DocumentName)).toBe(true);
  });
});

describe('repeat connects', () => {
  it('the second connect costs one DescribeTasks; a moved task falls back to the full lookup', async () => {
    const w = world();
    w.addService('prod', 'web');
    const t = w.addEc2Task('prod', 'web', { instance: { nameTag: 'box', privateIp: '10.0.0.4' } });
    const cfg = sshConfig([{ host: 'box', hostName: '10.0.0.4', user: 'ec2-user' }]);
    const cacheFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'ecs-cache-')), 'opsctl', 'ecs-ssh.json');
    const { runner, specs } = recordingRunner();
    await runEcs(standin, { cache: true, sshConfig: cfg, command: ['true'] }, { runner, cacheFile });
    expect(w.count()).toBe(4);
    expect(statSync(cacheFile).mode & 0o777).toBe(0o600);
    w.resetCalls();
    const verbose: string[] = [];
    await runEcs(standin, { cache: true, sshConfig: cfg, command: ['true'] }, { runner, cacheFile, verbose });
    expect(w.counts()).toEqual({ DescribeTasks: 1 });
    expect(specs[1]!.args).toEqual(specs[0]!.args);
    expect(verbose.join('\n')).toMatch(new RegExp(`repeat connect: task ${t.id} still runs on i-`));

    // the task stopped: the full chain again, and the new task is remembered
    t.lastStatus = 'STOPPED';
    t.desiredStatus = 'STOPPED';
    const t2 = w.addEc2Task('prod', 'web', { instance: [...w.instances.values()][0] });
    w.resetCalls();
    const r = await runEcs(standin, { cache: true, sshConfig: cfg, print: true }, { runner, cacheFile });
    expect(r.action === 'print' && r.targets[0]!.task.id).toBe(t2.id);
    expect(w.counts()).toEqual({ DescribeTasks: 2, ListTasks: 1, DescribeContainerInstances: 1, DescribeInstances: 1 });
    expect(JSON.parse(readFileSync(cacheFile, 'utf8')).entries[JSON.stringify(['prod', 'web'])].taskArn).toBe(t2.arn);
    // a damaged cache is an empty cache
    writeFileSync(cacheFile, '{not json');
    w.resetCalls();
    await runEcs(standin, { cache: true, sshConfig: cfg, print: true }, { runner, cacheFile });
    expect(w.count()).toBe(4);
  });
  it('a repeat connect asks ssh -G about the Name tag and the host chosen last time only', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'box', privateIp: '10.0.0.4' } });
    w.addService('prod', 'api');
    w.addEc2Task('prod', 'api', { instance: { nameTag: 'unlisted', privateIp: '10.0.0.5' } });
    const cfg = sshConfig([{ host: 'box', hostName: '10.0.0.4', user: 'ec2-user' }]);
    const cacheFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'ecs-cache-')), 'opsctl', 'ecs-ssh.json');
    const { runner: inner, specs } = recordingRunner();
    const asked: string[] = [];
    const runner = { ...inner, run: (spec: Parameters<typeof inner.run>[0]) => (spec.args.includes('-G') && asked.push(spec.args.at(-1)!), inner.run(spec)) };
    const connect = async (service: string) => {
      asked.length = 0;
      await runEcs(standin, { service, cache: true, sshConfig: cfg, command: ['true'] }, { runner, cacheFile });
      return { asked: [...asked].sort(), host: specs.at(-1)!.args.at(specs.at(-1)!.args.indexOf('--') + 1) };
    };
    // the Name tag resolved to the instance: the repeat asks about it alone (no fork for the IP)
    const first = await connect('web');
    w.resetCalls();
    const repeat = await connect('web');
    expect(w.counts()).toEqual({ DescribeTasks: 1 });
    expect(repeat).toEqual({ asked: ['box'], host: first.host });
    expect(first.host).toBe('box');
    // no config entry for the Name tag: the IP was used; the repeat decides the same way (the Name tag,
    // the config's aliases, then the IP), so all of them are asked again
    const ipFirst = await connect('api');
    expect(ipFirst.host).toBe('10.0.0.5');
    expect(await connect('api')).toEqual({ asked: ['10.0.0.5', 'box', 'unlisted'], host: '10.0.0.5' });
  });
});

describe('hygiene', () => {
  it('a crash-looping service shows the latest stopped task and why it stopped', async () => {
    const w = world();
    w.addService('prod', 'web', { desiredCount: 1 });
    w.addEc2Task('prod', 'web', { lastStatus: 'STOPPED', stoppedReason: 'Essential container in task exited', stoppedAt: new Date('2026-11-23T10:00:00Z'), containers: [{ name: 'web', exitCode: 137, reason: 'OutOfMemoryError: Container killed due to memory usage' }] });
    const latest = w.addEc2Task('prod', 'web', { lastStatus: 'STOPPED', stoppedReason: 'Essential container in task exited', stoppedAt: new Date('2026-11-23T10:05:00Z'), containers: [{ name: 'web', exitCode: 1 }] });
    const e = await failure(runEcs(standin, {}));
    expect(e.message).toBe('Service web in cluster prod has no running tasks (desired 1, pending 0).');
    expect(e.hint).toBe(`latest stopped task ${latest.id} (2026-11-23T10:05:00.000Z): Essential container in task exited; web: exit 1`);
  });

  it('error lists show at most 20 candidates and the count', async () => {
    const w = world();
    w.addService('prod', 'web');
    for (let i = 0; i < 250; i++) w.addEc2Task('prod', 'web', { instance: { nameTag: 'n' } });
    const e = await failure(runEcs(standin, { print: true }));
    expect(e.message.length).toBeLessThan(2000);
    expect(e.message).toMatch(/, … \(250 in all\)$/);
    expect(e.message.match(/\b[0-9a-f]{32}\b/g)).toHaveLength(20);
  });

  it('a Name tag with escape sequences never reaches the terminal raw', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'evil\u001b]0;pwned\u0007\u001b[2J', privateIp: '10.0.0.4' } });
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'ok', privateIp: '10.0.0.5' } });
    const e = await failure(runEcs(standin, { print: true }));
    expect(e.message).not.toMatch(/[\u0000-\u001f]/);
    // alone: the IP fallback's error and reasons carry the tag escaped
    w.tasks.pop();
    const r = await runEcs(standin, { print: true, public: true }).catch((err: OpsError) => err);
    expect(r).toBeInstanceOf(OpsError);
    expect((r as OpsError).message).toContain('Name tag "evil\\x1b]0;pwned\\x07\\x1b[2J"');
    expect(`${(r as OpsError).message}${(r as OpsError).hint}`).not.toMatch(/[\u0000-\u001f]/);
    const p = await runEcs(standin, { print: true });
    expect(p.action === 'print' && p.targets[0]!.reasons.join('\n')).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  it('sidecars: the container named like the service, else the only essential one, printed', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { privateIp: '10.0.0.4' }, containers: [{ name: 'envoy' }, { name: 'web' }, { name: 'datadog' }] });
    const logs: string[] = [];
    const r = await runEcs(standin, { print: true }, { logs });
    expect(r.action === 'print' && r.targets[0]!.container.name).toBe('web');
    expect(logs).toContain('container web (named like the service; also in the task: envoy, datadog; --container to choose)');
    const w2 = world();
    w2.addService('prod', 'web');
    w2.addEc2Task('prod', 'web', { instance: { privateIp: '10.0.0.4' }, containers: [{ name: 'envoy', essential: false }, { name: 'app' }] });
    const r2 = await runEcs(standin, { print: true }, { logs });
    expect(r2.action === 'print' && r2.targets[0]!.container.name).toBe('app');
    expect(w2.count('DescribeTaskDefinition')).toBe(1);
  });

  it('5xx after retries: one line naming the call, with a hint', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.fail('ListTasks', { code: 'ServerException', message: 'Service Unavailable', status: 503 });
    const e = await failure(runEcs(standin, {}));
    expect(e.message).toBe('AWS answered ecs:ListTasks with HTTP 503 (ServerException) even after retries: Service Unavailable.');
    expect(e.code).toBe('aws-server-error');
    expect(e.hint).toMatch(/try again in a minute/);
  });
});
