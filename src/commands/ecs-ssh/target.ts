import { ExitCode, OpsError, usageError } from '../../lib/errors.js';
import type { Prompter } from '../../lib/prompt.js';
import type { EcsApi } from './aws.js';
import { escapeLine } from '../../lib/terminal.js';
import { attachInstances, closeMatches, hostLabel, lastSegment, listCommand, someOf, taskLabel, taskView, type ContainerView, type TaskView } from './tasks.js';

/** The AWS side of the lookup: which cluster, which tasks, which container. */
export interface LookupDeps {
  api: EcsApi;
  prompt: Prompter;
  log(text: string): void;
}

const errName = (err: unknown) => (err as { name?: string }).name ?? '';

/**
 * --cluster (or config) wins. Otherwise the only cluster; among several, the
 * clusters running SERVICE: one is used, several are offered in a picker.
 */
export async function resolveCluster(deps: LookupDeps, wanted: string | undefined, service: string | undefined): Promise<string> {
  if (wanted) return wanted;
  const clusters = (await deps.api.listClusters()).map(lastSegment);
  if (clusters.length === 0) throw new OpsError('There are no ECS clusters in this account and region.', { hint: 'check --region and --profile', code: 'no-clusters' });
  if (clusters.length === 1) return clusters[0]!;
  let candidates = clusters;
  if (service) {
    const found = await Promise.all(clusters.map(async (c) => ((await deps.api.describeServices(c, [service])).services.some((s) => s.status === 'ACTIVE') ? c : undefined)));
    candidates = found.filter((c): c is string => Boolean(c));
    if (candidates.length === 0) {
      const names = (await Promise.all(clusters.map((c) => deps.api.listServices(c)))).flat().map(lastSegment);
      throw unknownService(service, `any of the ${clusters.length} clusters (${clusters.join(', ')})`, names);
    }
    if (candidates.length === 1) return candidates[0]!;
  }
  const question = service ? `Service ${service} runs in ${candidates.length} clusters. Which one?` : `This account has ${candidates.length} clusters. Which one?`;
  return deps.prompt.pick(question, candidates.map((c) => ({ label: c, value: c })), { flag: '--cluster NAME', candidates: someOf(candidates) });
}

/** ListTasks for the service (desired RUNNING), turning "not found" into errors with suggestions. */
export async function serviceTaskArns(deps: LookupDeps, cluster: string, service: string | undefined): Promise<string[]> {
  try {
    return await deps.api.listTasks(cluster, { serviceName: service, desiredStatus: 'RUNNING' });
  } catch (err) {
    if (errName(err) === 'ClusterNotFoundException') throw await unknownCluster(deps, cluster);
    if (errName(err) === 'ServiceNotFoundException' && service) throw unknownService(service, `cluster ${cluster}`, (await deps.api.listServices(cluster)).map(lastSegment));
    throw err;
  }
}

export async function describeTaskViews(deps: LookupDeps, cluster: string, arns: string[]): Promise<{ tasks: TaskView[]; missing: string[] }> {
  try {
    const { tasks, failures } = await deps.api.describeTasks(cluster, arns);
    return { tasks: tasks.map(taskView), missing: failures.map((f) => lastSegment(f.arn ?? '')) };
  } catch (err) {
    if (errName(err) === 'ClusterNotFoundException') throw await unknownCluster(deps, cluster);
    throw err;
  }
}

export async function unknownCluster(deps: LookupDeps, cluster: string): Promise<OpsError> {
  const clusters = (await deps.api.listClusters().catch(() => [] as string[])).map(lastSegment);
  const close = closeMatches(lastSegment(cluster), clusters);
  const hint = close.length ? `did you mean ${close.join(', ')}?` : clusters.length ? `clusters here: ${clusters.slice(0, 10).join(', ')}${clusters.length > 10 ? ', …' : ''}` : 'there are no clusters in this account and region; check --region and --profile';
  return usageError(`Unknown ECS cluster "${cluster}".`, hint, 'unknown-cluster');
}

export function unknownService(service: string, where: string, names: string[]): OpsError {
  const close = closeMatches(service, [...new Set(names)]);
  const hint = close.length ? `did you mean ${close.join(', ')}?` : names.length ? `services there: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}` : 'no services there at all; check --cluster and --region';
  return usageError(`Unknown ECS service "${service}" in ${where}.`, hint, 'unknown-service');
}

