import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/commands/ecs-ssh/run.js';
import { remoteCommandLine } from '../../src/lib/ssh.js';
import { OpsError } from '../../src/lib/errors.js';
import { createEcsApi } from '../../src/commands/ecs-ssh/aws.js';
import { freePort } from '../support/ports.js';
import { FakeAws, startEcsStandin, type EcsStandin } from '../support/ecs-standin.js';
import { deps, HOSTILE, options, recordingRunner, runEcs, shellSplit, sshConfig, ttyPrompter } from './helpers.js';

// run() against the ECS/EC2 stand-in, through the real SDK clients.
let standin: EcsStandin;
const saved = { ...process.env };

beforeAll(async () => {
  standin = await startEcsStandin();
  Object.assign(process.env, standin.env);
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
});
afterAll(async () => {
  process.env = saved;
  await standin?.stop();
});

/** Fresh world per test (the server keeps the FakeAws it was started with). */
function world(): FakeAws {
  const w = standin.aws;
  w.clusters.clear();
  w.services = [];
  w.tasks = [];
  w.containerInstances.clear();
  w.instances.clear();
  w.calls = [];
  w.latencyMs = 0;
  w.clearFaults();
  return w;
}

/** An ssh config naming each instance by its Name tag, HostName its private IP, User set. */
const aliasesFor = (w: FakeAws) => sshConfig([...w.instances.values()].filter((i) => i.nameTag).map((i) => ({ host: i.nameTag!, hostName: i.privateIp, user: 'ec2-user' })));
const CT = ['-o', 'ConnectTimeout=10'];

async function failure(p: Promise<unknown>): Promise<OpsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected an OpsError').toBeInstanceOf(OpsError);
  return err as OpsError;
}

