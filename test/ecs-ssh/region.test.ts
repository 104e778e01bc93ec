import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { depsFromContext } from '../../src/commands/ecs-ssh/index.js';
import { resolveOptions } from '../../src/commands/ecs-ssh/options.js';
import { createContext } from '../../src/lib/context.js';
import { memoryStreams } from '../support/cli.js';

// A cluster given as an ARN names its region: the ECS client goes there unless
// --region / AWS_REGION / AWS_DEFAULT_REGION say otherwise (awsOptionsFor's order).
const ARN = 'arn:aws:ecs:us-east-2:123456789012:cluster/prod';

async function regionFor(cluster: string, env: NodeJS.ProcessEnv, regionFlag?: string) {
  const base = { HOME: '/nonexistent', XDG_CONFIG_HOME: '/nonexistent/cfg', AWS_CONFIG_FILE: '/nonexistent/config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', ...env };
  const ctx = createContext({ region: regionFlag } as never, { streams: memoryStreams().streams as never, stdin: new PassThrough(), env: base, signal: new AbortController().signal });
  const o = resolveOptions(['web'], { cluster }, ctx.setting);
  const deps = depsFromContext(o, ctx);
  return { region: (await deps.api.connection()).region, key: deps.cache!.key(o.cluster, 'web') };
}

describe('ecs-ssh: the region a cluster ARN implies', () => {
  it('an ARN in us-east-2 wins over the opsctl config region and the shared config', async () => {
    const r = await regionFor(ARN, { OPSCTL_AWS_REGION: 'eu-west-1' });
    expect(r.region).toBe('us-east-2');
    // the remembered task is filed under the region actually asked
    expect(r.key).toContain('us-east-2');
  });

  it('AWS_REGION and --region still win over the ARN', async () => {
    expect((await regionFor(ARN, { AWS_REGION: 'eu-central-1' })).region).toBe('eu-central-1');
    expect((await regionFor(ARN, { AWS_REGION: 'eu-central-1' }, 'ap-south-1')).region).toBe('ap-south-1');
  });

  it('a plain cluster name implies nothing: the configured region stays', async () => {
    expect((await regionFor('prod', { OPSCTL_AWS_REGION: 'eu-west-1' })).region).toBe('eu-west-1');
  });
});
