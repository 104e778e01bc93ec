import type * as EcsSdk from '@aws-sdk/client-ecs';
import type * as Ec2Sdk from '@aws-sdk/client-ec2';
import type * as SsmSdk from '@aws-sdk/client-ssm';
import { awsCall, createAwsClient, type AwsOptions } from '../../lib/aws.js';
import diagnostics from 'node:diagnostics_channel';
import { OpsError, firstLine } from '../../lib/errors.js';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ExecuteCommandCommand,
  ListClustersCommand,
  ListServicesCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';

/**
 * The ECS and EC2 calls ecs-ssh makes, batched the way the APIs allow
 * (100 tasks / container instances per describe call, every instance in one
 * DescribeInstances). Tests hand in the same thing pointed at a local stand-in.
 */
export interface EcsApi {
  listClusters(): Promise<string[]>;
  listServices(cluster: string): Promise<string[]>;
  describeServices(cluster: string, services: string[]): Promise<{ services: EcsSdk.Service[]; failures: EcsSdk.Failure[] }>;
  listTasks(cluster: string, filter: { serviceName?: string; desiredStatus?: 'RUNNING' | 'STOPPED' }): Promise<string[]>;
  describeTasks(cluster: string, tasks: string[]): Promise<{ tasks: EcsSdk.Task[]; failures: EcsSdk.Failure[] }>;
  describeContainerInstances(cluster: string, arns: string[]): Promise<{ containerInstances: EcsSdk.ContainerInstance[]; failures: EcsSdk.Failure[] }>;
  /** Instances that exist; ids EC2 no longer knows are left out (the caller reports them). */
  describeInstances(ids: string[]): Promise<Ec2Sdk.Instance[]>;
  /** Only asked when a task has several containers and none is named like its service. */
  describeTaskDefinition(arn: string): Promise<EcsSdk.TaskDefinition | undefined>;
  executeCommand(input: { cluster: string; task: string; container: string; command: string }): Promise<EcsSdk.ExecuteCommandResponse>;
  /** SSM-managed instances among `ids` (the SSM client loads only when asked). */
  describeInstanceInformation(ids: string[]): Promise<SsmSdk.InstanceInformation[]>;
  startSession(input: { Target: string; DocumentName?: string; Parameters?: Record<string, string[]>; Reason?: string }): Promise<SsmSdk.StartSessionResponse>;
  terminateSession(sessionId: string): Promise<void>;
  /**
   * Runs `work` once the first AWS request is on its way, so local work
   * (ssh -G, loading the EC2 client) overlaps the wait for AWS instead of delaying the request.
   */
  whileWaiting(work: () => void): void;
  /** Start loading the EC2 client (only the full lookup needs it; a repeat connect never does). */
  prefetchEc2(): void;
  /** Region, endpoint and profile for session-manager-plugin (the ECS endpoint for ECS Exec, SSM's for StartSession). */
  connection(service?: 'ecs' | 'ssm'): Promise<{ region: string; endpoint: string; profile: string }>;
}

const DESCRIBE_BATCH = 100;

