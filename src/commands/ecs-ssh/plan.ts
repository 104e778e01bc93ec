import { OpsError } from '../../lib/errors.js';
import { formatCommand, type CommandSpec } from '../../lib/process.js';
import { DEFAULT_CONNECT_TIMEOUT, remoteCommandLine, sshCommand } from '../../lib/ssh.js';
import { escapeLine } from '../../lib/terminal.js';
import type { EcsSshOptions, ForwardSpec } from './options.js';
import { dockerExecArgv, hostDockerLine, SHELL_PROBE } from './command.js';
import { chooseRoute, type Route, type RouteDeps } from './route.js';
import type { HostSource } from './ssh-hosts.js';
import { lastSegment, type ContainerView, type TaskView } from './tasks.js';
import { requireRuntimeId } from './target.js';

/** An SSM session to open: ECS Exec (ExecuteCommand) or StartSession with a document. */
export interface SessionPlan {
  kind: 'ecs-exec' | 'start-session';
  /** i-… for the container instance, ecs:CLUSTER_TASK_RUNTIMEID for a container. */
  target: string;
  document?: string;
  parameters?: Record<string, string[]>;
  /** ECS Exec: the command line run in the container. */
  command?: string;
}

export interface ForwardPlan {
  /** 127.0.0.1:LOCAL */
  local: string;
  /** Where the far side connects: HOST:PORT as seen from the instance or task. */
  destination: string;
  what: string;
}

/** One resolved destination and the exact local command that reaches it. */
export interface Target {
  cluster: string;
  service?: string;
  task: TaskView;
  container: ContainerView;
  via: Route;
  /** Why this route (and why not the others). */
  reasons: string[];
  ssh?: { host: string; source: HostSource; user?: string; configFile?: string; hostname: string; port: number; proxyJump?: string };
  session?: SessionPlan;
  forward?: ForwardPlan;
  /** The argv run in the container (empty with --forward). */
  containerCommand: string[];
  /** ssh: the command to run. SSM/ECS Exec: the AWS CLI equivalent (the session itself needs an API call first). */
  command: CommandSpec;
  commandLine: string;
  /** Whether the remote command's exit code comes back (ssh: yes; session-manager-plugin exits 0 whatever ran). */
  exitCodeRecovered: boolean;
  ssmManaged?: boolean;
  sharedNameTag?: boolean;
}

export interface PlanIO {
  tty: boolean;
  /** stdin from /dev/null (every task in turn with --all). */
  noStdin?: boolean;
  sharedNameTag?: boolean;
  /** SSM verdict remembered from the cache. */
  ssmManaged?: boolean;
}