/** ListTasks came back empty: say why, from the latest stopped task and the service's latest event. */
export async function noRunningTasks(deps: LookupDeps, cluster: string, service: string): Promise<OpsError> {
  const [{ services }, stopped] = await Promise.all([deps.api.describeServices(cluster, [service]), latestStopped(deps, cluster, service).catch(() => undefined)]);
  const s = services[0];
  if (!s) return unknownService(service, `cluster ${cluster}`, (await deps.api.listServices(cluster)).map(lastSegment));
  if (s.status && s.status !== 'ACTIVE') return usageError(`ECS service "${service}" in cluster ${cluster} is ${s.status} (deleted or being deleted).`, undefined, 'unknown-service');
  const event = s.events?.[0];
  const when = event?.createdAt ? ` (${new Date(event.createdAt).toISOString()})` : '';
  const hint = stopped
    ? `latest stopped task ${stopped.id}${stopped.stoppedAt ? ` (${stopped.stoppedAt})` : ''}: ${stoppedWhy(stopped)}`
    : event?.message
      ? `latest service event${when}: ${escapeLine(event.message)}`
      : 'scale it up, e.g. `aws ecs update-service --desired-count 1`';
  return new OpsError(`Service ${service} in cluster ${cluster} has no running tasks (desired ${s.desiredCount ?? 0}, pending ${s.pendingCount ?? 0}).`, { hint, code: 'no-running-tasks' });
}

/** The most recently stopped task of a service (ECS keeps them about an hour): why a crash loop crashes. */
async function latestStopped(deps: LookupDeps, cluster: string, service: string): Promise<TaskView | undefined> {
  const arns = await deps.api.listTasks(cluster, { serviceName: service, desiredStatus: 'STOPPED' });
  if (arns.length === 0) return undefined;
  const { tasks } = await deps.api.describeTasks(cluster, arns.slice(0, 100));
  return tasks.map(taskView).sort((a, b) => (b.stoppedAt ?? '').localeCompare(a.stoppedAt ?? ''))[0];
}

/** "Essential container in task exited; web: exit 1 (OutOfMemoryError…)". */
export function stoppedWhy(t: TaskView): string {
  const containers = t.containers
    .filter((c) => c.exitCode !== undefined && c.exitCode !== 0 || c.reason)
    .map((c) => `${c.name}: ${c.exitCode !== undefined ? `exit ${c.exitCode}` : 'no exit code'}${c.reason ? ` (${c.reason})` : ''}`);
  return escapeLine([t.stoppedReason ?? 'stopped', ...containers].join('; '));
}

/** A task that is not RUNNING cannot be entered: say what it is doing instead. */
export function notRunning(t: TaskView): OpsError {
  if (['STOPPED', 'DEPROVISIONING', 'STOPPING', 'DEACTIVATING'].includes(t.lastStatus) || t.desiredStatus === 'STOPPED') {
    return new OpsError(`Task ${t.id} is ${t.lastStatus}${t.stoppedReason || t.containers.some((c) => c.reason || c.exitCode) ? `: ${stoppedWhy(t)}` : ''}.`, {
      hint: `pick a running task (\`${listCommand(t.service, t.cluster)}\`)`,
      code: 'task-stopped',
    });
  }
  return new OpsError(`Task ${t.id} is still ${t.lastStatus}; its containers are not running yet.`, { hint: 'wait a few seconds and try again', code: 'task-pending' });
}

const FULL_TASK_ID = /^([0-9a-f]{32}|arn:.*)$/;

/** The running tasks of a service (or the one --task names: an id, an ARN, or a unique id prefix), with hosts attached. */
export async function findTasks(deps: LookupDeps, cluster: string, service: string | undefined, task: string | undefined): Promise<TaskView[]> {
  let wanted = task;
  if (wanted && !FULL_TASK_ID.test(wanted)) {
    // A prefix: among the service's running tasks (one ListTasks, as without --task).
    const ids = (await serviceTaskArns(deps, cluster, service)).map(lastSegment);
    const hits = ids.filter((id) => id.startsWith(wanted!));
    if (hits.length === 0) throw usageError(`No running task${service ? ` of service ${service}` : ''} in cluster ${cluster} has an id starting with "${escapeLine(wanted)}".`, ids.length ? `running: ${someOf(ids)}` : `list the tasks with \`${listCommand(service, cluster)}\``, 'unknown-task');
    if (hits.length > 1) throw usageError(`--task ${escapeLine(wanted)} matches ${hits.length} tasks: ${someOf(hits)}.`, 'give more of the id', 'ambiguous-task');
    wanted = hits[0]!;
  }
  if (wanted) {
    const { tasks, missing } = await describeTaskViews(deps, cluster, [wanted]);
    const t = tasks[0];
    if (!t || missing.length) throw usageError(`Task ${escapeLine(wanted)} was not found in cluster ${cluster}.`, `list the running tasks with \`${listCommand(service, cluster)}\``, 'unknown-task');
    if (service && t.service && t.service !== service) throw usageError(`Task ${t.id} belongs to service ${t.service}, not ${service}.`, undefined, 'task-service-mismatch');
    if (t.lastStatus !== 'RUNNING') throw notRunning(t);
    await attachInstances(deps.api, cluster, [t]);
    return [t];
  }
  const arns = await serviceTaskArns(deps, cluster, service);
  if (arns.length === 0) throw await noRunningTasks(deps, cluster, service!);
  const { tasks } = await describeTaskViews(deps, cluster, arns);
  const running = tasks.filter((t) => t.lastStatus === 'RUNNING');
  if (running.length === 0) {
    const t = tasks.find((x) => x.desiredStatus !== 'STOPPED') ?? tasks[0];
    if (!t) throw await noRunningTasks(deps, cluster, service!);
    throw notRunning(t);
  }
  await attachInstances(deps.api, cluster, running);
  return running;
}