/** `signal`: aborting it (Ctrl-C) cancels AWS calls in flight instead of waiting for them. */
export function createEcsApi(aws: AwsOptions, env: NodeJS.ProcessEnv, signal?: AbortSignal): EcsApi {
  const sendOptions = signal ? { abortSignal: signal } : undefined;
  const ecs = createAwsClient(ECSClient, 'ECS', aws, env);
  let ec2: Ec2Sdk.EC2Client | undefined;
  // 800 KB of the ecs-ssh bundle is the EC2 client: loaded on demand.
  let ec2Sdk: Promise<typeof import('./ec2-sdk.js')> | undefined;
  const loadEc2 = () => (ec2Sdk ??= import('./ec2-sdk.js'));
  let started = false;
  let fired = false;
  const waiting: Array<() => void> = [];
  const fire = () => {
    if (fired) return;
    fired = true;
    for (const work of waiting.splice(0)) work();
  };
  const requestStarted = () => {
    if (started) return;
    started = true;
    // Local work waits until the request's socket is connected (its bytes go out next), so it
    // fills the wait for AWS instead of delaying the request; a timer in case that is never seen.
    onFirstConnect(fire);
    setTimeout(fire, 150).unref?.();
  };
  let ssm: Promise<{ client: SsmSdk.SSMClient; sdk: typeof import('./ssm-sdk.js') }> | undefined;
  const ssmClient = () =>
    (ssm ??= import('./ssm-sdk.js').then((sdk) => ({ sdk, client: createAwsClient(sdk.SSMClient, 'SSM', aws, env) })));
  const ctx = { profile: aws.profile, region: aws.region, env };
  const call = <T>(action: string, fn: () => Promise<T>): Promise<T> => {
    const pending = awsCall(action, fn, ctx).catch((err: unknown) => {
      throw serverError(err, action) ?? err;
    });
    requestStarted();
    return pending;
  };

  return {
    listClusters() {
      return allPages((nextToken) => call('ecs:ListClusters', () => ecs.send(new ListClustersCommand({ nextToken, maxResults: 100 }), sendOptions)), (r) => r.clusterArns);
    },
    listServices(cluster) {
      return allPages((nextToken) => call('ecs:ListServices', () => ecs.send(new ListServicesCommand({ cluster, nextToken, maxResults: 100 }), sendOptions)), (r) => r.serviceArns);
    },
    async describeServices(cluster, services) {
      const out = { services: [] as EcsSdk.Service[], failures: [] as EcsSdk.Failure[] };
      for (const batch of chunks(services, 10)) {
        const r = await call('ecs:DescribeServices', () => ecs.send(new DescribeServicesCommand({ cluster, services: batch }), sendOptions));
        out.services.push(...(r.services ?? []));
        out.failures.push(...(r.failures ?? []));
      }
      return out;
    },
    listTasks(cluster, filter) {
      return allPages((nextToken) => call('ecs:ListTasks', () => ecs.send(new ListTasksCommand({ cluster, ...filter, nextToken, maxResults: 100 }), sendOptions)), (r) => r.taskArns);
    },
    async describeTasks(cluster, tasks) {
      const out = { tasks: [] as EcsSdk.Task[], failures: [] as EcsSdk.Failure[] };
      const results = await Promise.all(
        chunks(tasks, DESCRIBE_BATCH).map((batch) => call('ecs:DescribeTasks', () => ecs.send(new DescribeTasksCommand({ cluster, tasks: batch }), sendOptions))),
      );
      for (const r of results) {
        out.tasks.push(...(r.tasks ?? []));
        out.failures.push(...(r.failures ?? []));
      }
      return out;
    },
    async describeContainerInstances(cluster, arns) {
      const out = { containerInstances: [] as EcsSdk.ContainerInstance[], failures: [] as EcsSdk.Failure[] };
      const results = await Promise.all(
        chunks(arns, DESCRIBE_BATCH).map((batch) =>
          call('ecs:DescribeContainerInstances', () => ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: batch }), sendOptions)),
        ),
      );
      for (const r of results) {
        out.containerInstances.push(...(r.containerInstances ?? []));
        out.failures.push(...(r.failures ?? []));
      }
      return out;
    },
    async describeInstances(ids) {
      if (ids.length === 0) return [];
      const sdk = await loadEc2();
      const client = (ec2 ??= createAwsClient(sdk.EC2Client, 'EC2', aws, env));
      const { DescribeInstancesCommand } = sdk;
      let wanted = [...new Set(ids)];
      // EC2 fails the whole call when one id is unknown ("instance gone"):
      // drop the ids it names and ask again for the rest.
      for (;;) {
        try {
          const instances: Ec2Sdk.Instance[] = [];
          let nextToken: string | undefined;
          do {
            const r = await call('ec2:DescribeInstances', () => client.send(new DescribeInstancesCommand({ InstanceIds: wanted, NextToken: nextToken }), sendOptions));
            for (const res of r.Reservations ?? []) instances.push(...(res.Instances ?? []));
            nextToken = r.NextToken;
          } while (nextToken);
          return instances;
        } catch (err) {
          const e = err as { name?: string; Code?: string; message?: string };
          if ((e.name ?? e.Code) !== 'InvalidInstanceID.NotFound') throw err;
          const gone = new Set((e.message ?? '').match(/i-[0-9a-f]+/g) ?? []);
          const rest = wanted.filter((id) => !gone.has(id));
          if (gone.size === 0 || rest.length === wanted.length || rest.length === 0) return [];
          wanted = rest;
        }
      }
    },
    async describeTaskDefinition(arn) {
      return (await call('ecs:DescribeTaskDefinition', () => ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }), sendOptions))).taskDefinition;
    },
    async executeCommand(input) {
      return call('ecs:ExecuteCommand', () => ecs.send(new ExecuteCommandCommand({ ...input, interactive: true }), sendOptions));
    },
    async describeInstanceInformation(ids) {
      if (ids.length === 0) return [];
      const { sdk, client } = await ssmClient();
      const out: SsmSdk.InstanceInformation[] = [];
      let NextToken: string | undefined;
      do {
        const r = await call('ssm:DescribeInstanceInformation', () =>
          client.send(new sdk.DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: ids }], NextToken }), sendOptions),
        );
        out.push(...(r.InstanceInformationList ?? []));
        NextToken = r.NextToken;
      } while (NextToken);
      return out;
    },
    async startSession(input) {
      const { sdk, client } = await ssmClient();
      return call('ssm:StartSession', () => client.send(new sdk.StartSessionCommand(input), sendOptions));
    },
    async terminateSession(sessionId) {
      const { sdk, client } = await ssmClient();
      await call('ssm:TerminateSession', () => client.send(new sdk.TerminateSessionCommand({ SessionId: sessionId })));
    },
    whileWaiting(work) {
      if (fired) setTimeout(work, 0);
      else waiting.push(work);
    },
    prefetchEc2() {
      void loadEc2().catch(() => undefined);
    },
    async connection(service = 'ecs') {
      const config = service === 'ssm' ? (await ssmClient()).client.config : ecs.config;
      const region = await config.region();
      const ep = await config.endpoint?.();
      const endpoint = ep ? `${ep.protocol}//${ep.hostname}${ep.port ? `:${ep.port}` : ''}${ep.path ?? ''}`.replace(/\/$/, '') : `https://${service}.${region}.amazonaws.com`;
      return { region, endpoint, profile: aws.profile ?? env.AWS_PROFILE ?? '' };
    },
  };
}

