import { OpsError } from '../../lib/errors.js';
import { formatCommand, type CommandSpec, type ProcessRunner } from '../../lib/process.js';
import type { EcsSshOptions } from './options.js';
import { dockerExecArgv, remoteCommandLine, sshCommand, SHELL_PROBE } from './command.js';
import { chooseSshHost, type HostSource, type SshConfigHosts } from './ssh-hosts.js';
import { listCommand, type ContainerView, type TaskView } from './tasks.js';
import { requireRuntimeId } from './target.js';

/** One resolved destination and the exact local command that reaches it. */
export interface Target {
  cluster: string;
  service?: string;
  task: TaskView;
  container: ContainerView;
  via: 'ssh' | 'ecs-exec';
  ssh?: { host: string; source: HostSource; user?: string; configFile?: string };
  /** The argv run in the container. */
  containerCommand: string[];
  /** ssh: the command to run. ecs-exec: the AWS CLI equivalent (the session itself needs an API call first). */
  command: CommandSpec;
  commandLine: string;
}

export interface PlanDeps {
  runner: ProcessRunner;
  sshHosts(): SshConfigHosts;
  log(text: string): void;
}

export const SESSION_MANAGER_PLUGIN = 'session-manager-plugin';

/** Decide how to reach one container: ssh to its EC2 host, or ECS Exec on Fargate. */
export function planTarget(o: EcsSshOptions, deps: PlanDeps, cluster: string, task: TaskView, container: ContainerView, io: { tty: boolean; noStdin?: boolean; checkTools: boolean }): Target {
  const containerCommand = o.command.length > 0 ? o.command : ['sh', '-c', SHELL_PROBE];
  const base = { cluster, service: o.service ?? task.service, task, container, containerCommand };
  if (!task.containerInstanceArn) return planEcsExec(o, deps, base, io.checkTools);

  const runtimeId = requireRuntimeId(task, container);
  const inst = task.instance;
  if (!inst || inst.gone) {
    const what = !inst?.state || inst.state === 'terminated' || inst.state === 'shutting-down' ? 'gone' : 'not running';
    throw new OpsError(`The EC2 instance ${inst?.id ?? '(unknown)'} that ran task ${task.id} is ${what}${inst?.state ? ` (${inst.state})` : ''}.`, {
      hint: `ECS will replace the task; list the tasks again with \`${listCommand(base.service, cluster)}\``,
      code: 'instance-gone',
    });
  }
  if (io.checkTools && !deps.runner.which('ssh')) {
    throw new OpsError('ssh (the OpenSSH client) is not installed or not on PATH.', { hint: 'install it (Debian/Ubuntu: apt-get install openssh-client; macOS ships it) and try again', code: 'missing-ssh' });
  }
  // An explicit config reaches ssh as the file that was read (~ expanded: ssh -F does not expand it).
  const hosts = deps.sshHosts();
  const choice = chooseSshHost(inst, hosts, { public: o.public, fallbackUser: o.fallbackUser, user: o.user });
  const where = hosts.file || '~/.ssh/config';
  if (!choice) {
    const why = inst.nameTag ? `no Host alias "${inst.nameTag}" (its Name tag)` : 'no Name tag';
    throw new OpsError(`Instance ${inst.id} has ${why}, no alias in ${where} whose HostName is one of its addresses, and no ${o.public ? 'public' : 'private'} IP to fall back to.`, {
      hint: o.public ? 'drop --public to use the private IP, or add a Host alias for it to your ssh config' : `add a "Host ${inst.nameTag ?? inst.id}" block with its HostName to ${where}`,
      code: 'no-ssh-host',
    });
  }
  if (choice.source === 'private-ip' || choice.source === 'public-ip') {
    deps.log(`no ssh alias in ${where} for ${inst.id}${inst.nameTag ? ` (Name tag "${inst.nameTag}")` : ' (no Name tag)'}; connecting to ${choice.host} as ${choice.user}`);
  }
  const command = sshCommand({ host: choice, remote: dockerExecArgv(runtimeId, o.command, io.tty), tty: io.tty, noStdin: io.noStdin, sshConfig: o.sshConfig ? hosts.file : undefined, sshOptions: o.sshOptions });
  return {
    ...base,
    via: 'ssh',
    ssh: { host: choice.host, source: choice.source, user: choice.user, configFile: hosts.file || undefined },
    command,
    commandLine: formatCommand(command),
  };
}

function planEcsExec(o: EcsSshOptions, deps: PlanDeps, base: Omit<Target, 'via' | 'command' | 'commandLine'>, checkTools: boolean): Target {
  const { task, cluster, container } = base;
  // A hint people paste into a shell: the names in it are quoted like any argv.
  const enable = formatCommand({ file: 'aws', args: ['ecs', 'update-service', '--cluster', cluster, '--service', base.service ?? 'SERVICE', '--enable-execute-command', '--force-new-deployment'] });
  if (!task.enableExecuteCommand) {
    throw new OpsError(`Task ${task.id} runs on ${task.launchType} and has no container instance to ssh to, and ECS Exec is not enabled for it.`, {
      hint: `enable ECS Exec (\`${enable}\`; the task role needs ssmmessages:CreateControlChannel/CreateDataChannel/OpenControlChannel/OpenDataChannel), then connect again`,
      code: 'fargate-no-exec',
    });
  }
  if (checkTools && !deps.runner.which(SESSION_MANAGER_PLUGIN)) {
    throw new OpsError(`Task ${task.id} runs on ${task.launchType} (no container instance to ssh to); ECS Exec is enabled but session-manager-plugin is not on PATH.`, {
      hint: 'install the Session Manager plugin: https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html',
      code: 'missing-session-manager-plugin',
    });
  }
  // What --print shows: the same session through the AWS CLI.
  const command: CommandSpec = {
    file: 'aws',
    args: ['ecs', 'execute-command', '--cluster', cluster, '--task', task.arn, '--container', container.name, '--interactive', '--command', remoteCommandLine(base.containerCommand)],
    stdio: 'inherit',
  };
  return { ...base, via: 'ecs-exec', command, commandLine: formatCommand(command) };
}
