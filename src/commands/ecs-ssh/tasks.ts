import type * as EcsSdk from '@aws-sdk/client-ecs';
import type * as Ec2Sdk from '@aws-sdk/client-ec2';
import { shellQuote } from '../../lib/process.js';
import { escapeLine } from '../../lib/terminal.js';
import type { EcsApi } from './aws.js';

/** A task as ecs-ssh shows and uses it: plain data, ready for --json. */
export interface TaskView {
  arn: string;
  id: string;
  cluster: string;
  /** "web" for a task started by service web (from the task's group). */
  service?: string;
  taskDefinition?: string;
  taskDefinitionArn?: string;
  revision?: string;
  lastStatus: string;
  desiredStatus?: string;
  availabilityZone?: string;
  startedAt?: string;
  launchType: string;
  enableExecuteCommand: boolean;
  stoppedReason?: string;
  stoppedAt?: string;
  /** The task's ENI address (awsvpc network mode). */
  eniIp?: string;
  containers: ContainerView[];
  containerInstanceArn?: string;
  instance?: InstanceView;
}

export interface ContainerView {
  name: string;
  runtimeId?: string;
  lastStatus?: string;
  image?: string;
  /** ECS Exec's agent in this container (RUNNING when exec can work). */
  execAgent?: string;
  /** Published ports (bridge/host network modes). */
  ports?: Array<{ containerPort: number; hostPort: number; bindIP?: string }>;
  exitCode?: number;
  reason?: string;
}

export interface InstanceView {
  id: string;
  state?: string;
  nameTag?: string;
  privateIp?: string;
  privateDns?: string;
  publicIp?: string;
  publicDns?: string;
  /** The container instance or EC2 instance no longer exists. */
  gone?: boolean;
}

export const lastSegment = (arn: string): string => arn.slice(arn.lastIndexOf('/') + 1);

export function taskView(t: EcsSdk.Task): TaskView {
  const arn = t.taskArn ?? '';
  const group = t.group ?? '';
  return {
    arn,
    id: lastSegment(arn),
    cluster: lastSegment(t.clusterArn ?? ''),
    service: group.startsWith('service:') ? group.slice('service:'.length) : undefined,
    taskDefinition: t.taskDefinitionArn ? lastSegment(t.taskDefinitionArn) : undefined,
    taskDefinitionArn: t.taskDefinitionArn,
    revision: t.taskDefinitionArn?.split(':').pop(),
    lastStatus: t.lastStatus ?? 'UNKNOWN',
    desiredStatus: t.desiredStatus,
    availabilityZone: t.availabilityZone,
    startedAt: t.startedAt ? new Date(t.startedAt).toISOString() : undefined,
    launchType: t.launchType ?? (t.containerInstanceArn ? 'EC2' : 'FARGATE'),
    enableExecuteCommand: Boolean(t.enableExecuteCommand),
    stoppedReason: t.stoppedReason,
    stoppedAt: t.stoppedAt ? new Date(t.stoppedAt).toISOString() : undefined,
    eniIp:
      t.attachments?.find((a) => a.type === 'ElasticNetworkInterface')?.details?.find((d) => d.name === 'privateIPv4Address')?.value ??
      t.containers?.flatMap((c) => c.networkInterfaces ?? []).find((n) => n.privateIpv4Address)?.privateIpv4Address,
    containers: (t.containers ?? []).map((c) => ({
      name: c.name ?? '',
      runtimeId: c.runtimeId,
      lastStatus: c.lastStatus,
      image: c.image,
      execAgent: c.managedAgents?.find((a) => a.name === 'ExecuteCommandAgent')?.lastStatus,
      ports: (c.networkBindings ?? []).filter((b) => b.containerPort && b.hostPort).map((b) => ({ containerPort: b.containerPort!, hostPort: b.hostPort!, bindIP: b.bindIP })),
      exitCode: c.exitCode,
      reason: c.reason,
    })),
    containerInstanceArn: t.containerInstanceArn,
  };
}

