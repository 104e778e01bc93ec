import { randomBytes, randomUUID } from 'node:crypto';
import { AwsError, AwsJsonServer, FAKE_AWS_ENV } from './aws-json-server.js';

/**
 * A local stand-in for Amazon ECS (JSON 1.1, X-Amz-Target
 * AmazonEC2ContainerServiceV20141113.<Op>), EC2 (Query protocol, XML replies)
 * and SSM (JSON 1.1, AmazonSSM.<Op>: DescribeInstanceInformation,
 * StartSession, TerminateSession), on one port of the shared AwsJsonServer,
 * for the real SDK clients via endpoint override. Bodies follow the shapes of
 * AWS's documented examples; list calls paginate with nextToken (100 per
 * page); describe calls enforce AWS's batch limits. Every call is counted;
 * latency and errors can be injected per operation.
 */
export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

export interface FakeInstance {
  id: string;
  nameTag?: string;
  privateIp?: string;
  privateDns?: string;
  publicIp?: string;
  publicDns?: string;
  state: 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';
  az: string;
  /** Extra tags besides Name. */
  tags?: Record<string, string>;
  /** Registered with SSM: the agent's ping status. */
  ssm?: 'Online' | 'ConnectionLost' | 'Inactive';
}

export interface FakeContainer {
  name: string;
  runtimeId?: string;
  lastStatus?: string;
  image?: string;
  /** From the task definition (default true). */
  essential?: boolean;
  /** networkBindings (bridge/host network mode). */
  ports?: Array<{ containerPort: number; hostPort: number; bindIP?: string }>;
  /** managedAgents ExecuteCommandAgent lastStatus (set for exec-enabled tasks). */
  execAgent?: string;
  exitCode?: number;
  reason?: string;
}

export interface FakeTask {
  arn: string;
  id: string;
  cluster: string;
  group: string;
  taskDefinitionArn: string;
  lastStatus: string;
  desiredStatus: string;
  az: string;
  startedAt?: Date;
  launchType: 'EC2' | 'FARGATE';
  containerInstanceArn?: string;
  enableExecuteCommand: boolean;
  stoppedReason?: string;
  stoppedAt?: Date;
  /** awsvpc: the task ENI's private address. */
  eniIp?: string;
  containers: FakeContainer[];
}

export interface FakeService {
  name: string;
  cluster: string;
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  desiredCount: number;
  pendingCount: number;
  events: Array<{ id: string; createdAt: Date; message: string }>;
}

export interface RecordedAwsCall {
  service: 'ecs' | 'ec2' | 'ssm';
  op: string;
  input: Record<string, unknown>;
}

export interface InjectedError {
  code: string;
  message: string;
  status?: number;
  /** How many calls fail (default: all from now on). */
  times?: number;
}