describe('one task on EC2', () => {
  it('costs exactly 4 AWS calls and sshes to the Name tag when OpenSSH resolves it to this instance', async () => {
    const w = world();
    w.addService('prod', 'web');
    const t = w.addEc2Task('prod', 'web', { instance: { nameTag: 'ecs-prod-1', privateIp: '10.0.7.7' } });
    const cfg = sshConfig([{ host: 'ecs-prod-1', hostName: '10.0.7.7', user: 'ec2-user' }]);
    const { runner, specs } = recordingRunner({ exitCodes: [7] });
    const r = await runEcs(standin, { command: ['rails', 'console'], sshConfig: cfg }, { runner });
    expect(w.counts()).toEqual({ ListTasks: 1, DescribeTasks: 1, DescribeContainerInstances: 1, DescribeInstances: 1 });
    expect(r).toMatchObject({ action: 'exec', exitCode: 7 });
    expect(specs).toHaveLength(1);
    expect(specs[0]!.file).toBe('ssh');
    expect(specs[0]!.args).toEqual(['-F', cfg, '-T', ...CT, '--', 'ecs-prod-1', `docker exec -i ${t.containers[0]!.runtimeId} rails console`]);
    expect(specs[0]!.stdio).toBe('inherit');
  });

  it('a TTY (ssh -t, docker exec -it) only when stdin and stdout are terminals; -t / -T override', async () => {
    const w = world();
    w.addService('prod', 'web');
    const t = w.addEc2Task('prod', 'web', { instance: { nameTag: 'n1' } });
    const id = t.containers[0]!.runtimeId!;
    const { runner, specs } = recordingRunner();
    await runEcs(standin, {}, { runner, tty: true });
    expect(specs[0]!.args).toContain('-t');
    expect(shellSplit(specs[0]!.args.at(-1)!)).toEqual(['docker', 'exec', '-it', id, 'sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi']);
    // stdout piped (`-- cat f > local`): no TTY, so no CRLF in the file
    await runEcs(standin, { command: ['cat', 'f'] }, { runner, tty: true, stdoutTty: false });
    expect(specs[1]!.args).toContain('-T');
    expect(shellSplit(specs[1]!.args.at(-1)!).slice(0, 3)).toEqual(['docker', 'exec', '-i']);
    await runEcs(standin, { command: ['top'], tty: true }, { runner, tty: false });
    expect(specs[2]!.args).toContain('-t');
    await runEcs(standin, { tty: false }, { runner, tty: true });
    expect(specs[3]!.args).toContain('-T');
  });

  it('passes -F, then -o ConnectTimeout unless set, --ssh-option as -o and --user as -l, before "--"', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'box', privateIp: '10.0.0.5' } });
    const cfg = sshConfig([{ host: 'box', hostName: '10.0.0.5' }]);
    const { runner, specs } = recordingRunner();
    await runEcs(standin, { sshConfig: cfg, sshOptions: ['ServerAliveInterval=5', 'ProxyJump bastion'], user: 'admin', command: ['true'] }, { runner });
    expect(specs[0]!.args.slice(0, 13)).toEqual(['-F', cfg, '-T', ...CT, '-o', 'ServerAliveInterval=5', '-o', 'ProxyJump bastion', '-l', 'admin', '--', 'box']);
    // the user's own ConnectTimeout (flag or config) wins: ours is left out
    await runEcs(standin, { sshConfig: cfg, sshOptions: ['ConnectTimeout=3'], command: ['true'] }, { runner });
    expect(specs[1]!.args.filter((a) => a.startsWith('ConnectTimeout'))).toEqual(['ConnectTimeout=3']);
    const own = sshConfig([{ host: 'box', hostName: '10.0.0.5', user: 'ops', extra: ['ConnectTimeout 4'] }]);
    await runEcs(standin, { sshConfig: own, command: ['true'] }, { runner });
    expect(specs[2]!.args).toEqual(['-F', own, '-T', '--', 'box', expect.any(String)]);
  });

  it('quotes hostile arguments so the container receives exactly the argv typed', async () => {
    const w = world();
    w.addService('prod', 'web');
    const t = w.addEc2Task('prod', 'web', { instance: { nameTag: 'n1' } });
    const { runner, specs } = recordingRunner();
    const command = ['sh', '-c', 'echo "$HOME"; ls "a b"', ...HOSTILE];
    await runEcs(standin, { command }, { runner });
    expect(shellSplit(specs[0]!.args.at(-1)!)).toEqual(['docker', 'exec', '-i', t.containers[0]!.runtimeId!, ...command]);
    expect(shellSplit(remoteCommandLine(HOSTILE))).toEqual(HOSTILE);
    // zsh would expand a bare =word to a path: those are quoted too
    expect(remoteCommandLine(['=ls', 'a=b'])).toBe("'=ls' a=b");
  });
});

