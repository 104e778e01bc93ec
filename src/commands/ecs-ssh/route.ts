/**
 * Which way in: ECS Exec (the task's own agent), SSM Session Manager to the
 * container instance, or ssh to it. `--via auto` takes ECS Exec when the task
 * has it; then ssh when the user's ssh config names this very instance (no
 * AWS call spent to ask); then SSM when the instance is SSM-managed; then ssh
 * to its IP. Every step it passes over leaves a reason (shown under -v and in
 * --print); a forced route that cannot work says what is missing.
 */
import { OpsError, isOpsError, firstLine } from '../../lib/errors.js';
import { formatCommand, type ProcessRunner } from '../../lib/process.js';
import type { EcsApi } from './aws.js';
import type { Via } from './options.js';
import { chooseSshHost, type ChooseOptions, type SshHostChoice, type SshResolver } from './ssh-hosts.js';
import { escapeLine } from '../../lib/terminal.js';
import { listCommand, type ContainerView, type TaskView } from './tasks.js';

export type Route = 'ssh' | 'ssm' | 'exec';
export const SESSION_MANAGER_PLUGIN = 'session-manager-plugin';

export interface RouteDeps {
  api: EcsApi;
  runner: ProcessRunner;
  resolver(): SshResolver;
}

export interface RouteChoice {
  via: Route;
  reasons: string[];
  ssh?: SshHostChoice;
  /** The SSM verdict, when it was asked (kept in the cache). */
  ssmManaged?: boolean;
}

const PLUGIN_HINT = 'install the Session Manager plugin: https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html';

export async function chooseRoute(
  via: Via,
  deps: RouteDeps,
  ctx: { cluster: string; service?: string; task: TaskView; container: ContainerView; choose: ChooseOptions; ssmManaged?: boolean },
): Promise<RouteChoice> {
  const { task, container } = ctx;
  const reasons: string[] = [];
  const plugin = Boolean(deps.runner.which(SESSION_MANAGER_PLUGIN));
  const exec = execProblem(task, container, ctx);
  if (via === 'exec' || via === 'auto') {
    if (!exec && plugin) return { via: 'exec', reasons: [`ECS Exec: enabled for task ${task.id}${container.execAgent ? ` (agent ${container.execAgent})` : ''}`] };
    const problem = exec ?? missingPlugin('ECS Exec');
    if (via === 'exec') throw problem;
    reasons.push(`not ECS Exec: ${problem.message}`);
  }
  if (!task.containerInstanceArn) {
    const where = `Task ${task.id} runs on ${task.launchType}`;
    if (exec?.code === 'exec-not-enabled') {
      throw new OpsError(`${where} and has no container instance to ssh to, and ECS Exec is not enabled for it.`, { hint: exec.hint, code: 'fargate-no-exec' });
    }
    if (exec) throw new OpsError(`${where} (no container instance to ssh to); ${exec.message}`, { hint: exec.hint, code: exec.code });
    if (via !== 'auto' && plugin) {
      throw new OpsError(`${where}: there is no container instance to ${via === 'ssm' ? 'open an SSM session to' : 'ssh to'}.`, { hint: 'ECS Exec is enabled for it: use --via exec (or --via auto)', code: 'no-container-instance' });
    }
    throw new OpsError(`${where} (no container instance to ssh to); ECS Exec is enabled but session-manager-plugin is not on PATH.`, { hint: PLUGIN_HINT, code: 'missing-session-manager-plugin' });
  }
  const inst = task.instance;
  if (!inst || inst.gone) {
    const what = !inst?.state || inst.state === 'terminated' || inst.state === 'shutting-down' ? 'gone' : 'not running';
    throw new OpsError(`The EC2 instance ${inst?.id ?? '(unknown)'} that ran task ${task.id} is ${what}${inst?.state ? ` (${inst.state})` : ''}.`, {
      hint: `ECS will replace the task; list the tasks again with \`${listCommand(ctx.service, ctx.cluster)}\``,
      code: 'instance-gone',
    });
  }

  const sshInstalled = Boolean(deps.runner.which('ssh'));
  let ssh: SshHostChoice | undefined;
  if (via !== 'ssm' && sshInstalled) ssh = await chooseSshHost(inst, deps.resolver(), ctx.choose);
  if (via === 'auto' && ssh && (ssh.source === 'name-tag' || ssh.source === 'name-tag-jump' || ssh.source === 'hostname-alias')) {
    return { via: 'ssh', reasons: [...reasons, `ssh: ${ssh.why}`], ssh };
  }

  if (via === 'ssm' || via === 'auto') {
    let managed = ctx.ssmManaged;
    let why: string | undefined;
    if (managed === undefined) {
      try {
        const info = (await deps.api.describeInstanceInformation([inst.id])).find((i) => i.InstanceId === inst.id);
        managed = info?.PingStatus === 'Online';
        why = info ? `SSM Agent ${info.AgentVersion ?? ''} is ${info.PingStatus}`.replace('  ', ' ') : 'no SSM Agent has registered it';
      } catch (err) {
        if (via === 'ssm' || !isOpsError(err)) throw err;
        why = `cannot ask SSM: ${err.message}`;
      }
    } else why = managed ? 'SSM-managed (remembered)' : 'not SSM-managed (remembered)';
    if (managed && plugin) return { via: 'ssm', reasons: [...reasons, ...(ssh ? [`not ssh yet: no ssh config entry names ${inst.id}`] : []), `SSM: instance ${inst.id} is managed (${why})`], ssmManaged: true };
    if (via === 'ssm') {
      if (!managed) {
        throw new OpsError(`Instance ${inst.id} is not reachable over SSM Session Manager: ${why}.`, {
          hint: 'the instance needs the SSM Agent running and an instance profile allowing ssm:UpdateInstanceInformation and ssmmessages:* (AmazonSSMManagedInstanceCore); or use --via ssh',
          code: 'ssm-not-managed',
        });
      }
      throw missingPlugin('SSM Session Manager');
    }
    reasons.push(managed ? `not SSM: session-manager-plugin is not on PATH` : `not SSM: instance ${inst.id} is not managed (${why})`);
    if (managed !== undefined) return finishSsh(ssh, sshInstalled, reasons, ctx, managed);
  }
  return finishSsh(ssh, sshInstalled, reasons, ctx, undefined);
}

