import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import { awsOptionsFor, createAwsClient, regionFromId, resolveAws, type AwsOptions } from '../../src/lib/aws.js';
import { listProfiles, parseIni } from '../../src/lib/aws-config.js';
import { createContext } from '../../src/lib/context.js';
import { OpsError } from '../../src/lib/errors.js';
import { runCli } from '../../src/cli.js';
import { AwsJsonServer } from '../support/aws-json-server.js';
import { memoryStreams } from '../support/cli.js';

/** A HOME with its own ~/.aws/config and ~/.aws/credentials (new paths each time: the SDK caches files by path). */
function awsHome(config: string, credentials = '') {
  const home = mkdtempSync(path.join(os.tmpdir(), 'aws-home-'));
  const configFile = path.join(home, 'aws-config');
  const credentialsFile = path.join(home, 'aws-credentials');
  writeFileSync(configFile, config);
  writeFileSync(credentialsFile, credentials);
  return { home, configFile, credentialsFile, env: { HOME: home, AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: credentialsFile } as NodeJS.ProcessEnv };
}

const CONFIG = `
[default]
region = us-west-2

[profile dev]
region = ap-southeast-2
output = json

[profile  ops ]
region=eu-north-1 # inline comment
s3 =
  max_concurrent_requests = 20

[sso-session corp]
sso_region = us-east-1

[stray]
region = sa-east-1
`;
const CREDENTIALS = `
[dev]
aws_access_key_id = AKIADEVEXAMPLE
aws_secret_access_key = devsecret

[ci]
aws_access_key_id = AKIACIEXAMPLE
aws_secret_access_key = cisecret
`;

const resolve = (env: NodeJS.ProcessEnv, flags: { profile?: string; region?: string } = {}, config: Record<string, Record<string, string>> = {}) =>
  resolveAws({ profileFlag: flags.profile, regionFlag: flags.region, env, config, configPath: '/etc/opsctl.json' });

describe('shared AWS config files', () => {
  it('lists the profiles aws-cli knows: [default], [profile x] in config, [x] in credentials; not sso-session or bare sections', () => {
    const { env } = awsHome(CONFIG, CREDENTIALS);
    expect(listProfiles(env)).toEqual(['ci', 'default', 'dev', 'ops']);
    expect(parseIni('[profile  ops ]\nregion=eu-north-1 # x\n').get('profile ops')).toEqual({ region: 'eu-north-1' });
  });

  it('defaults to ~/.aws/config and ~/.aws/credentials under HOME', () => {
    const { home } = awsHome('');
    mkdirSync(path.join(home, '.aws'));
    writeFileSync(path.join(home, '.aws', 'config'), '[profile homeprof]\nregion = eu-west-3\n');
    expect(listProfiles({ HOME: home })).toEqual(['homeprof']);
    expect(resolve({ HOME: home, AWS_PROFILE: 'homeprof' }).region).toBe('eu-west-3');
  });
});