describe('ssh host resolution', () => {
  it('an alias whose resolved HostName is the private IP, when the Name tag resolves to nothing of this instance', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'unaliased', privateIp: '10.1.2.3' } });
    const cfg = sshConfig([{ host: 'other', hostName: '10.9.9.9' }, { host: 'web-a web-b', hostName: '10.1.2.3', user: 'ops' }]);
    const { runner, specs } = recordingRunner();
    const r = await runEcs(standin, { print: true, sshConfig: cfg }, { runner });
    expect(specs).toHaveLength(0);
    expect(r.action === 'print' && r.targets[0]!.ssh).toEqual({ host: 'web-a', source: 'hostname-alias', user: undefined, configFile: cfg, hostname: '10.1.2.3', port: 22, proxyJump: undefined });
  });

  it('falls back to the private IP, with -l ec2-user only when the config sets no user (or --public IP)', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { privateIp: '10.1.2.3', publicIp: '54.1.2.3' } });
    const logs: string[] = [];
    const r = await runEcs(standin, { print: true }, { logs });
    expect(r.action === 'print' && r.targets[0]!.command.args.slice(2)).toEqual(['-T', ...CT, '-l', 'ec2-user', '--', '10.1.2.3', expect.stringMatching(/^docker exec -i /)]);
    expect(r.action === 'print' && r.targets[0]!.reasons.at(-1)).toMatch(/^ssh: private IP of i-[0-9a-f]+ \(no Name tag\)$/);
    // a config that sets User for the address keeps its own user
    const cfg = sshConfig([{ host: '10.1.*', user: 'admin' }]);
    const own = await runEcs(standin, { print: true, sshConfig: cfg });
    expect(own.action === 'print' && own.targets[0]!.command.args).not.toContain('-l');
    expect(own.action === 'print' && own.targets[0]!.ssh!.user).toBeUndefined();
    const p = await runEcs(standin, { print: true, public: true, fallbackUser: 'ubuntu' });
    expect(p.action === 'print' && p.targets[0]!.ssh).toMatchObject({ host: '54.1.2.3', source: 'public-ip', user: 'ubuntu' });
  });

  it('no Name tag alias, no HostName alias and no IP to fall back to: a clear error', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'ecs-9', privateIp: '10.1.2.3' } });
    const inst = [...w.instances.values()][0]!;
    const e = await failure(runEcs(standin, { public: true }));
    expect(e.message).toBe(`Instance ${inst.id}: no ssh config entry resolves its Name tag "ecs-9" to it, no Host in your ssh config has one of its addresses as HostName, and it has no public IP to fall back to.`);
    expect(e.hint).toMatch(/drop --public/);
    expect(e.exitCode).toBe(1);
  });
});

describe('cluster resolution', () => {
  it('uses the only cluster of the account', async () => {
    const w = world();
    w.addService('solo', 'web');
    w.addEc2Task('solo', 'web', { instance: { nameTag: 'x' } });
    const r = await runEcs(standin, { cluster: undefined, print: true });
    expect(r.action === 'print' && r.targets[0]!.cluster).toBe('solo');
    expect(w.count('ListClusters')).toBe(1);
  });

  it('among several clusters, the one running the service; a picker (TTY) or a listing error when several do', async () => {
    const w = world();
    w.addCluster('empty');
    w.addService('staging', 'web');
    w.addService('prod', 'api');
    w.addEc2Task('staging', 'web', { instance: { nameTag: 's1' } });
    const r = await runEcs(standin, { cluster: undefined, print: true });
    expect(r.action === 'print' && r.targets[0]!.cluster).toBe('staging');

    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'p1' } });
    const e = await failure(runEcs(standin, { cluster: undefined, print: true }));
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/Service web runs in 2 clusters.*Candidates: (staging, prod|prod, staging)/);
    expect(e.hint).toBe('pass --cluster NAME to choose');

    const { prompt, asked } = ttyPrompter((labels) => labels.indexOf('prod'));
    const p = await runEcs(standin, { cluster: undefined, print: true }, { prompt });
    expect(asked[0]!.labels.sort()).toEqual(['prod', 'staging']);
    expect(p.action === 'print' && p.targets[0]!.cluster).toBe('prod');
  });

  it('a service no cluster runs, and --list among several clusters without --cluster', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addService('staging', 'webb');
    const e = await failure(runEcs(standin, { cluster: undefined, service: 'wbe' }));
    expect(e.message).toBe('Unknown ECS service "wbe" in any of the 2 clusters (prod, staging).');
    expect(e.hint).toBe('did you mean web, webb?');
    const l = await failure(runEcs(standin, { cluster: undefined, service: undefined, list: true }));
    expect(l.message).toBe('This account has 2 clusters. Which one? — cannot ask: standard input is not a terminal. Candidates: prod, staging');
  });

  it('unknown cluster: suggests close names (exit 2)', async () => {
    const w = world();
    w.addService('production', 'web');
    w.addCluster('staging');
    const e = await failure(runEcs(standin, { cluster: 'prodution' }));
    expect(e.message).toBe('Unknown ECS cluster "prodution".');
    expect(e.hint).toBe('did you mean production?');
    expect(e.exitCode).toBe(2);
  });
});