export function instanceView(i: Ec2Sdk.Instance): InstanceView {
  return {
    id: i.InstanceId ?? '',
    state: i.State?.Name,
    nameTag: i.Tags?.find((t) => t.Key === 'Name')?.Value,
    privateIp: i.PrivateIpAddress || undefined,
    privateDns: i.PrivateDnsName || undefined,
    publicIp: i.PublicIpAddress || undefined,
    publicDns: i.PublicDnsName || undefined,
  };
}

/**
 * Attach each EC2-launched task's host: one DescribeContainerInstances per
 * 100 container instances, then one DescribeInstances for all of them.
 */
export async function attachInstances(api: EcsApi, cluster: string, tasks: TaskView[]): Promise<void> {
  const ciArns = [...new Set(tasks.map((t) => t.containerInstanceArn).filter((a): a is string => Boolean(a)))];
  if (ciArns.length === 0) return;
  const { containerInstances } = await api.describeContainerInstances(cluster, ciArns);
  const ec2IdByCi = new Map(containerInstances.map((ci) => [ci.containerInstanceArn ?? '', ci.ec2InstanceId ?? '']));
  const ids = [...new Set([...ec2IdByCi.values()].filter(Boolean))];
  const instances = await api.describeInstances(ids);
  const byId = new Map(instances.map((i) => [i.InstanceId ?? '', instanceView(i)]));
  for (const t of tasks) {
    if (!t.containerInstanceArn) continue;
    const ec2Id = ec2IdByCi.get(t.containerInstanceArn);
    if (!ec2Id) {
      t.instance = { id: lastSegment(t.containerInstanceArn), gone: true };
      continue;
    }
    const inst = byId.get(ec2Id);
    t.instance = inst ? { ...inst, gone: isGone(inst.state) } : { id: ec2Id, gone: true };
  }
}

const isGone = (state?: string) => state === 'terminated' || state === 'shutting-down' || state === 'stopped' || state === 'stopping';

/** The command that lists a service's tasks, for hints (argv quoted as a shell would need). */
export function listCommand(service: string | undefined, cluster: string): string {
  return ['opsctl', 'ecs-ssh', ...(service ? [service] : []), '--list', '--cluster', cluster].map(shellQuote).join(' ');
}

/** What a person calls the host in a table or picker. */
export function hostLabel(t: TaskView): string {
  if (!t.containerInstanceArn) return t.launchType === 'FARGATE' ? 'fargate' : '-';
  const i = t.instance;
  if (!i) return '?';
  if (i.gone) return `${i.id} (gone)`;
  return i.nameTag || i.privateIp || i.id;
}

/** Picker label: instances sharing a Name tag are told apart by id, IP and AZ. */
export function taskLabel(t: TaskView): string {
  const i = t.instance;
  const host = !t.containerInstanceArn ? hostLabel(t) : i && !i.gone ? [i.nameTag, i.id, i.privateIp].filter(Boolean).join(' ') : hostLabel(t);
  return escapeLine([t.id, t.availabilityZone ?? '-', host, t.startedAt ? `started ${t.startedAt}` : t.lastStatus, t.revision ? `rev ${t.revision}` : ''].filter(Boolean).join('  '));
}

/** At most `max` names for an error line, and how many there are. */
export function someOf(names: string[], max = 20): string {
  const shown = names.slice(0, max).map(escapeLine).join(', ');
  return names.length > max ? `${shown}, … (${names.length} in all)` : shown;
}

/** Close matches for "did you mean": edit distance within a third of the name, or a substring. */
export function closeMatches(name: string, candidates: string[], max = 3): string[] {
  const n = name.toLowerCase();
  return candidates
    .map((c) => ({ c, d: distance(n, c.toLowerCase()) }))
    .filter(({ c, d }) => d <= Math.max(2, Math.floor(name.length / 3)) || c.toLowerCase().includes(n) || n.includes(c.toLowerCase()))
    .sort((a, b) => a.d - b.d)
    .slice(0, max)
    .map(({ c }) => c);
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