describe('precedence: flag > environment > opsctl config > shared config', () => {
  const { env } = awsHome(CONFIG, CREDENTIALS);
  const config = { aws: { profile: 'ops', region: 'ca-central-1' } };

  it('region', () => {
    expect(resolve({ ...env, AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-2' }, { region: 'us-east-2' }, config)).toMatchObject({ region: 'us-east-2', regionFrom: 'flag' });
    expect(resolve({ ...env, AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-2' }, {}, config)).toMatchObject({ region: 'eu-west-1', regionFrom: 'env' });
    expect(resolve({ ...env, AWS_DEFAULT_REGION: 'eu-west-2' }, {}, config)).toMatchObject({ region: 'eu-west-2', regionFrom: 'env' });
    expect(resolve({ ...env, OPSCTL_AWS_REGION: 'me-south-1' }, {}, config)).toMatchObject({ region: 'me-south-1', regionFrom: 'config' });
    expect(resolve(env, {}, config)).toMatchObject({ region: 'ca-central-1', regionFrom: 'config' });
    // Nothing opsctl-specific: the profile's own region from the shared config.
    expect(resolve(env, {}, { aws: { profile: 'ops' } })).toMatchObject({ profile: 'ops', region: 'eu-north-1', regionFrom: 'shared-config' });
    expect(resolve({ ...env, AWS_PROFILE: 'dev' })).toMatchObject({ region: 'ap-southeast-2', regionFrom: 'shared-config' });
    expect(resolve(env)).toMatchObject({ region: 'us-west-2', regionFrom: 'shared-config' });
    expect(resolve({ HOME: env.HOME, AWS_CONFIG_FILE: path.join(env.HOME!, 'none') }).region).toBeUndefined();
  });

  it('profile, remembering where the name came from', () => {
    expect(resolve({ ...env, AWS_PROFILE: 'dev' }, { profile: 'ci' }, config)).toMatchObject({ profile: 'ci', profileFrom: '--profile' });
    expect(resolve({ ...env, AWS_PROFILE: 'dev' }, {}, config)).toMatchObject({ profile: 'dev', profileFrom: 'AWS_PROFILE' });
    expect(resolve(env, {}, config)).toMatchObject({ profile: 'ops', profileFrom: '"aws.profile" in /etc/opsctl.json' });
    expect(resolve(env).profile).toBeUndefined();
  });

  it('a region implied by an id beats opsctl config and the shared config, not --region or AWS_REGION', () => {
    const implied = { impliedRegion: regionFromId('eu-central-1_AbC123') };
    expect(awsOptionsFor({ aws: resolve(env, {}, config) }, implied)).toMatchObject({ region: 'eu-central-1', regionFrom: 'id' });
    expect(awsOptionsFor({ aws: resolve({ ...env, AWS_PROFILE: 'dev' }) }, implied)).toMatchObject({ region: 'eu-central-1', regionFrom: 'id' });
    expect(awsOptionsFor({ aws: resolve({ ...env, AWS_DEFAULT_REGION: 'us-east-1' }) }, implied)).toMatchObject({ region: 'us-east-1', regionFrom: 'env' });
    expect(awsOptionsFor({ aws: resolve(env, { region: 'us-east-1' }) }, implied)).toMatchObject({ region: 'us-east-1', regionFrom: 'flag' });
    expect(awsOptionsFor({ aws: resolve(env) }, {})).toMatchObject({ region: 'us-west-2' });
  });

  it('ctx.aws goes through the same resolution, and only when a command asks', () => {
    const m = memoryStreams();
    const ctx = createContext({ profile: 'ci' }, { streams: m.streams, stdin: process.stdin, env: { ...env, AWS_REGION: 'eu-south-1' }, signal: new AbortController().signal });
    expect(ctx.aws).toMatchObject({ profile: 'ci', region: 'eu-south-1' });
  });
});

describe('regionFromId', () => {
  it.each([
    ['eu-west-1_AbCdEf123', 'eu-west-1'],
    ['us-gov-west-1_x1', 'us-gov-west-1'],
    ['ap-southeast-2:0f6a5e2b-1c2d-4e5f-8a9b-0c1d2e3f4a5b', 'ap-southeast-2'],
    ['arn:aws:acm:eu-central-1:123456789012:certificate/abc-def', 'eu-central-1'],
    ['arn:aws:ecs:us-east-2:123456789012:cluster/prod', 'us-east-2'],
    ['arn:aws-cn:cognito-idp:cn-north-1:123456789012:userpool/cn-north-1_x', 'cn-north-1'],
    ['arn:aws:iam::123456789012:role/x', undefined],
    ['arn:aws:route53:::hostedzone/Z1', undefined],
    ['prod', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%s → %s', (id, region) => {
    expect(regionFromId(id)).toBe(region);
  });
});

describe('an unknown profile', () => {
  const { env, configFile, credentialsFile } = awsHome(CONFIG, CREDENTIALS);
  const attempt = (opts: AwsOptions) => {
    try {
      createAwsClient(ECSClient, 'ECS', opts, env);
    } catch (err) {
      return err as OpsError;
    }
    throw new Error('expected an error');
  };

  it('is one line whose hint names where the name came from and the profiles that exist', () => {
    for (const [opts, from] of [
      [resolve(env, { profile: 'prd' }), '--profile'],
      [resolve({ ...env, AWS_PROFILE: 'prd' }), 'AWS_PROFILE'],
      [resolve(env, {}, { aws: { profile: 'prd' } }), '"aws.profile" in /etc/opsctl.json'],
    ] as const) {
      const err = attempt(opts);
      expect(err).toBeInstanceOf(OpsError);
      expect(err.message).toBe('AWS profile "prd" does not exist.');
      expect(err.exitCode).toBe(2);
      expect(err.code).toBe('aws-unknown-profile');
      expect(err.hint).toBe(`it was named by ${from}; the profiles in ${configFile} and ${credentialsFile} are: ci, default, dev, ops`);
    }
  });

  it('with no profiles at all, says so', () => {
    const empty = awsHome('');
    const err = (() => {
      try {
        createAwsClient(ECSClient, 'ECS', { profile: 'x', profileFrom: 'AWS_PROFILE' }, empty.env);
      } catch (e) {
        return e as OpsError;
      }
    })();
    expect(err?.hint).toMatch(/define no profiles \(run `aws configure --profile x`/);
  });

  it('through the CLI: exit 2, one JSON document with --json', async () => {
    const m = memoryStreams();
    const code = await runCli(['ecs-ssh', 'web', '--cluster', 'c', '--print', '--json'], { streams: m.streams, stdin: process.stdin, env: { ...env, AWS_PROFILE: 'prd', AWS_REGION: 'eu-west-1' } });
    expect(code).toBe(2);
    const doc = JSON.parse(m.stdout);
    expect(doc.error).toMatchObject({ code: 'aws-unknown-profile', exitCode: 2, message: 'AWS profile "prd" does not exist.' });
    expect(doc.error.hint).toContain('named by AWS_PROFILE');
    expect(m.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('the real SDK uses what was resolved', () => {
  let server: AwsJsonServer;
  const scopes: string[] = [];
  beforeAll(async () => {
    server = new AwsJsonServer({
      json: {
        AmazonEC2ContainerServiceV20141113: (_op, _input, req) => {
          // SigV4 credential scope: AKID/date/REGION/service/aws4_request.
          scopes.push(/Credential=([^,]+)/.exec(String(req.headers.authorization))?.[1] ?? '');
          return { clusterArns: [] };
        },
      },
    });
    await server.start();
  });
  afterAll(() => server.stop());
  afterEach(() => {
    vi.unstubAllEnvs();
    scopes.length = 0;
  });

  // The SDK reads the credential files from process.env: point both at the same temp files.
  const useEnv = (env: NodeJS.ProcessEnv) => {
    for (const k of ['AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) vi.stubEnv(k, undefined as unknown as string);
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v as string);
    return env;
  };

  it("the profile's credentials and the profile's region from the shared config", async () => {
    const env = useEnv({ ...awsHome(CONFIG, CREDENTIALS).env, AWS_PROFILE: 'dev', AWS_ENDPOINT_URL_ECS: server.url });
    const client = createAwsClient(ECSClient, 'ECS', resolve(env), env);
    expect(await client.config.region()).toBe('ap-southeast-2');
    expect((await client.config.credentials()).accessKeyId).toBe('AKIADEVEXAMPLE');
    await client.send(new ListClustersCommand({}));
    expect(scopes[0]).toMatch(/^AKIADEVEXAMPLE\/\d{8}\/ap-southeast-2\/ecs\/aws4_request$/);
  });

  it('AWS_DEFAULT_REGION, which the JavaScript SDK alone ignores', async () => {
    const env = useEnv({ ...awsHome('', CREDENTIALS).env, AWS_PROFILE: 'ci', AWS_DEFAULT_REGION: 'eu-west-2', AWS_ENDPOINT_URL_ECS: server.url });
    await expect(new ECSClient({}).config.region()).rejects.toThrow(/Region is missing/);
    const client = createAwsClient(ECSClient, 'ECS', resolve(env), env);
    await client.send(new ListClustersCommand({}));
    expect(scopes[0]).toMatch(/^AKIACIEXAMPLE\/\d{8}\/eu-west-2\/ecs\/aws4_request$/);
  });

  it('access keys in the environment beat AWS_PROFILE but not --profile (as botocore decides)', async () => {
    const env = useEnv({ ...awsHome(CONFIG, CREDENTIALS).env, AWS_PROFILE: 'dev', AWS_ACCESS_KEY_ID: 'AKIAENVEXAMPLE', AWS_SECRET_ACCESS_KEY: 'envsecret', AWS_ENDPOINT_URL_ECS: server.url });
    await createAwsClient(ECSClient, 'ECS', resolve(env), env).send(new ListClustersCommand({}));
    await createAwsClient(ECSClient, 'ECS', resolve(env, { profile: 'dev' }), env).send(new ListClustersCommand({}));
    expect(scopes[0]).toMatch(/^AKIAENVEXAMPLE\/\d{8}\/ap-southeast-2\//);
    expect(scopes[1]).toMatch(/^AKIADEVEXAMPLE\/\d{8}\/ap-southeast-2\//);
  });

  it('--profile beats AWS_PROFILE, and the id-implied region beats the profile region', async () => {
    const env = useEnv({ ...awsHome(CONFIG, CREDENTIALS).env, AWS_PROFILE: 'dev', AWS_ENDPOINT_URL_ECS: server.url });
    const ctx = { aws: resolve(env, { profile: 'ci' }) };
    const client = createAwsClient(ECSClient, 'ECS', awsOptionsFor(ctx, { impliedRegion: regionFromId('arn:aws:ecs:sa-east-1:123456789012:cluster/prod') }), env);
    await client.send(new ListClustersCommand({}));
    expect(scopes[0]).toMatch(/^AKIACIEXAMPLE\/\d{8}\/sa-east-1\/ecs\/aws4_request$/);
  });
});