describe('service and task errors', () => {
  it('unknown service: suggests close matches', async () => {
    const w = world();
    w.addService('prod', 'web-frontend');
    w.addService('prod', 'worker');
    w.addService('prod', 'billing');
    const e = await failure(runEcs(standin, { service: 'web-fronted' }));
    expect(e.message).toBe('Unknown ECS service "web-fronted" in cluster prod.');
    expect(e.hint).toBe('did you mean web-frontend?');
    expect(e.exitCode).toBe(2);
  });

  it('no running tasks: shows the service\'s latest event (why tasks cannot be placed)', async () => {
    const w = world();
    w.addService('prod', 'web', {
      desiredCount: 2,
      events: [
        { id: 'e2', createdAt: new Date('2026-11-23T10:00:00Z'), message: "(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 5c1f) has insufficient memory available." },
        { id: 'e1', createdAt: new Date('2026-11-23T09:00:00Z'), message: '(service web) has reached a steady state.' },
      ],
    });
    const e = await failure(runEcs(standin, {}));
    expect(e.message).toBe('Service web in cluster prod has no running tasks (desired 2, pending 0).');
    expect(e.hint).toBe('latest service event (2026-11-23T10:00:00.000Z): (service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance 5c1f) has insufficient memory available.');
    expect(e.exitCode).toBe(1);
  });

  it('stopped and pending tasks are refused with what they are doing', async () => {
    const w = world();
    w.addService('prod', 'web');
    const stopped = w.addEc2Task('prod', 'web', { lastStatus: 'STOPPED', stoppedReason: 'Essential container in task exited' });
    const e = await failure(runEcs(standin, { task: stopped.id }));
    expect(e.message).toBe(`Task ${stopped.id} is STOPPED: Essential container in task exited.`);
    expect(e.hint).toMatch(/--list/);

    w.addEc2Task('prod', 'web', { lastStatus: 'PENDING' });
    const p = await failure(runEcs(standin, {}));
    expect(p.message).toMatch(/^Task [0-9a-f]+ is still PENDING; its containers are not running yet\.$/);
    expect(p.hint).toBe('wait a few seconds and try again');
  });

  it('--task that does not exist or belongs to another service', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addService('prod', 'api');
    const api = w.addEc2Task('prod', 'api');
    expect((await failure(runEcs(standin, { task: 'deadbeef'.repeat(4) }))).message).toBe(`Task ${'deadbeef'.repeat(4)} was not found in cluster prod.`);
    const e = await failure(runEcs(standin, { task: api.arn }));
    expect(e.message).toBe(`Task ${api.id} belongs to service api, not web.`);
    expect(e.exitCode).toBe(2);
  });

  it('instance gone: terminated, or unknown to EC2', async () => {
    const w = world();
    w.addService('prod', 'web');
    const t = w.addEc2Task('prod', 'web', { instance: { nameTag: 'old', state: 'terminated' } });
    const inst = [...w.instances.values()][0]!;
    let e = await failure(runEcs(standin, {}));
    expect(e.message).toBe(`The EC2 instance ${inst.id} that ran task ${t.id} is gone (terminated).`);
    expect(e.code).toBe('instance-gone');
    w.instances.delete(inst.id);
    e = await failure(runEcs(standin, {}));
    expect(e.message).toBe(`The EC2 instance ${inst.id} that ran task ${t.id} is gone.`);
  });
});