function finishSsh(ssh: SshHostChoice | undefined, sshInstalled: boolean, reasons: string[], ctx: { task: TaskView; choose: ChooseOptions }, ssmManaged: boolean | undefined): RouteChoice {
  if (!sshInstalled) {
    throw new OpsError('ssh (the OpenSSH client) is not installed or not on PATH.', {
      hint: `install it (Debian/Ubuntu: apt-get install openssh-client; macOS ships it)${reasons.length ? `; ${reasons.join('; ')}` : ''}`,
      code: 'missing-ssh',
    });
  }
  const inst = ctx.task.instance!;
  if (!ssh) {
    const why = inst.nameTag ? `no ssh config entry resolves its Name tag "${escapeLine(inst.nameTag)}" to it` : 'it has no Name tag';
    throw new OpsError(`Instance ${inst.id}: ${why}, no Host in your ssh config has one of its addresses as HostName, and it has no ${ctx.choose.public ? 'public' : 'private'} IP to fall back to.`, {
      hint: ctx.choose.public ? 'drop --public to use the private IP, or add a Host entry for it to your ssh config' : `add a "Host ${escapeLine(inst.nameTag ?? inst.id)}" block with its HostName to your ssh config`,
      code: 'no-ssh-host',
    });
  }
  return { via: 'ssh', reasons: [...reasons, `ssh: ${ssh.why}`], ssh, ssmManaged };
}

function missingPlugin(what: string): OpsError {
  return new OpsError(`${what} needs session-manager-plugin, which is not on PATH.`, { hint: PLUGIN_HINT, code: 'missing-session-manager-plugin' });
}

/** Why ECS Exec cannot work for this task and container, or undefined when it can. */
function execProblem(task: TaskView, container: ContainerView, ctx: { cluster: string; service?: string }): OpsError | undefined {
  // A hint people paste into a shell: the names in it are quoted like any argv.
  const enable = formatCommand({ file: 'aws', args: ['ecs', 'update-service', '--cluster', ctx.cluster, '--service', ctx.service ?? task.service ?? 'SERVICE', '--enable-execute-command', '--force-new-deployment'] });
  if (!task.enableExecuteCommand) {
    return new OpsError(`ECS Exec is not enabled for task ${task.id} (enableExecuteCommand is false).`, {
      hint: `enable it (\`${enable}\`; the task role needs ssmmessages:CreateControlChannel/CreateDataChannel/OpenControlChannel/OpenDataChannel), then connect again`,
      code: 'exec-not-enabled',
    });
  }
  if (container.execAgent && container.execAgent !== 'RUNNING') {
    return new OpsError(`ECS Exec's agent in container ${escapeLine(container.name)} of task ${task.id} is ${container.execAgent}.`, {
      hint: 'the agent starts with the task: wait until it is RUNNING, or check the task role allows ssmmessages:* (amazon-ecs-exec-checker diagnoses this)',
      code: 'exec-agent-not-running',
    });
  }
  return undefined;
}
