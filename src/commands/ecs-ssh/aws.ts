import type * as EcsSdk from '@aws-sdk/client-ecs';
import type * as Ec2Sdk from '@aws-sdk/client-ec2';
import { awsCall, createAwsClient, type AwsOptions } from '../../lib/aws.js';
import { codeCacheDir, requireCached } from './sdk-loader.js';

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
  executeCommand(input: { cluster: string; task: string; container: string; command: string }): Promise<EcsSdk.ExecuteCommandResponse>;
  /** Region and ECS endpoint, for session-manager-plugin. */
  connection(): Promise<{ region: string; endpoint: string; profile: string }>;
  /** Load the EC2 SDK (it is large) while the next ECS call is in flight. */
  warmUp(): void;
}

const DESCRIBE_BATCH = 100;

export function createEcsApi(aws: AwsOptions, env: NodeJS.ProcessEnv): EcsApi {
  // The SDKs ship CommonJS bundles: require() skips the ESM loader's export
  // scan of a 2 MB file (~200 ms for client-ec2) and loads only what is
  // needed, when needed; a V8 code cache saves most of the compile time.
  const cacheDir = codeCacheDir(env);
  const loadEc2 = () => requireCached<typeof Ec2Sdk>('@aws-sdk/client-ec2', cacheDir);
  const ecsSdk = requireCached<typeof EcsSdk>('@aws-sdk/client-ecs', cacheDir);
  const ecs = createAwsClient(ecsSdk.ECSClient, 'ECS', aws, env);
  let ec2: { sdk: typeof Ec2Sdk; client: Ec2Sdk.EC2Client } | undefined;
  const getEc2 = () => {
    if (!ec2) {
      const sdk = loadEc2();
      ec2 = { sdk, client: createAwsClient(sdk.EC2Client, 'EC2', aws, env) };
    }
    return ec2;
  };
  // Loading the EC2 SDK takes a few hundred ms of CPU. Started right after a
  // request went out on the kept-alive connection, it runs while AWS answers.
  let warm = false;
  const preloadEc2 = () => {
    warm = false;
    setTimeout(() => {
      try {
        getEc2();
      } catch {
        /* loaded again, with the error surfacing, when actually needed */
      }
    }, 0).unref();
  };
  const ctx = { profile: aws.profile, region: aws.region, env };
  const call = <T>(action: string, fn: () => Promise<T>): Promise<T> => awsCall(action, fn, ctx);

  return {
    listClusters() {
      return allPages((nextToken) => call('ecs:ListClusters', () => ecs.send(new ecsSdk.ListClustersCommand({ nextToken, maxResults: 100 }))), (r) => r.clusterArns);
    },
    listServices(cluster) {
      return allPages((nextToken) => call('ecs:ListServices', () => ecs.send(new ecsSdk.ListServicesCommand({ cluster, nextToken, maxResults: 100 }))), (r) => r.serviceArns);
    },
    async describeServices(cluster, services) {
      const out = { services: [] as EcsSdk.Service[], failures: [] as EcsSdk.Failure[] };
      for (const batch of chunks(services, 10)) {
        const r = await call('ecs:DescribeServices', () => ecs.send(new ecsSdk.DescribeServicesCommand({ cluster, services: batch })));
        out.services.push(...(r.services ?? []));
        out.failures.push(...(r.failures ?? []));
      }
      return out;
    },
    listTasks(cluster, filter) {
      return allPages((nextToken) => call('ecs:ListTasks', () => ecs.send(new ecsSdk.ListTasksCommand({ cluster, ...filter, nextToken, maxResults: 100 }))), (r) => r.taskArns);
    },
    async describeTasks(cluster, tasks) {
      const out = { tasks: [] as EcsSdk.Task[], failures: [] as EcsSdk.Failure[] };
      const pending = Promise.all(
        chunks(tasks, DESCRIBE_BATCH).map((batch) => call('ecs:DescribeTasks', () => ecs.send(new ecsSdk.DescribeTasksCommand({ cluster, tasks: batch })))),
      );
      if (warm) preloadEc2();
      const results = await pending;
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
          call('ecs:DescribeContainerInstances', () => ecs.send(new ecsSdk.DescribeContainerInstancesCommand({ cluster, containerInstances: batch }))),
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
      const { sdk, client } = getEc2();
      let wanted = [...new Set(ids)];
      // EC2 fails the whole call when one id is unknown ("instance gone"):
      // drop the ids it names and ask again for the rest.
      for (;;) {
        try {
          const instances: Ec2Sdk.Instance[] = [];
          let nextToken: string | undefined;
          do {
            const r = await call('ec2:DescribeInstances', () => client.send(new sdk.DescribeInstancesCommand({ InstanceIds: wanted, NextToken: nextToken })));
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
    async executeCommand(input) {
      return call('ecs:ExecuteCommand', () => ecs.send(new ecsSdk.ExecuteCommandCommand({ ...input, interactive: true })));
    },
    async connection() {
      const region = await ecs.config.region();
      const ep = await ecs.config.endpoint?.();
      const endpoint = ep ? `${ep.protocol}//${ep.hostname}${ep.port ? `:${ep.port}` : ''}${ep.path ?? ''}`.replace(/\/$/, '') : `https://ecs.${region}.amazonaws.com`;
      return { region, endpoint, profile: aws.profile ?? env.AWS_PROFILE ?? '' };
    },
    warmUp() {
      warm = true;
    },
  };
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