describe('several tasks, several containers', () => {
  it('several tasks: an error listing them without a TTY, a picker with id/AZ/host/start/revision on one, --task picks', async () => {
    const w = world();
    w.addService('prod', 'web');
    const a = w.addEc2Task('prod', 'web', { instance: { nameTag: 'host-a', az: 'eu-west-1a' }, revision: 41 });
    const b = w.addEc2Task('prod', 'web', { instance: { nameTag: 'host-b', az: 'eu-west-1b' }, revision: 42 });
    const e = await failure(runEcs(standin, { print: true }));
    const [ia, ib] = [...w.instances.values()];
    expect(e.message).toBe(`Service web has 2 running tasks. Which one? — cannot ask: standard input is not a terminal. Candidates: ${a.id} (eu-west-1a, ${ia!.id} ${ia!.privateIp}), ${b.id} (eu-west-1b, ${ib!.id} ${ib!.privateIp})`);
    expect(e.hint).toBe('pass --task ID (or --all -- COMMAND) to choose');

    const { prompt, asked } = ttyPrompter(() => 1);
    const r = await runEcs(standin, { print: true }, { prompt });
    expect(asked[0]!.labels).toEqual([`${a.id}  eu-west-1a  host-a ${ia!.id} ${ia!.privateIp}  started 2026-11-23T09:00:00.000Z  rev 41`, `${b.id}  eu-west-1b  host-b ${ib!.id} ${ib!.privateIp}  started 2026-11-23T09:00:01.000Z  rev 42`]);
    expect(r.action === 'print' && r.targets[0]!.task.id).toBe(b.id);

    w.resetCalls();
    w.resetCalls();
    const byId = await runEcs(standin, { print: true, task: a.id, sshConfig: aliasesFor(w) });
    expect(byId.action === 'print' && byId.targets[0]!.ssh!.host).toBe('host-a');
    expect(w.counts()).toEqual({ DescribeTasks: 1, DescribeContainerInstances: 1, DescribeInstances: 1 });
    // an id prefix: among the service's running tasks
    w.resetCalls();
    const byPrefix = await runEcs(standin, { print: true, task: b.id.slice(0, 6), sshConfig: aliasesFor(w) });
    expect(byPrefix.action === 'print' && byPrefix.targets[0]!.task.id).toBe(b.id);
    expect(w.counts()).toEqual({ ListTasks: 1, DescribeTasks: 1, DescribeContainerInstances: 1, DescribeInstances: 1 });
    const none = await failure(runEcs(standin, { print: true, task: 'zzz' }));
    expect(none.message).toBe('No running task of service web in cluster prod has an id starting with "zzz".');
  });

  it('several containers: --container, a picker, or an error listing names', async () => {
    const w = world();
    w.addService('prod', 'web');
    const t = w.addEc2Task('prod', 'web', { instance: { nameTag: 'h' }, containers: [{ name: 'app' }, { name: 'nginx' }, { name: 'log-router', lastStatus: 'STOPPED' }] });
    const e = await failure(runEcs(standin, {}));
    expect(e.message).toMatch(/Task [0-9a-f]+ has 2 containers\. Which one\? .* Candidates: app, nginx$/);
    expect(e.hint).toBe('pass --container NAME to choose');
    const r = await runEcs(standin, { container: 'nginx', print: true });
    expect(r.action === 'print' && r.targets[0]!.container.runtimeId).toBe(t.containers[1]!.runtimeId);
    const bad = await failure(runEcs(standin, { container: 'db' }));
    expect(bad.message).toBe(`Task ${t.id} has no container named "db".`);
    expect(bad.hint).toBe('its containers: app, nginx, log-router');
  });

  it('--all runs the command on every task in turn and reports each exit code', async () => {
    const w = world();
    w.addService('prod', 'web');
    const tasks = [1, 2, 3].map((n) => w.addEc2Task('prod', 'web', { instance: { nameTag: `h${n}` } }));
    const { runner, specs } = recordingRunner({ exitCodes: [0, 3, 0] });
    const cfg = aliasesFor(w);
    const r = await runEcs(standin, { all: true, command: ['df', '-h', '/'], sshConfig: cfg }, { runner, tty: true, capture: true });
    expect(r.action).toBe('all');
    if (r.action !== 'all') return;
    expect(r.results.map((x) => [x.target.task.id, x.exitCode])).toEqual(tasks.map((t, i) => [t.id, [0, 3, 0][i]]));
    expect(r.exitCode).toBe(1);
    // in turn, stdin from /dev/null, never a TTY, output captured for --json
    expect(specs.map((s) => s.args.slice(0, 8))).toEqual(['h1', 'h2', 'h3'].map((h) => ['-F', cfg, '-T', '-n', ...CT, '--', h]));
    expect(specs.every((s) => s.stdio === 'pipe')).toBe(true);
  });
});