/** Calls `cb` once, when the next HTTP(S) request of this process has a connected socket. */
function onFirstConnect(cb: () => void): void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    diagnostics.unsubscribe('http.client.request.start', onRequest);
    setImmediate(cb);
  };
  const onRequest = (message: unknown) => {
    const request = (message as { request?: import('node:http').ClientRequest }).request;
    if (!request) return once();
    const onSocket = (socket: import('node:net').Socket) => (socket.connecting ? socket.once('connect', once).once('secureConnect', once) : once());
    if (request.socket) onSocket(request.socket);
    else request.once('socket', onSocket);
  };
  diagnostics.subscribe('http.client.request.start', onRequest);
}

/**
 * The SDK retries 5xx answers; when they still fail the user gets one line
 * naming the call, not the SDK's raw error (often an HTML body or "UnknownError").
 */
export function serverError(err: unknown, action: string): OpsError | undefined {
  if (err instanceof OpsError) return undefined;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $response?: { statusCode?: number } };
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  if (!status || status < 500) return undefined;
  const why = firstLine(err).slice(0, 200);
  return new OpsError(`AWS answered ${action} with HTTP ${status}${e.name && e.name !== 'Error' ? ` (${e.name})` : ''} even after retries${why && why !== e.name ? `: ${why}` : ''}.`, {
    hint: 'a problem on the AWS side: try again in a minute (https://health.aws.amazon.com shows outages); check --region if it persists',
    code: 'aws-server-error',
    cause: err,
  });
}

/** Every page of an ECS List* call, following nextToken. */
async function allPages<R extends { nextToken?: string }>(page: (nextToken?: string) => Promise<R>, items: (r: R) => string[] | undefined): Promise<string[]> {
  const out: string[] = [];
  let nextToken: string | undefined;
  do {
    const r = await page(nextToken);
    out.push(...(items(r) ?? []));
    nextToken = r.nextToken;
  } while (nextToken);
  return out;
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