/** Decide how to reach one container and build the command that does it. */
export async function planTarget(o: EcsSshOptions, deps: RouteDeps, cluster: string, task: TaskView, container: ContainerView, io: PlanIO): Promise<Target> {
  const containerCommand = o.forward ? [] : o.command.length > 0 ? o.command : ['sh', '-c', SHELL_PROBE];
  const service = o.service ?? task.service;
  const route = await chooseRoute(o.via, deps, {
    cluster,
    service,
    task,
    container,
    ssmManaged: io.ssmManaged,
    choose: { public: o.public, fallbackUser: o.fallbackUser, user: o.user, sharedNameTag: io.sharedNameTag },
  });
  const base = { cluster, service, task, container, containerCommand, reasons: route.reasons, ssmManaged: route.ssmManaged, sharedNameTag: io.sharedNameTag };

  if (route.via === 'exec') {
    const target = `ecs:${lastSegment(cluster)}_${task.id}_${container.runtimeId ?? ''}`;
    if (o.forward) {
      const f = o.forward;
      const session: SessionPlan = f.host
        ? { kind: 'start-session', target, document: 'AWS-StartPortForwardingSessionToRemoteHost', parameters: { host: [f.host], portNumber: [String(f.port)], localPortNumber: [String(f.localPort)] } }
        : { kind: 'start-session', target, document: 'AWS-StartPortForwardingSession', parameters: { portNumber: [String(f.port)], localPortNumber: [String(f.localPort)] } };
      return withCli({ ...base, via: 'exec', session, forward: forwardPlan(f, f.host ? `${f.host}:${f.port}` : `port ${f.port} in the task`, f.host ? 'through the task' : `container ${container.name}`), exitCodeRecovered: false });
    }
    const session: SessionPlan = { kind: 'ecs-exec', target, command: remoteCommandLine(containerCommand) };
    return withCli({ ...base, via: 'exec', session, exitCodeRecovered: false });
  }

  const runtimeId = requireRuntimeId(task, container);
  const inst = task.instance!;
  if (route.via === 'ssm') {
    if (o.forward) {
      const dest = forwardDestination(o.forward, task, container);
      const session: SessionPlan =
        dest.host === '127.0.0.1'
          ? { kind: 'start-session', target: inst.id, document: 'AWS-StartPortForwardingSession', parameters: { portNumber: [String(dest.port)], localPortNumber: [String(o.forward.localPort)] } }
          : { kind: 'start-session', target: inst.id, document: 'AWS-StartPortForwardingSessionToRemoteHost', parameters: { host: [dest.host], portNumber: [String(dest.port)], localPortNumber: [String(o.forward.localPort)] } };
      return withCli({ ...base, via: 'ssm', session, forward: forwardPlan(o.forward, `${dest.host}:${dest.port}`, dest.what), exitCodeRecovered: false });
    }
    const session: SessionPlan = { kind: 'start-session', target: inst.id, document: 'AWS-StartInteractiveCommand', parameters: { command: [hostDockerLine(runtimeId, o.command, true)] } };
    return withCli({ ...base, via: 'ssm', session, exitCodeRecovered: false });
  }

  const ssh = route.ssh!;
  const userTimeout = o.sshOptions.some((x) => /^ConnectTimeout[=\s]/i.test(x));
  const connectTimeout = userTimeout || ssh.resolved.connectTimeout !== undefined ? undefined : DEFAULT_CONNECT_TIMEOUT;
  const target = { host: ssh.host, user: ssh.user, configFile: deps.resolver().scan.configFile, options: [...(ssh.proxyJump ? [`ProxyJump=${ssh.proxyJump}`] : []), ...o.sshOptions] };
  let command: CommandSpec;
  let forward: ForwardPlan | undefined;
  if (o.forward) {
    const dest = forwardDestination(o.forward, task, container);
    const host = dest.host.includes(':') ? `[${dest.host}]` : dest.host;
    command = sshCommand(target, { noCommand: true, tty: false, connectTimeout, localForwards: [`127.0.0.1:${o.forward.localPort}:${host}:${dest.port}`], extraOptions: ['ExitOnForwardFailure=yes', 'ServerAliveInterval=30'] });
    forward = forwardPlan(o.forward, `${dest.host}:${dest.port}`, dest.what);
  } else {
    command = sshCommand(target, { tty: io.tty, noStdin: io.noStdin, connectTimeout, remote: dockerExecArgv(runtimeId, o.command, io.tty) });
  }
  command = { ...command, stdio: 'inherit' };
  return {
    ...base,
    via: 'ssh',
    ssh: { host: ssh.host, source: ssh.source, user: ssh.user, configFile: target.configFile, hostname: ssh.resolved.hostname, port: ssh.resolved.port, proxyJump: ssh.proxyJump ?? ssh.resolved.proxyJump },
    forward,
    command,
    commandLine: formatCommand(command),
    exitCodeRecovered: true,
  };
}

function forwardPlan(f: ForwardSpec, destination: string, what: string): ForwardPlan {
  return { local: `127.0.0.1:${f.localPort}`, destination, what };
}

/**
 * Where a container port is, seen from its EC2 host: the task's ENI address
 * (awsvpc), or the host port Docker published it on (bridge, host).
 */
export function forwardDestination(f: ForwardSpec, task: TaskView, container: ContainerView): { host: string; port: number; what: string } {
  if (f.host) return { host: f.host, port: f.port, what: `${f.host}:${f.port} through the instance of task ${task.id}` };
  if (task.eniIp) return { host: task.eniIp, port: f.port, what: `container ${container.name} port ${f.port} (task ENI ${task.eniIp})` };
  const bound = container.ports?.find((p) => p.containerPort === f.port);
  if (bound) {
    const host = bound.bindIP && bound.bindIP !== '0.0.0.0' && bound.bindIP !== '::' ? bound.bindIP : '127.0.0.1';
    return { host, port: bound.hostPort, what: `container ${container.name} port ${f.port} (published on the host as ${bound.hostPort})` };
  }
  const published = (container.ports ?? []).map((p) => `${p.containerPort}→${p.hostPort}`).join(', ');
  throw new OpsError(`Container ${escapeLine(container.name)} of task ${task.id} does not publish port ${f.port} on its host${published ? ` (it publishes ${published})` : ' (it publishes no ports)'}.`, {
    hint: published ? `forward one of its published container ports, or LOCAL:HOST:PORT to an address the host reaches` : 'add a portMapping to the task definition, or forward LOCAL:HOST:PORT to an address the host reaches',
    code: 'port-not-published',
  });
}

/** What --print shows for an SSM route: the same session through the AWS CLI. */
function withCli(t: Omit<Target, 'command' | 'commandLine'>): Target {
  const s = t.session!;
  const command: CommandSpec =
    s.kind === 'ecs-exec'
      ? { file: 'aws', args: ['ecs', 'execute-command', '--cluster', t.cluster, '--task', t.task.arn, '--container', t.container.name, '--interactive', '--command', s.command!], stdio: 'inherit' }
      : { file: 'aws', args: ['ssm', 'start-session', '--target', s.target, ...(s.document ? ['--document-name', s.document] : []), ...(s.parameters ? ['--parameters', JSON.stringify(s.parameters)] : [])], stdio: 'inherit' };
  return { ...t, command, commandLine: formatCommand(command) };
}

export { dockerExecArgv };