describe('--list', () => {
  it('250 tasks on 120 instances: ⌈N/100⌉ calls per describe API and one DescribeInstances', async () => {
    const w = world();
    w.addService('big', 'web');
    const hosts = Array.from({ length: 120 }, (_, i) => w.addInstance({ nameTag: `node-${i}` }));
    for (let i = 0; i < 250; i++) w.addEc2Task('big', 'web', { instance: hosts[i % 120] });
    const r = await runEcs(standin, { cluster: 'big', service: undefined, list: true });
    expect(r.action === 'list' && r.tasks).toHaveLength(250);
    expect(w.counts()).toEqual({ ListTasks: 3, DescribeTasks: 3, DescribeContainerInstances: 2, DescribeInstances: 1 });
    if (r.action === 'list') expect(r.tasks.every((t) => t.instance?.nameTag?.startsWith('node-'))).toBe(true);
  });

  it('a vanished instance does not sink the listing', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'alive' } });
    const gone = w.addEc2Task('prod', 'web', { instance: { nameTag: 'gone' } });
    const goneId = [...w.instances.values()].find((i) => i.nameTag === 'gone')!.id;
    w.instances.delete(goneId);
    const r = await runEcs(standin, { list: true });
    if (r.action !== 'list') throw new Error('expected a list');
    expect(r.tasks.find((t) => t.id === gone.id)!.instance).toEqual({ id: goneId, gone: true });
    expect(r.tasks.find((t) => t.id !== gone.id)!.instance!.nameTag).toBe('alive');
  });
});

describe('Fargate', () => {
  it('without ECS Exec: says there is no host and how to enable it', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addFargateTask('prod', 'web');
    const e = await failure(runEcs(standin, {}));
    expect(e.message).toMatch(/^Task [0-9a-f]+ runs on FARGATE and has no container instance to ssh to, and ECS Exec is not enabled for it\.$/);
    expect(e.code).toBe('fargate-no-exec');
    expect(e.hint).toContain('aws ecs update-service --cluster prod --service web --enable-execute-command --force-new-deployment');
  });

  it('ECS Exec enabled but no session-manager-plugin: says exactly what is missing', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addFargateTask('prod', 'web', { enableExecuteCommand: true });
    const { runner } = recordingRunner({ missing: ['session-manager-plugin'] });
    const e = await failure(runEcs(standin, {}, { runner }));
    expect(e.message).toMatch(/ECS Exec is enabled but session-manager-plugin is not on PATH\.$/);
    expect(e.code).toBe('missing-session-manager-plugin');
  });

  it('falls back to ExecuteCommand + session-manager-plugin, as the AWS CLI does', async () => {
    const w = world();
    w.addService('prod', 'web');
    const t = w.addFargateTask('prod', 'web', { enableExecuteCommand: true });
    const { runner, specs } = recordingRunner({ exitCodes: [0] });
    const r = await runEcs(standin, { command: ['ls', 'a b'] }, { runner });
    expect(r).toMatchObject({ action: 'exec', exitCode: 0, exitCodeRecovered: false, target: { via: 'exec' } });
    expect(w.counts()).toEqual({ ListTasks: 1, DescribeTasks: 1, ExecuteCommand: 1 });
    const exec = w.calls.find((c) => c.op === 'ExecuteCommand')!.input;
    expect(exec).toEqual({ cluster: 'prod', task: t.arn, container: 'web', command: "ls 'a b'", interactive: true });
    const [session, region, verb, profile, target, endpoint] = specs[0]!.args;
    expect(specs[0]!.file).toBe('session-manager-plugin');
    expect(Object.keys(JSON.parse(session!))).toEqual(['sessionId', 'streamUrl', 'tokenValue']);
    expect([region, verb, profile]).toEqual(['eu-west-1', 'StartSession', '']);
    expect(JSON.parse(target!)).toEqual({ Target: `ecs:prod_${t.id}_${t.containers[0]!.runtimeId}` });
    expect(endpoint).toBe(standin.url);
  });
});