const hex = (n: number) => randomBytes(n).toString('hex');
const arn = (kind: string, rest: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:${kind}/${rest}`;

export class FakeAws {
  clusters = new Set<string>();
  services: FakeService[] = [];
  tasks: FakeTask[] = [];
  containerInstances = new Map<string, { arn: string; cluster: string; ec2InstanceId: string }>();
  instances = new Map<string, FakeInstance>();
  calls: RecordedAwsCall[] = [];
  latencyMs = 0;
  /** For each call, from the request's arrival to the last byte of the answer written (latency included). */
  answerMs: number[] = [];
  /** SSM sessions started (StartSession), with what was asked and whether TerminateSession ended them. */
  sessions: Array<{ sessionId: string; input: Record<string, unknown>; terminated: boolean }> = [];
  private faults = new Map<string, InjectedError[]>();
  private seq = 0;

  addCluster(name: string): this {
    this.clusters.add(name);
    return this;
  }

  addService(cluster: string, name: string, opts: Partial<Omit<FakeService, 'name' | 'cluster'>> = {}): FakeService {
    this.addCluster(cluster);
    const s: FakeService = { name, cluster, status: 'ACTIVE', desiredCount: 1, pendingCount: 0, events: [], ...opts };
    this.services.push(s);
    return s;
  }

  addInstance(opts: Partial<FakeInstance> = {}): FakeInstance {
    const n = ++this.seq;
    const ip = opts.privateIp ?? `10.0.${Math.floor(n / 250)}.${(n % 250) + 1}`;
    const inst: FakeInstance = {
      id: `i-0${hex(8)}`,
      privateIp: ip,
      privateDns: `ip-${ip.replace(/\./g, '-')}.${REGION}.compute.internal`,
      state: 'running',
      az: `${REGION}a`,
      ...opts,
    };
    this.instances.set(inst.id, inst);
    return inst;
  }

  /** A running task on an EC2 container instance (a new instance unless one is given). */
  addEc2Task(cluster: string, service: string | undefined, opts: { instance?: FakeInstance | Partial<FakeInstance>; containers?: FakeContainer[]; lastStatus?: string; desiredStatus?: string; revision?: number; startedAt?: Date; stoppedReason?: string; stoppedAt?: Date; family?: string; enableExecuteCommand?: boolean; eniIp?: string } = {}): FakeTask {
    this.addCluster(cluster);
    const inst = opts.instance && 'id' in opts.instance && opts.instance.id && this.instances.has(opts.instance.id) ? (opts.instance as FakeInstance) : this.addInstance(opts.instance ?? {});
    let ci = [...this.containerInstances.values()].find((c) => c.ec2InstanceId === inst.id && c.cluster === cluster);
    if (!ci) {
      ci = { arn: arn('container-instance', `${cluster}/${hex(16)}`), cluster, ec2InstanceId: inst.id };
      this.containerInstances.set(ci.arn, ci);
    }
    return this.pushTask(cluster, service, { ...opts, launchType: 'EC2', containerInstanceArn: ci.arn, az: inst.az });
  }

  addFargateTask(cluster: string, service: string | undefined, opts: { enableExecuteCommand?: boolean; containers?: FakeContainer[]; eniIp?: string } = {}): FakeTask {
    this.addCluster(cluster);
    return this.pushTask(cluster, service, { eniIp: '10.0.200.9', ...opts, launchType: 'FARGATE', az: `${REGION}b` });
  }

  private pushTask(cluster: string, service: string | undefined, o: { launchType: 'EC2' | 'FARGATE'; containerInstanceArn?: string; az: string; containers?: FakeContainer[]; lastStatus?: string; desiredStatus?: string; revision?: number; startedAt?: Date; enableExecuteCommand?: boolean; stoppedReason?: string; stoppedAt?: Date; family?: string; eniIp?: string }): FakeTask {
    const id = hex(16);
    const family = o.family ?? service ?? 'adhoc';
    const lastStatus = o.lastStatus ?? 'RUNNING';
    const t: FakeTask = {
      arn: arn('task', `${cluster}/${id}`),
      id,
      cluster,
      group: service ? `service:${service}` : `family:${family}`,
      taskDefinitionArn: arn('task-definition', `${family}:${o.revision ?? 7}`).replace(/task-definition\//, 'task-definition/'),
      lastStatus,
      desiredStatus: o.desiredStatus ?? (lastStatus === 'STOPPED' ? 'STOPPED' : 'RUNNING'),
      az: o.az,
      startedAt: lastStatus === 'PENDING' || lastStatus === 'PROVISIONING' ? undefined : (o.startedAt ?? new Date(Date.UTC(2026, 10, 23, 9, 0, this.tasks.length))),
      launchType: o.launchType,
      containerInstanceArn: o.containerInstanceArn,
      enableExecuteCommand: Boolean(o.enableExecuteCommand),
      stoppedReason: o.stoppedReason,
      stoppedAt: o.stoppedAt ?? (lastStatus === 'STOPPED' ? new Date(Date.UTC(2026, 10, 23, 10, 0, this.tasks.length)) : undefined),
      eniIp: o.eniIp,
      containers: (o.containers ?? [{ name: service ?? family }]).map((c) => ({
        lastStatus: lastStatus === 'RUNNING' ? 'RUNNING' : lastStatus,
        runtimeId: lastStatus === 'PENDING' ? undefined : hex(32),
        image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${c.name}:latest`,
        ...(o.enableExecuteCommand ? { execAgent: 'RUNNING' } : {}),
        ...c,
      })),
    };
    this.tasks.push(t);
    return t;
  }

  /** Make the next `times` calls of `op` (e.g. "ListTasks", "DescribeInstances", or "*") fail. */
  fail(op: string, err: InjectedError): void {
    const list = this.faults.get(op) ?? [];
    list.push({ ...err, times: err.times ?? Infinity });
    this.faults.set(op, list);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  count(op?: string): number {
    return op ? this.calls.filter((c) => c.op === op).length : this.calls.length;
  }

  /** { op: n } in call order. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.calls) out[c.op] = (out[c.op] ?? 0) + 1;
    return out;
  }

  resetCalls(): void {
    this.calls = [];
  }

  takeFault(op: string): InjectedError | undefined {
    for (const key of [op, '*']) {
      const list = this.faults.get(key);
      const f = list?.[0];
      if (!f) continue;
      f.times = (f.times ?? Infinity) - 1;
      if (f.times <= 0) list!.shift();
      return f;
    }
    return undefined;
  }

  // ── ECS ────────────────────────────────────────────────────────────────────
  ecs(op: string, input: Record<string, any>): unknown {
    const clusterName = (): string => {
      const c = String(input.cluster ?? 'default');
      const name = c.startsWith('arn:') ? c.slice(c.lastIndexOf('/') + 1) : c;
      if (!this.clusters.has(name)) throw new EcsError('ClusterNotFoundException', 'Cluster not found.');
      return name;
    };
    const page = <T>(items: T[]) => {
      const max = Math.min(Number(input.maxResults ?? 100), 100);
      const start = input.nextToken ? Number(Buffer.from(String(input.nextToken), 'base64').toString()) : 0;
      const slice = items.slice(start, start + max);
      const next = start + max < items.length ? Buffer.from(String(start + max)).toString('base64') : undefined;
      return { slice, next };
    };
    const findTask = (cluster: string, ref: string) => this.tasks.find((t) => t.cluster === cluster && (t.arn === ref || t.id === ref));
    switch (op) {
      case 'ListClusters': {
        const { slice, next } = page([...this.clusters].map((c) => arn('cluster', c)));
        return { clusterArns: slice, nextToken: next };
      }
      case 'ListServices': {
        const cluster = clusterName();
        const { slice, next } = page(this.services.filter((s) => s.cluster === cluster && s.status !== 'INACTIVE').map((s) => arn('service', `${cluster}/${s.name}`)));
        return { serviceArns: slice, nextToken: next };
      }
      case 'DescribeServices': {
        const cluster = clusterName();
        const wanted: string[] = input.services ?? [];
        if (wanted.length > 10) throw new EcsError('InvalidParameterException', 'services can have at most 10 items.');
        const services: unknown[] = [];
        const failures: unknown[] = [];
        for (const ref of wanted) {
          const name = ref.slice(ref.lastIndexOf('/') + 1);
          const s = this.services.find((x) => x.cluster === cluster && x.name === name);
          if (!s) {
            failures.push({ arn: arn('service', `${cluster}/${name}`), reason: 'MISSING' });
            continue;
          }
          const running = this.tasks.filter((t) => t.cluster === cluster && t.group === `service:${name}` && t.lastStatus === 'RUNNING').length;
          services.push({
            serviceArn: arn('service', `${cluster}/${name}`),
            serviceName: name,
            clusterArn: arn('cluster', cluster),
            status: s.status,
            desiredCount: s.desiredCount,
            runningCount: running,
            pendingCount: s.pendingCount,
            launchType: 'EC2',
            events: s.events.map((e) => ({ id: e.id, createdAt: e.createdAt.getTime() / 1000, message: e.message })),
          });
        }
        return { services, failures };
      }
      case 'ListTasks': {
        const cluster = clusterName();
        let tasks = this.tasks.filter((t) => t.cluster === cluster);
        if (input.serviceName) {
          const name = String(input.serviceName).slice(String(input.serviceName).lastIndexOf('/') + 1);
          if (!this.services.some((s) => s.cluster === cluster && s.name === name)) throw new EcsError('ServiceNotFoundException', 'Service not found.');
          tasks = tasks.filter((t) => t.group === `service:${name}`);
        }
        const desired = input.desiredStatus ?? 'RUNNING';
        tasks = tasks.filter((t) => t.desiredStatus === desired);
        const { slice, next } = page(tasks.map((t) => t.arn));
        return { taskArns: slice, nextToken: next };
      }
      case 'DescribeTasks': {
        const cluster = clusterName();
        const refs: string[] = input.tasks ?? [];
        if (refs.length > 100) throw new EcsError('InvalidParameterException', 'Tasks cannot be longer than 100.');
        const tasks: unknown[] = [];
        const failures: unknown[] = [];
        for (const ref of refs) {
          const t = findTask(cluster, ref);
          if (!t) failures.push({ arn: ref.startsWith('arn:') ? ref : arn('task', `${cluster}/${ref}`), reason: 'MISSING' });
          else tasks.push(taskJson(t));
        }
        return { tasks, failures };
      }
      case 'DescribeContainerInstances': {
        const cluster = clusterName();
        const refs: string[] = input.containerInstances ?? [];
        if (refs.length > 100) throw new EcsError('InvalidParameterException', 'containerInstances cannot be longer than 100.');
        const containerInstances: unknown[] = [];
        const failures: unknown[] = [];
        for (const ref of refs) {
          const ci = [...this.containerInstances.values()].find((c) => c.cluster === cluster && (c.arn === ref || c.arn.endsWith(`/${ref}`)));
          if (!ci) failures.push({ arn: ref, reason: 'MISSING' });
          else containerInstances.push({ containerInstanceArn: ci.arn, ec2InstanceId: ci.ec2InstanceId, status: 'ACTIVE', agentConnected: true, runningTasksCount: this.tasks.filter((t) => t.containerInstanceArn === ci.arn && t.lastStatus === 'RUNNING').length, pendingTasksCount: 0, versionInfo: { agentVersion: '1.89.0', dockerVersion: 'DockerVersion: 25.0.8' } });
        }
        return { containerInstances, failures };
      }
      case 'ExecuteCommand': {
        const cluster = clusterName();
        const t = findTask(cluster, String(input.task));
        if (!t) throw new EcsError('InvalidParameterException', 'The task provided in the request was not found.');
        if (!t.enableExecuteCommand) throw new EcsError('InvalidParameterException', 'The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running.');
        if (input.interactive !== true) throw new EcsError('InvalidParameterException', 'Interactive is the only mode supported currently.');
        const c = t.containers.find((x) => x.name === input.container) ?? t.containers[0]!;
        const sessionId = `ecs-execute-command-${hex(8)}`;
        return {
          clusterArn: arn('cluster', cluster),
          containerArn: arn('container', `${cluster}/${t.id}/${hex(16)}`),
          containerName: c.name,
          interactive: true,
          session: { sessionId, streamUrl: `wss://ssmmessages.${REGION}.amazonaws.com/v1/data-channel/${sessionId}?role=publish_subscribe`, tokenValue: `token-${hex(16)}` },
          taskArn: t.arn,
        };
      }
      case 'DescribeTaskDefinition': {
        const ref = String(input.taskDefinition ?? '');
        const t = this.tasks.find((x) => x.taskDefinitionArn === ref || x.taskDefinitionArn.endsWith(`/${ref}`));
        if (!t) throw new EcsError('ClientException', 'Unable to describe task definition.');
        return {
          taskDefinition: {
            taskDefinitionArn: t.taskDefinitionArn,
            family: t.taskDefinitionArn.slice(t.taskDefinitionArn.lastIndexOf('/') + 1).split(':')[0],
            revision: Number(t.taskDefinitionArn.split(':').pop()),
            networkMode: t.eniIp ? 'awsvpc' : 'bridge',
            containerDefinitions: t.containers.map((c) => ({ name: c.name, image: c.image, essential: c.essential !== false, portMappings: (c.ports ?? []).map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort, protocol: 'tcp' })) })),
            status: 'ACTIVE',
          },
        };
      }
      default:
        throw new EcsError('UnknownOperationException', `stand-in does not implement ${op}`);
    }
  }

  // ── SSM ────────────────────────────────────────────────────────────────────
  ssm(op: string, input: Record<string, any>): unknown {
    switch (op) {
      case 'DescribeInstanceInformation': {
        const filters: Array<{ Key: string; Values: string[] }> = input.Filters ?? [];
        const ids = filters.find((f) => f.Key === 'InstanceIds')?.Values;
        const list = [...this.instances.values()].filter((i) => i.ssm && (!ids || ids.includes(i.id)));
        return {
          InstanceInformationList: list.map((i) => ({
            InstanceId: i.id,
            PingStatus: i.ssm,
            LastPingDateTime: Date.UTC(2026, 11, 1) / 1000,
            AgentVersion: '3.3.1142.0',
            IsLatestVersion: false,
            PlatformType: 'Linux',
            PlatformName: 'Amazon Linux',
            PlatformVersion: '2023',
            ResourceType: 'EC2Instance',
            IPAddress: i.privateIp,
            ComputerName: i.privateDns,
          })),
        };
      }
      case 'StartSession': {
        const target = String(input.Target ?? '');
        if (target.startsWith('i-')) {
          const i = this.instances.get(target);
          if (!i) throw new EcsError('InvalidTarget', `Target ${target} is not connected.`);
          if (i.ssm !== 'Online') throw new EcsError('TargetNotConnected', `${target} is not connected.`);
        } else if (target.startsWith('ecs:')) {
          const [cluster, taskId] = target.slice(4).split('_');
          const t = this.tasks.find((x) => x.cluster === cluster && x.id === taskId);
          if (!t || !t.enableExecuteCommand) throw new EcsError('TargetNotConnected', `${target} is not connected.`);
        } else throw new EcsError('InvalidTarget', `Target ${target} is not valid.`);
        const doc = input.DocumentName;
        if (doc !== undefined && !['AWS-StartInteractiveCommand', 'AWS-StartPortForwardingSession', 'AWS-StartPortForwardingSessionToRemoteHost', 'AWS-StartSSHSession'].includes(doc)) {
          throw new EcsError('InvalidDocument', `Document ${doc} does not exist in your account`);
        }
        const sessionId = `opsctl-test-${hex(8)}`;
        this.sessions.push({ sessionId, input, terminated: false });
        return { SessionId: sessionId, TokenValue: `token-${hex(16)}`, StreamUrl: `wss://ssmmessages.${REGION}.amazonaws.com/v1/data-channel/${sessionId}?role=publish_subscribe&cell-number=AAEAAQ` };
      }
      case 'TerminateSession': {
        const s = this.sessions.find((x) => x.sessionId === input.SessionId);
        if (s) s.terminated = true;
        return { SessionId: input.SessionId };
      }
      default:
        throw new EcsError('InvalidAction', `stand-in does not implement ${op}`);
    }
  }

  // ── EC2 ────────────────────────────────────────────────────────────────────
  ec2(op: string, params: URLSearchParams): string {
    if (op !== 'DescribeInstances') throw new Ec2Error('InvalidAction', `The action ${op} is not valid for this web service.`);
    const ids: string[] = [];
    for (const [k, v] of params) if (/^InstanceId\.\d+$/.test(k)) ids.push(v);
    const missing = ids.filter((id) => !this.instances.has(id));
    if (missing.length === 1) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${missing[0]}' does not exist`);
    if (missing.length > 1) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
    const chosen = ids.length ? ids.map((id) => this.instances.get(id)!) : [...this.instances.values()];
    const reservations = chosen
      .map(
        (i) => `
    <item>
      <reservationId>r-0${hex(8)}</reservationId>
      <ownerId>${ACCOUNT}</ownerId>
      <groupSet/>
      <instancesSet>
        <item>
          <instanceId>${x(i.id)}</instanceId>
          <imageId>ami-0abcdef1234567890</imageId>
          <instanceState><code>${stateCode(i.state)}</code><name>${i.state}</name></instanceState>
          <privateDnsName>${i.state === 'terminated' ? '' : x(i.privateDns ?? '')}</privateDnsName>
          <dnsName>${i.state === 'terminated' ? '' : x(i.publicDns ?? '')}</dnsName>
          <instanceType>t3.medium</instanceType>
          <placement><availabilityZone>${x(i.az)}</availabilityZone><tenancy>default</tenancy></placement>
          ${i.state !== 'terminated' && i.privateIp ? `<privateIpAddress>${x(i.privateIp)}</privateIpAddress>` : ''}
          ${i.state !== 'terminated' && i.publicIp ? `<ipAddress>${x(i.publicIp)}</ipAddress>` : ''}
          <tagSet>${Object.entries({ ...(i.nameTag !== undefined ? { Name: i.nameTag } : {}), 'aws:autoscaling:groupName': 'ecs-asg', ...(i.tags ?? {}) })
            .map(([k, v]) => `<item><key>${x(k)}</key><value>${x(v)}</value></item>`)
            .join('')}</tagSet>
        </item>
      </instancesSet>
    </item>`,
      )
      .join('');
    return `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>${randomUUID()}</requestId>
  <reservationSet>${reservations}
  </reservationSet>
</DescribeInstancesResponse>`;
  }
}

function taskJson(t: FakeTask) {
  return {
    taskArn: t.arn,
    clusterArn: arn('cluster', t.cluster),
    taskDefinitionArn: t.taskDefinitionArn,
    group: t.group,
    lastStatus: t.lastStatus,
    desiredStatus: t.desiredStatus,
    availabilityZone: t.az,
    launchType: t.launchType,
    ...(t.containerInstanceArn ? { containerInstanceArn: t.containerInstanceArn } : {}),
    enableExecuteCommand: t.enableExecuteCommand,
    ...(t.startedAt ? { startedAt: t.startedAt.getTime() / 1000, createdAt: t.startedAt.getTime() / 1000 - 20 } : {}),
    ...(t.stoppedReason ? { stoppedReason: t.stoppedReason } : {}),
    ...(t.stoppedAt ? { stoppedAt: t.stoppedAt.getTime() / 1000, stopCode: 'EssentialContainerExited' } : {}),
    ...(t.eniIp
      ? { attachments: [{ id: randomUUID(), type: 'ElasticNetworkInterface', status: 'ATTACHED', details: [{ name: 'subnetId', value: 'subnet-0abc' }, { name: 'networkInterfaceId', value: `eni-0${hex(8)}` }, { name: 'privateIPv4Address', value: t.eniIp }] }] }
      : {}),
    cpu: '256',
    memory: '512',
    containers: t.containers.map((c) => ({
      containerArn: arn('container', `${t.cluster}/${t.id}/${c.name}`),
      taskArn: t.arn,
      name: c.name,
      image: c.image,
      ...(c.runtimeId ? { runtimeId: c.runtimeId } : {}),
      lastStatus: c.lastStatus,
      ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
      ...(c.reason ? { reason: c.reason } : {}),
      networkBindings: (c.ports ?? []).map((p) => ({ bindIP: p.bindIP ?? '0.0.0.0', containerPort: p.containerPort, hostPort: p.hostPort, protocol: 'tcp' })),
      ...(t.eniIp ? { networkInterfaces: [{ attachmentId: randomUUID(), privateIpv4Address: t.eniIp }] } : {}),
      ...(c.execAgent ? { managedAgents: [{ name: 'ExecuteCommandAgent', lastStatus: c.execAgent, lastStartedAt: 1764000000 }] } : {}),
      healthStatus: 'UNKNOWN',
    })),
  };
}

const stateCode = (s: FakeInstance['state']) => ({ pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 })[s];
const x = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

class EcsError extends AwsError {}
class Ec2Error extends EcsError {}

export interface EcsStandin {
  url: string;
  aws: FakeAws;
  server: AwsJsonServer;
  /** Environment for the SDK (and the opsctl binary) to use this stand-in with fake credentials. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** The FakeAws on the shared server: ECS and SSM over JSON 1.1, EC2 over Query. */
export async function startEcsStandin(aws = new FakeAws()): Promise<EcsStandin> {
  const serve = async <T>(service: RecordedAwsCall['service'], op: string, input: Record<string, unknown>, answer: () => T): Promise<T> => {
    aws.calls.push({ service, op, input });
    if (aws.latencyMs > 0) await new Promise((r) => setTimeout(r, aws.latencyMs));
    const fault = aws.takeFault(op);
    if (fault) throw new EcsError(fault.code, fault.message, fault.status ?? 400);
    return answer();
  };
  const server = new AwsJsonServer({
    json: {
      AmazonEC2ContainerServiceV20141113: (op, input) => serve('ecs', op, input, () => aws.ecs(op, input)),
      AmazonSSM: (op, input) => serve('ssm', op, input, () => aws.ssm(op, input)),
    },
    query: (op, params) => serve('ec2', op, Object.fromEntries(params), () => aws.ec2(op, params)),
  });
  const url = await server.start();
  aws.answerMs = server.answerMs;
  return {
    url,
    aws,
    server,
    env: {
      ...FAKE_AWS_ENV,
      AWS_ENDPOINT_URL_ECS: url,
      AWS_ENDPOINT_URL_EC2: url,
      AWS_ENDPOINT_URL_SSM: url,
      AWS_REGION: REGION,
    },
    stop: () => server.stop(),
  };
}
