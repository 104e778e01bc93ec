import { ExitCode, OpsError, usageError } from '../../lib/errors.js';
import type { Prompter } from '../../lib/prompt.js';
import type { EcsApi } from './aws.js';
import { attachInstances, closeMatches, hostLabel, lastSegment, listCommand, taskLabel, taskView, type ContainerView, type TaskView } from './tasks.js';

/** The AWS side of the lookup: which cluster, which tasks, which container. */
export interface LookupDeps {
  api: EcsApi;
  prompt: Prompter;
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
  return deps.prompt.pick(question, candidates.map((c) => ({ label: c, value: c })), { flag: '--cluster NAME', candidates: candidates.join(', ') });
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

/** ListTasks came back empty: say why, from the service's own latest event. */
export async function noRunningTasks(deps: LookupDeps, cluster: string, service: string): Promise<OpsError> {
  const { services } = await deps.api.describeServices(cluster, [service]);
  const s = services[0];
  if (!s) return unknownService(service, `cluster ${cluster}`, (await deps.api.listServices(cluster)).map(lastSegment));
  if (s.status && s.status !== 'ACTIVE') return usageError(`ECS service "${service}" in cluster ${cluster} is ${s.status} (deleted or being deleted).`, undefined, 'unknown-service');
  const event = s.events?.[0];
  const when = event?.createdAt ? ` (${new Date(event.createdAt).toISOString()})` : '';
  return new OpsError(`Service ${service} in cluster ${cluster} has no running tasks (desired ${s.desiredCount ?? 0}, pending ${s.pendingCount ?? 0}).`, {
    hint: event?.message ? `latest service event${when}: ${event.message}` : 'scale it up, e.g. `aws ecs update-service --desired-count 1`',
    code: 'no-running-tasks',
  });
}

/** A task that is not RUNNING cannot be entered: say what it is doing instead. */
export function notRunning(t: TaskView): OpsError {
  if (['STOPPED', 'DEPROVISIONING', 'STOPPING', 'DEACTIVATING'].includes(t.lastStatus) || t.desiredStatus === 'STOPPED') {
    return new OpsError(`Task ${t.id} is ${t.lastStatus}${t.stoppedReason ? `: ${t.stoppedReason}` : ''}.`, {
      hint: `pick a running task (\`${listCommand(t.service, t.cluster)}\`)`,
      code: 'task-stopped',
    });
  }
  return new OpsError(`Task ${t.id} is still ${t.lastStatus}; its containers are not running yet.`, { hint: 'wait a few seconds and try again', code: 'task-pending' });
}

/** The running tasks of a service (or the one --task names), with hosts attached. */
export async function findTasks(deps: LookupDeps, cluster: string, service: string | undefined, task: string | undefined): Promise<TaskView[]> {
  if (task) {
    const { tasks, missing } = await describeTaskViews(deps, cluster, [task]);
    const t = tasks[0];
    if (!t || missing.length) throw usageError(`Task ${task} was not found in cluster ${cluster}.`, `list the running tasks with \`${listCommand(service, cluster)}\``, 'unknown-task');
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
    candidates: sorted.map((t) => `${t.id} (${t.availabilityZone ?? '-'}, ${hostLabel(t)})`).join(', '),
  });
}

/** The container to enter: --container, the only running one, or a picker. */
export async function pickContainer(deps: LookupDeps, task: TaskView, wanted: string | undefined): Promise<ContainerView> {
  const names = task.containers.map((c) => c.name);
  if (wanted) {
    const c = task.containers.find((x) => x.name === wanted);
    if (!c) throw usageError(`Task ${task.id} has no container named "${wanted}".`, `its containers: ${names.join(', ')}`, 'unknown-container');
    return c;
  }
  const running = task.containers.filter((c) => c.lastStatus === 'RUNNING');
  const candidates = running.length > 0 ? running : task.containers;
  if (candidates.length === 0) throw new OpsError(`Task ${task.id} has no containers.`, { code: 'no-container' });
  if (candidates.length === 1) return candidates[0]!;
  return deps.prompt.pick(`Task ${task.id} has ${candidates.length} containers. Which one?`, candidates.map((c) => ({ label: `${c.name}${c.image ? `  (${c.image})` : ''}`, value: c })), {
    flag: '--container NAME',
    candidates: candidates.map((c) => c.name).join(', '),
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