describe('Fargate: ExecuteCommand refused', () => {
  it('an agent that is not connected is one line with a hint, and no plugin runs', async () => {
    const w = world();
    w.addService('prod', 'web');
    const t = w.addFargateTask('prod', 'web', { enableExecuteCommand: true });
    w.fail('ExecuteCommand', { code: 'TargetNotConnectedException', message: 'The execute command failed due to an internal error. Try again later.' });
    const { runner, specs } = recordingRunner();
    const e = await failure(runEcs(standin, {}, { runner }));
    expect(e.message).toBe(`ECS Exec refused task ${t.id}: The execute command failed due to an internal error. Try again later.`);
    expect(e.code).toBe('ecs-exec-refused');
    expect(e.hint).toMatch(/enableExecuteCommand/);
    expect(specs).toHaveLength(0);
  });
});

describe('hostile names never reach a shell unquoted', () => {
  it('service, container and Name tag with quotes, $(), ; and newlines', async () => {
    const w = world();
    const service = `web $(touch x); echo 'hi'`;
    const container = `app"; rm -rf ~ #\n`;
    w.addService('prod', service);
    w.addEc2Task('prod', service, { instance: { nameTag: "host`id`; ls", privateIp: '10.0.0.8' }, containers: [{ name: container }] });
    const r = await runEcs(standin, { service, print: true });
    if (r.action !== 'print') throw new Error('expected print');
    // the Name tag is not an alias: the bare IP is used, and nothing from the API is in the ssh argv but the quoted runtime id
    expect(r.targets[0]!.command.args.slice(2, 9)).toEqual(['-T', ...CT, '-l', 'ec2-user', '--', '10.0.0.8']);
    expect(r.targets[0]!.container.name).toBe(container);

    const f = w.addFargateTask('prod', service, { enableExecuteCommand: true, containers: [{ name: container }] });
    const p = await runEcs(standin, { service, task: f.id, print: true, command: ['ls', 'a b; c'] });
    if (p.action !== 'print') throw new Error('expected print');
    expect(shellSplit(p.targets[0]!.commandLine)).toEqual(['aws', 'ecs', 'execute-command', '--cluster', 'prod', '--task', f.arn, '--container', container, '--interactive', '--command', "ls 'a b; c'"]);
  });
});

