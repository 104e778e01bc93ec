import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  type SchemaAttributeType,
} from '@aws-sdk/client-cognito-identity-provider';
import { freePort, waitForPort } from './ports.js';
import { repoRoot } from './cli.js';

/** Fake credentials and region every Cognito test uses (cognito-local ignores them). */
export const fakeAwsEnv = {
  AWS_ACCESS_KEY_ID: 'AKIAOPSCTLTEST',
  AWS_SECRET_ACCESS_KEY: 'opsctl-test-secret',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
} as const;

export interface CognitoLocal {
  endpoint: string;
  port: number;
  dir: string;
  client: CognitoIdentityProviderClient;
  /** Env for the built binary: fake creds + the endpoint override. */
  env: NodeJS.ProcessEnv;
  createPool(opts?: { name?: string; customAttributes?: string[]; schema?: SchemaAttributeType[] }): Promise<string>;
  createClient(poolId: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * cognito-local (the npm emulator) on a free port in a temp working dir.
 * `config` is merged into .cognito/config.json (TriggerFunctions, LambdaClient…).
 */
export async function startCognitoLocal(config: Record<string, unknown> = {}): Promise<CognitoLocal> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'opsctl-cognito-local-'));
  await mkdir(path.join(dir, '.cognito'), { recursive: true });
  const port = await freePort();
  await writeFile(path.join(dir, '.cognito', 'config.json'), JSON.stringify({ TokenConfig: { IssuerDomain: `http://127.0.0.1:${port}` }, ...config }));
  const child: ChildProcess = spawn(process.execPath, [path.join(repoRoot, 'node_modules/cognito-local/lib/bin/start.js')], {
    cwd: dir,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  await waitForPort(port, 20_000, () => stderr, 'cognito-local');
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new CognitoIdentityProviderClient({ endpoint, region: fakeAwsEnv.AWS_REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  return {
    endpoint,
    port,
    dir,
    client,
    env: { ...fakeAwsEnv, AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: endpoint },
    async createPool(opts = {}) {
      const schema: SchemaAttributeType[] = [
        ...(opts.customAttributes ?? []).map((n) => ({ Name: n, AttributeDataType: 'String' as const, Mutable: true, StringAttributeConstraints: { MinLength: '0', MaxLength: '64' } })),
        ...(opts.schema ?? []),
      ];
      const res = await client.send(new CreateUserPoolCommand({ PoolName: opts.name ?? `pool-${Math.random().toString(36).slice(2, 8)}`, UsernameAttributes: ['email'], Schema: schema }));
      return res.UserPool!.Id!;
    },
    async createClient(poolId) {
      const res = await client.send(new CreateUserPoolClientCommand({ UserPoolId: poolId, ClientName: 'app', ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] }));
      return res.UserPoolClient!.ClientId!;
    },
    async stop() {
      client.destroy();
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