export async function pickTask(deps: LookupDeps, tasks: TaskView[], service: string): Promise<TaskView> {
  if (tasks.length === 1) return tasks[0]!;
  const sorted = [...tasks].sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? '') || a.id.localeCompare(b.id));
  return deps.prompt.pick(`Service ${service} has ${tasks.length} running tasks. Which one?`, sorted.map((t) => ({ label: taskLabel(t), value: t })), {
    flag: '--task ID (or --all -- COMMAND)',
    candidates: someOf(sorted.map((t) => `${t.id} (${t.availabilityZone ?? '-'}, ${t.instance?.id ?? hostLabel(t)}${t.instance?.privateIp ? ` ${t.instance.privateIp}` : ''})`)),
  });
}

/**
 * The container to enter: --container, the only running one, the one named
 * like the service, the only essential one (one DescribeTaskDefinition), or a picker.
 */
export async function pickContainer(deps: LookupDeps, task: TaskView, wanted: string | undefined, service?: string): Promise<ContainerView> {
  const names = task.containers.map((c) => c.name);
  if (wanted) {
    const c = task.containers.find((x) => x.name === wanted);
    if (!c) throw usageError(`Task ${task.id} has no container named "${escapeLine(wanted)}".`, `its containers: ${someOf(names)}`, 'unknown-container');
    return c;
  }
  const running = task.containers.filter((c) => c.lastStatus === 'RUNNING');
  const candidates = running.length > 0 ? running : task.containers;
  if (candidates.length === 0) throw new OpsError(`Task ${task.id} has no containers.`, { code: 'no-container' });
  if (candidates.length === 1) return candidates[0]!;
  const others = (c: ContainerView) => candidates.filter((x) => x !== c).map((x) => escapeLine(x.name)).join(', ');
  const named = service ? candidates.find((c) => c.name.toLowerCase() === service.toLowerCase()) : undefined;
  if (named) {
    deps.log(`container ${escapeLine(named.name)} (named like the service; also in the task: ${others(named)}; --container to choose)`);
    return named;
  }
  if (task.taskDefinitionArn) {
    const def = await deps.api.describeTaskDefinition(task.taskDefinitionArn).catch(() => undefined);
    const essential = new Set((def?.containerDefinitions ?? []).filter((d) => d.essential !== false).map((d) => d.name));
    const only = candidates.filter((c) => essential.has(c.name));
    if (only.length === 1) {
      deps.log(`container ${escapeLine(only[0]!.name)} (the only essential one; also in the task: ${others(only[0]!)}; --container to choose)`);
      return only[0]!;
    }
  }
  return deps.prompt.pick(`Task ${task.id} has ${candidates.length} containers. Which one?`, candidates.map((c) => ({ label: `${c.name}${c.image ? `  (${c.image})` : ''}`, value: c })), {
    flag: '--container NAME',
    candidates: someOf(candidates.map((c) => c.name)),
  });
}

export function requireRuntimeId(task: TaskView, c: ContainerView): string {
  if (!c.runtimeId) {
    throw new OpsError(`Container ${c.name} of task ${task.id} has no Docker id yet (it is ${c.lastStatus ?? 'not running'}).`, {
      hint: 'wait until it is RUNNING, or pick another with --container',
      code: 'no-runtime-id',
      exitCode: ExitCode.FAILED,
    });
  }
  // The id comes from the API and lands in `docker exec … ID` on the host:
  // one starting with "-" would be read by docker as a flag (e.g. --privileged).
  if (!DOCKER_ID.test(c.runtimeId)) {
    throw new OpsError(`Container ${c.name} of task ${task.id} has an unusable Docker id ${JSON.stringify(c.runtimeId)}.`, {
      hint: 'a Docker id is letters, digits, "_", "." and "-", not starting with "-"; check `docker ps` on the host',
      code: 'bad-runtime-id',
    });
  }
  return c.runtimeId;
}

const DOCKER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