describe('hostile values from the AWS API never become ssh or docker flags', () => {
  it('a runtime id that docker would read as a flag is refused', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'h' }, containers: [{ name: 'app', runtimeId: '--privileged' }] });
    const { runner, specs } = recordingRunner();
    const e = await failure(runEcs(standin, { command: ['id'], sshConfig: aliasesFor(w) }, { runner }));
    expect(e.message).toMatch(/^Container app of task [0-9a-f]+ has an unusable Docker id "--privileged"\.$/);
    expect(e.code).toBe('bad-runtime-id');
    expect(e.exitCode).toBe(1);
    expect(specs).toHaveLength(0);
  });

  it('a private IP that is not an IP is never handed to ssh as the destination', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { privateIp: '-oProxyCommand=touch /tmp/pwned' } });
    const { runner, specs } = recordingRunner();
    const e = await failure(runEcs(standin, { command: ['id'] }, { runner }));
    expect(e.code).toBe('no-ssh-host');
    expect(specs).toHaveLength(0);
  });

  it('the ECS Exec hint quotes the names it contains', async () => {
    const w = world();
    const service = "web; touch pwned $(id) 'x'";
    w.addService('prod', service);
    w.addFargateTask('prod', service);
    const e = await failure(runEcs(standin, { service }));
    const pasted = /`(aws ecs update-service [^`]*)`/.exec(e.hint ?? '')![1]!;
    expect(shellSplit(pasted)).toEqual(['aws', 'ecs', 'update-service', '--cluster', 'prod', '--service', service, '--enable-execute-command', '--force-new-deployment']);
  });
});

describe('AWS failures', () => {
  it('AccessDenied names the missing IAM action', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web');
    w.fail('DescribeContainerInstances', { code: 'AccessDeniedException', message: 'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ecs:DescribeContainerInstances on resource: arn:aws:ecs:eu-west-1:123456789012:container-instance/prod/x because no identity-based policy allows the ecs:DescribeContainerInstances action' });
    const e = await failure(runEcs(standin, {}));
    expect(e.message).toBe('Access denied: your identity lacks permission for ecs:DescribeContainerInstances.');
    expect(e.hint).toBe('ask an administrator to allow "ecs:DescribeContainerInstances" for your role or user');
  });

  it('EC2 UnauthorizedOperation names ec2:DescribeInstances', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web');
    w.fail('DescribeInstances', { code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation. Encoded authorization failure message: abc' });
    const e = await failure(runEcs(standin, {}));
    expect(e.message).toBe('Access denied: your identity lacks permission for ec2:DescribeInstances.');
  });

  it('expired credentials', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.fail('ListTasks', { code: 'ExpiredTokenException', message: 'The security token included in the request is expired' });
    const e = await failure(runEcs(standin, {}));
    expect(e.message).toBe('Your AWS credentials have expired.');
    expect(e.code).toBe('aws-expired-credentials');
  });

  it('throttling is retried; persistent throttling is a clear error', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'h' } });
    w.fail('DescribeTasks', { code: 'ThrottlingException', message: 'Rate exceeded', times: 2 });
    const r = await runEcs(standin, { print: true });
    expect(r.action).toBe('print');
    expect(w.count('DescribeTasks')).toBe(3);

    w.fail('ListTasks', { code: 'ThrottlingException', message: 'Rate exceeded' });
    const e = await failure(runEcs(standin, {}));
    expect(e.message).toBe('AWS kept throttling the requests even after retries: Rate exceeded');
    expect(e.code).toBe('aws-throttled');
  });

  it('an endpoint that does not answer is named', async () => {
    const port = await freePort();
    const d = { ...deps(standin), api: createEcsApi({ region: 'eu-west-1', maxAttempts: 1 }, { AWS_ENDPOINT_URL_ECS: `http://127.0.0.1:${port}`, OPSCTL_NO_CODE_CACHE: '1' }) };
    const e = await failure(run(options(), d));
    expect(e.message).toMatch(new RegExp(`^Cannot reach the AWS ECS endpoint http://127.0.0.1:${port} \\(ecs:ListTasks\\): .*ECONNREFUSED`));
    expect(e.code).toBe('aws-unreachable');
  });

  it('ssh not installed', async () => {
    const w = world();
    w.addService('prod', 'web');
    w.addEc2Task('prod', 'web', { instance: { nameTag: 'h' } });
    const { runner } = recordingRunner({ missing: ['ssh'] });
    const e = await failure(runEcs(standin, {}, { runner }));
    expect(e.message).toBe('ssh (the OpenSSH client) is not installed or not on PATH.');
    expect(e.exitCode).toBe(1);
    // OpenSSH decides the host, so --print needs it too
    expect((await failure(runEcs(standin, { print: true }, { runner }))).code).toBe('missing-ssh');
  });
});
