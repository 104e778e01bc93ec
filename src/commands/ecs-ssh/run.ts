import { OpsError } from '../../lib/errors.js';
import type { ProcessRunner } from '../../lib/process.js';
import type { Prompter } from '../../lib/prompt.js';
import { escapeLine } from '../../lib/terminal.js';
import type { EcsApi } from './aws.js';
import type { CachedResolution, ResolutionCache } from './cache.js';
import type { EcsSshOptions } from './options.js';
import { planTarget, type Target } from './plan.js';
import { runPluginSession } from './session.js';
import { ipLiteral, type SshResolver } from './ssh-hosts.js';
import { attachInstances, hostLabel, taskView, type TaskView } from './tasks.js';
import { describeTaskViews, findTasks, pickContainer, pickTask, resolveCluster, serviceTaskArns } from './target.js';

/** Side effects ecs-ssh needs, handed in so tests can use real local services. */
export interface EcsSshDeps {
  api: EcsApi;
  runner: ProcessRunner;
  prompt: Prompter;
  /** The user's ssh config as OpenSSH reads it (made when a host has to be chosen). */
  resolver(): SshResolver;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  /** --all: capture each task's output (for --json) instead of streaming it. */
  captureOutput?: boolean;
  /** Always shown on stderr. */
  log(text: string): void;
  /** Shown with -v. */
  verbose(text: string): void;
  signal?: AbortSignal;
  cache?: { store: ResolutionCache; key(cluster: string | undefined, service: string): string };
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
  | { action: 'exec'; target: Target; exitCode: number; exitCodeRecovered: boolean }
  | { action: 'forward'; target: Target; local: string; exitCode: number }
  | { action: 'all'; results: RunOutcome[]; exitCode: number };

export async function run(o: EcsSshOptions, deps: EcsSshDeps): Promise<EcsSshResult> {
  if (o.list) {
    const cluster = await resolveCluster(deps, o.cluster, o.service);
    return { action: 'list', cluster, service: o.service, tasks: await listTasks(deps, cluster, o.service) };
  }
  const service = o.service!;
  const tty = o.all ? false : (o.tty ?? (deps.stdinIsTTY && deps.stdoutIsTTY));
  const key = deps.cache && o.cache && !o.all && !o.task ? deps.cache.key(o.cluster, service) : undefined;
  // The ssh config is read, and the names likely needed put to `ssh -G`, while AWS answers:
  // a repeat connect asks only about the remembered instance, a first one about a few of the config's Host names.
  const entry = key ? deps.cache!.store.get(key) : undefined;
  if (o.via !== 'exec' && o.via !== 'ssm') {
    deps.api.whileWaiting(() => {
      try {
        deps.resolver().prewarm(entry?.instance ? rememberedNames(entry, o.public) : undefined);
      } catch {
        /* a bad --ssh-config is reported when a host is chosen */
      }
    });
  }

  let targets: Target[] = [];
  const hit = key ? await fromCache(o, deps, key, tty) : undefined;
  if (hit) targets = [hit];
  else {
    deps.api.whileWaiting(() => deps.api.prefetchEc2());
    const cluster = await resolveCluster(deps, o.cluster, service);
    const tasks = await findTasks(deps, cluster, service, o.task);
    const shared = sharedNameTags(tasks);
    const chosen = o.all ? tasks : [await pickTask(deps, tasks, service)];
    for (const task of chosen) {
      const container = await pickContainer(deps, task, o.container ?? (o.all ? targets[0]?.container.name : undefined), service);
      targets.push(await planTarget(o, deps, cluster, task, container, { tty, noStdin: o.all, sharedNameTag: shared.has(task.instance?.nameTag ?? '') }));
    }
  }
  const saving = key && targets.length === 1 ? remember(deps, key, targets[0]!) : undefined;
  try {
    if (o.print) return { action: 'print', targets };
    if (!o.all) return await single(o, deps, targets[0]!, service);
    const results: RunOutcome[] = [];
    for (const target of targets) {
      deps.log(`── task ${target.task.id} on ${escapeLine(hostLabel(target.task))} ──`);
      const r = await execute(target, deps, deps.captureOutput);
      results.push({ target, ...r });
      deps.log(`task ${target.task.id}: exit ${r.exitCode}`);
    }
    return { action: 'all', results, exitCode: results.every((r) => r.exitCode === 0) ? 0 : 1 };
  } finally {
    await saving;
  }
}

async function single(o: EcsSshOptions, deps: EcsSshDeps, target: Target, service: string): Promise<EcsSshResult> {
  for (const r of target.reasons) deps.verbose(`route: ${escapeLine(r)}`);
  const where = target.via === 'ssh' ? `ssh ${escapeLine(target.ssh!.host)}` : target.via === 'ssm' ? `SSM to ${target.task.instance?.id}` : 'ECS Exec';
  if (target.forward) {
    deps.log(`forwarding ${target.forward.local} → ${escapeLine(target.forward.destination)} (${escapeLine(target.forward.what)}) over ${where}; Ctrl-C to stop`);
    const r = await execute(target, deps);
    if (r.exitCode !== 0 && !deps.signal?.aborted) {
      throw new OpsError(`The forward from ${target.forward.local} ended with exit ${r.exitCode}${target.via === 'ssh' ? ' (ssh: the port is in use locally, or the far side refused it)' : ''}.`, {
        hint: `pick another local port (--forward LOCAL:${o.forward!.host ? `${o.forward!.host}:` : ''}${o.forward!.port})${target.via === 'ssh' ? ', or check AllowTcpForwarding on the host' : ''}`,
        code: 'forward-failed',
        exitCode: 1,
      });
    }
    return { action: 'forward', target, local: target.forward.local, exitCode: r.exitCode };
  }
  deps.log(`${escapeLine(target.service ?? service)} · task ${target.task.id} · container ${escapeLine(target.container.name)} · ${where}`);
  const r = await execute(target, deps);
  if (!target.exitCodeRecovered && o.command.length > 0) {
    deps.log(`note: over ${target.via === 'exec' ? 'ECS Exec' : 'SSM'} the command's own exit code does not come back (session-manager-plugin exited ${r.exitCode}); use --via ssh where the exit code matters`);
  }
  return { action: 'exec', target, exitCode: r.exitCode, exitCodeRecovered: target.exitCodeRecovered };
}

/** The one place a session starts: ssh, or a session through session-manager-plugin. */
async function execute(target: Target, deps: EcsSshDeps, capture = false): Promise<{ exitCode: number; stdout?: string; stderr?: string }> {
  if (target.via === 'ssh') {
    const r = await deps.runner.run({ ...target.command, stdio: capture ? 'pipe' : 'inherit', signal: deps.signal });
    if (r.exitCode === 255 && !capture && !target.forward) deps.log(`ssh exited 255: the connection to ${escapeLine(target.ssh!.host)} failed (or the remote command exited 255)`);
    return capture ? { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr } : { exitCode: r.exitCode };
  }
  return runPluginSession(target, deps, capture);
}

/** Name tags carried by more than one instance among these tasks: the name alone would merge them. */
function sharedNameTags(tasks: TaskView[]): Set<string> {
  const byTag = new Map<string, Set<string>>();
  for (const t of tasks) {
    const i = t.instance;
    if (!i?.nameTag) continue;
    byTag.set(i.nameTag, (byTag.get(i.nameTag) ?? new Set()).add(i.id));
  }
  return new Set([...byTag].filter(([, ids]) => ids.size > 1).map(([tag]) => tag));
}

/**
 * A repeat connect: one DescribeTasks for the remembered task; when it still
 * runs on the remembered container instance, the remembered host is used.
 */
async function fromCache(o: EcsSshOptions, deps: EcsSshDeps, key: string, tty: boolean): Promise<Target | undefined> {
  const entry = deps.cache!.store.get(key);
  if (!entry) return undefined;
  const described = await deps.api.describeTasks(entry.cluster, [entry.taskArn]).catch((err: unknown) => {
    if (err instanceof OpsError) throw err;
    return undefined;
  });
  const raw = described?.tasks[0];
  const task = raw ? taskView(raw) : undefined;
  const sameHost = task && (task.containerInstanceArn ?? '') === entry.containerInstanceArn;
  if (!task || task.lastStatus !== 'RUNNING' || task.desiredStatus === 'STOPPED' || !sameHost) {
    deps.verbose(`remembered task ${entry.taskArn.slice(entry.taskArn.lastIndexOf('/') + 1)} no longer runs there; looking the service up again`);
    return undefined;
  }
  const container = task.containers.find((c) => c.name === (o.container ?? entry.container));
  if (!container || container.lastStatus !== 'RUNNING') return undefined;
  if (entry.instance) task.instance = entry.instance;
  deps.verbose(`repeat connect: task ${task.id} still runs on ${entry.instance?.id ?? task.launchType} (remembered ${entry.savedAt}; --no-cache to look up again)`);
  return planTarget(o, deps, entry.cluster, task, container, { tty, sharedNameTag: entry.sharedNameTag, ssmManaged: entry.ssmManaged });
}

function remember(deps: EcsSshDeps, key: string, t: Target): Promise<void> {
  return deps.cache!.store.put(key, {
    cluster: t.cluster,
    service: t.service ?? '',
    taskArn: t.task.arn,
    containerInstanceArn: t.task.containerInstanceArn ?? '',
    container: t.container.name,
    instance: t.task.instance,
    sharedNameTag: Boolean(t.sharedNameTag),
    ssmManaged: t.ssmManaged,
    sshHost: t.via === 'ssh' ? t.ssh?.host : undefined,
  });
}

/**
 * What a repeat connect puts to `ssh -G` while DescribeTasks is in flight: the Name tag (always asked
 * first) and the host chosen last time; the IP only when that was the IP or nothing was noted
 * (every `ssh -G` is a fork and an ssh process on the way to the connect).
 */
function rememberedNames(entry: CachedResolution, usePublic: boolean): string[] {
  const i = entry.instance!;
  const ip = usePublic ? i.publicIp : i.privateIp;
  const chosen = entry.sshHost && !ipLiteral(entry.sshHost) ? entry.sshHost : ip;
  return [...new Set([i.nameTag, chosen].filter((n): n is string => Boolean(n)))];
}

/** --list: ⌈N/100⌉ calls per describe API, every host in one DescribeInstances. */
async function listTasks(deps: EcsSshDeps, cluster: string, service: string | undefined): Promise<TaskView[]> {
  const arns = await serviceTaskArns(deps, cluster, service);
  if (arns.length === 0) return [];
  const { tasks } = await describeTaskViews(deps, cluster, arns);
  await attachInstances(deps.api, cluster, tasks);
  return tasks.sort((a, b) => (a.service ?? '').localeCompare(b.service ?? '') || (a.startedAt ?? '').localeCompare(b.startedAt ?? '') || a.id.localeCompare(b.id));
}
