import { OpsError, firstLine } from '../../lib/errors.js';
import type { ProcessRunner } from '../../lib/process.js';
import type { Prompter } from '../../lib/prompt.js';
import type { EcsApi } from './aws.js';
import type { EcsSshOptions } from './options.js';
import { remoteCommandLine } from './command.js';
import { planTarget, SESSION_MANAGER_PLUGIN, type Target } from './plan.js';
import type { SshConfigHosts } from './ssh-hosts.js';
import { attachInstances, hostLabel, lastSegment, type TaskView } from './tasks.js';
import { describeTaskViews, findTasks, pickContainer, pickTask, resolveCluster, serviceTaskArns } from './target.js';

/** Side effects ecs-ssh needs, handed in so tests can use real local services. */
export interface EcsSshDeps {
  api: EcsApi;
  runner: ProcessRunner;
  prompt: Prompter;
  /** Parsed ssh config (read only when an EC2 host has to be chosen). */
  sshHosts(): SshConfigHosts;
  stdinIsTTY: boolean;
  /** --all: capture each task's output (for --json) instead of streaming it. */
  captureOutput?: boolean;
  log(text: string): void;
  signal?: AbortSignal;
}

export interface RunOutcome {
  target: Target;
  exitCode: number;
  stdout?: string;
  stderr?: string;
}

export type EcsSshResult =
  | { action: 'list'; cluster: string; service?: string; tasks: TaskView[] }
  | { action: 'print'; targets: Target[] }
  | { action: 'exec'; target: Target; exitCode: number }
  | { action: 'all'; results: RunOutcome[]; exitCode: number };

export async function run(o: EcsSshOptions, deps: EcsSshDeps): Promise<EcsSshResult> {
  const cluster = await resolveCluster(deps, o.cluster, o.service);
  if (o.list) return { action: 'list', cluster, service: o.service, tasks: await listTasks(deps, cluster, o.service) };

  const service = o.service!;
  const tasks = await findTasks(deps, cluster, service, o.task);
  const chosen = o.all ? tasks : [await pickTask(deps, tasks, service)];
  const targets: Target[] = [];
  for (const task of chosen) {
    const container = await pickContainer(deps, task, o.container ?? (o.all ? targets[0]?.container.name : undefined));
    targets.push(planTarget(o, deps, cluster, task, container, { tty: !o.all && deps.stdinIsTTY, noStdin: o.all, checkTools: !o.print }));
  }
  if (o.print) return { action: 'print', targets };

  if (!o.all) {
    const target = targets[0]!;
    if (target.via === 'ecs-exec') deps.log(`task ${target.task.id} runs on ${target.task.launchType}: there is no container instance to ssh to, so this uses ECS Exec`);
    deps.log(`${target.service ?? service} · task ${target.task.id} · container ${target.container.name} · ${target.via === 'ssh' ? `ssh ${target.ssh!.host}` : 'ECS Exec'}`);
    return { action: 'exec', target, exitCode: (await execute(target, deps)).exitCode };
  }
  const results: RunOutcome[] = [];
  for (const target of targets) {
    deps.log(`── task ${target.task.id} on ${hostLabel(target.task)} ──`);
    const r = await execute(target, deps, deps.captureOutput);
    results.push({ target, ...r });
    deps.log(`task ${target.task.id}: exit ${r.exitCode}`);
  }
  return { action: 'all', results, exitCode: results.every((r) => r.exitCode === 0) ? 0 : 1 };
}

/** The one place a session starts: ssh, or ExecuteCommand + session-manager-plugin. */
async function execute(target: Target, deps: EcsSshDeps, capture = false): Promise<{ exitCode: number; stdout?: string; stderr?: string }> {
  if (target.via === 'ssh') {
    const r = await deps.runner.run({ ...target.command, stdio: capture ? 'pipe' : 'inherit', signal: deps.signal });
    if (r.exitCode === 255 && !capture) deps.log(`ssh exited 255: the connection to ${target.ssh!.host} failed (or the remote command exited 255)`);
    return capture ? { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr } : { exitCode: r.exitCode };
  }
  const session = await deps.api
    .executeCommand({ cluster: target.cluster, task: target.task.arn, container: target.container.name, command: remoteCommandLine(target.containerCommand) })
    .catch((err: unknown) => {
      throw ecsExecRefused(err, target) ?? err;
    });
  const { region, endpoint, profile } = await deps.api.connection();
  // The arguments the AWS CLI hands the plugin for `aws ecs execute-command`.
  const args = [JSON.stringify(session.session ?? {}), region, 'StartSession', profile, JSON.stringify({ Target: `ecs:${lastSegment(target.cluster)}_${target.task.id}_${target.container.runtimeId ?? ''}` }), endpoint];
  const r = await deps.runner.run({ file: SESSION_MANAGER_PLUGIN, args, stdio: capture ? 'pipe' : 'inherit', signal: deps.signal });
  return capture ? { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr } : { exitCode: r.exitCode };
}

/** ExecuteCommand's own refusals (agent not running, exec not enabled): one line and what to do. */
function ecsExecRefused(err: unknown, target: Target): OpsError | undefined {
  const name = (err as { name?: string }).name;
  if (name !== 'TargetNotConnectedException' && name !== 'InvalidParameterException') return undefined;
  return new OpsError(`ECS Exec refused task ${target.task.id}: ${firstLine(err)}`, {
    hint: 'the task needs enableExecuteCommand, a running ECS Exec agent, and a task role allowed ssmmessages:*Channel; new tasks pick up a change after `--force-new-deployment`',
    code: 'ecs-exec-refused',
    cause: err,
  });
}

/** --list: ⌈N/100⌉ calls per describe API, every host in one DescribeInstances. */
async function listTasks(deps: EcsSshDeps, cluster: string, service: string | undefined): Promise<TaskView[]> {
  const arns = await serviceTaskArns(deps, cluster, service);
  if (arns.length === 0) return [];
  const { tasks } = await describeTaskViews(deps, cluster, arns);
  await attachInstances(deps.api, cluster, tasks);
  return tasks.sort((a, b) => (a.service ?? '').localeCompare(b.service ?? '') || (a.startedAt ?? '').localeCompare(b.startedAt ?? '') || a.id.localeCompare(b.id));
}
