import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import bcrypt from 'bcryptjs';
import { AdminGetUserCommand, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { startCognitoLocal, type CognitoLocal } from '../support/cognito-local.js';
import { createDeviseUsers } from '../support/cognito-devise.js';
import { ensureCognitoBuild } from '../support/cognito-build.js';
import { repoRoot, runBin } from '../support/cli.js';
import { run } from '../../src/commands/cognito/trigger.js';
import { run as verifyToken, fileJwksCache, httpFetchJwks } from '../../src/commands/cognito/token.js';
import { tmpDir } from './helpers.js';
import { freePort } from '../support/ports.js';
import { AwsError, AwsJsonServer, FAKE_AWS_ENV } from '../support/aws-json-server.js';

const password = (id: number) => `Devise-pw-${id}!`;
let pg: TestPostgres;
let dbUrl: string;
let outDir: string;
let handler: (event: any) => Promise<any>;
let lambda: http.Server;
let lambdaPort: number;
let cl: CognitoLocal;
let secrets: AwsJsonServer;
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:legacy-db-AbCdEf';
const PEPPER_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:devise-pepper-AbCdEf';
const PEPPER = 'a-devise-pepper-from-config';
const URL_PARAMETER = '/legacy/database-url';
const logged: string[] = [];

/** Documented event shapes (Cognito developer guide, User migration Lambda trigger). */
const event = (triggerSource: string, userName: string, pw?: string) => ({
  version: '1',
  triggerSource,
  region: 'us-east-1',
  userPoolId: 'us-east-1_Example',
  userName,
  callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId: 'client123' },
  request: { ...(pw === undefined ? {} : { password: pw }), validationData: {}, clientMetadata: {} },
  response: { userAttributes: null, forceAliasCreation: null, enableSMSMFA: null, finalUserStatus: null, messageAction: null, desiredDeliveryMediums: null },
});

beforeAll(async () => {
  ensureCognitoBuild();
  pg = await startPostgres();
  ({ url: dbUrl } = await createDeviseUsers(pg, 'legacy', 200, { passwordHash: (id) => bcrypt.hashSync(password(id), 4) }));
  // Devise :lockable, a case duplicate (the older row must win) and a phone number.
  const { default: pgmod } = await import('pg');
  const c = new pgmod.Client({ connectionString: dbUrl });
  await c.connect();
  await c.query(`ALTER TABLE users ADD COLUMN locked_at timestamp, ADD COLUMN phone_number varchar, ADD COLUMN name varchar`);
  await c.query(`CREATE INDEX index_users_on_email ON users (email)`);
  await c.query(`UPDATE users SET locked_at = now() WHERE id = 1`);
  await c.query(`UPDATE users SET phone_number = '+14155550100', name = 'Ada' WHERE id = 2`);
  await c.query(`INSERT INTO users (id, email, encrypted_password, confirmed_at) VALUES (201, 'user2@example.com', $1, now())`, [bcrypt.hashSync(password(2), 4)]);
  // A row hashed with Devise's config.pepper appended to the password.
  await c.query(`INSERT INTO users (id, email, encrypted_password, confirmed_at) VALUES (202, 'peppered@example.com', $1, now())`, [bcrypt.hashSync(password(202) + PEPPER, 4)]);
  await c.end();
  // The database URL comes from Secrets Manager (a stand-in speaking its JSON 1.1 protocol).
  secrets = new AwsJsonServer({
    json: {
      secretsmanager: (op, input) => {
        if (op !== 'GetSecretValue') throw new AwsError('InvalidRequestException', op);
        if (input.SecretId === PEPPER_ARN) return { ARN: PEPPER_ARN, Name: 'devise-pepper', SecretString: PEPPER, VersionId: 'v1' };
        if (input.SecretId !== SECRET_ARN) throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
        return { ARN: SECRET_ARN, Name: 'legacy-db', SecretString: dbUrl, VersionId: 'v1' };
      },
      // SSM Parameter Store (JSON 1.1, AmazonSSM.GetParameter): a SecureString is only decrypted WithDecryption.
      AmazonSSM: (op, input) => {
        if (op !== 'GetParameter') throw new AwsError('InvalidRequestException', op);
        if (input.Name !== URL_PARAMETER) throw new AwsError('ParameterNotFound', '');
        return { Parameter: { Name: URL_PARAMETER, Type: 'SecureString', Value: input.WithDecryption === true ? dbUrl : 'AQICAHh-encrypted-blob', Version: 1, ARN: `arn:aws:ssm:us-east-1:123456789012:parameter${URL_PARAMETER}`, DataType: 'text' } };
      },
    },
  });
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = await secrets.start();
  process.env.AWS_ENDPOINT_URL_SSM = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  Object.assign(process.env, FAKE_AWS_ENV, { AWS_REGION: 'us-east-1' });
  const out = tmpDir('opsctl-trigger-');
  outDir = out;
  await run({ out, source: 'postgres', force: false, dryRun: false });
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(out, 'node_modules'));
  process.env.DATABASE_SECRET_ARN = SECRET_ARN;
  process.env.DEVISE_STRETCHES = '4'; // the timing equaliser's cost, kept low for the tests
  for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const) vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void logged.push(a.map(String).join(' ')));
  ({ handler } = await import(pathToFileURL(path.join(out, 'index.mjs')).href));

  // A local Lambda Invoke endpoint for cognito-local's UserMigration trigger.
  lambda = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const result = await handler(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      } catch (err) {
        res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' }).end(JSON.stringify({ errorType: 'Error', errorMessage: (err as Error).message }));
      }
    });
  });
  await new Promise<void>((r) => lambda.listen(0, '127.0.0.1', r));
  lambdaPort = (lambda.address() as AddressInfo).port;
  cl = await startCognitoLocal({ LambdaClient: { endpoint: `http://127.0.0.1:${lambdaPort}`, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }, TriggerFunctions: { UserMigration: 'user-migration' } });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await cl?.stop();
  lambda?.close();
  await secrets?.stop();
  await pg?.stop();
});

describe('the scaffolded User Migration handler, against the Devise table', () => {
  it('sign-in with the right password migrates the user CONFIRMED, without a message', async () => {
    const r = await handler(event('UserMigration_Authentication', 'USER2@example.com', password(2)));
    // The database URL came from Secrets Manager; of the two user2 rows the older (id 2) wins, with bulk's attributes.
    expect(secrets.counts()).toEqual({ GetSecretValue: 1 });
    expect(r.response).toMatchObject({ finalUserStatus: 'CONFIRMED', messageAction: 'SUPPRESS', userAttributes: { email: 'user2@example.com', email_verified: 'true', 'custom:legacy_id': '2', phone_number: '+14155550100', name: 'Ada' } });
  });

  it('refuses locked users, and unconfirmed users unless ALLOW_UNCONFIRMED=true', async () => {
    // user1 is locked (Devise locked_at), user3 never confirmed (confirmed_at NULL): both have the right password.
    await expect(handler(event('UserMigration_Authentication', 'user1@example.com', password(1)))).rejects.toThrow('Bad username or password');
    await expect(handler(event('UserMigration_ForgotPassword', 'user1@example.com'))).rejects.toThrow('Bad username or password');
    await expect(handler(event('UserMigration_Authentication', 'user3@example.com', password(3)))).rejects.toThrow('Bad username or password');
    process.env.ALLOW_UNCONFIRMED = 'true';
    try {
      const allowing = await import(pathToFileURL(path.join(outDir, 'index.mjs')).href + '?allow-unconfirmed');
      const r = await allowing.handler(event('UserMigration_Authentication', 'user3@example.com', password(3)));
      expect(r.response.userAttributes.email_verified).toBe('false');
      // Forgot-password still needs a verified email to send the code to.
      await expect(allowing.handler(event('UserMigration_ForgotPassword', 'user3@example.com'))).rejects.toThrow('Bad username or password');
      await expect(allowing.handler(event('UserMigration_Authentication', 'user1@example.com', password(1)))).rejects.toThrow('Bad username or password');
    } finally {
      delete process.env.ALLOW_UNCONFIRMED;
    }
  });

  it('peppered hashes check with the pepper from Secrets Manager, and only with it', async () => {
    await expect(handler(event('UserMigration_Authentication', 'peppered@example.com', password(202)))).rejects.toThrow('Bad username or password');
    process.env.DEVISE_PEPPER_SECRET_ARN = PEPPER_ARN;
    try {
      const peppered = await import(pathToFileURL(path.join(outDir, 'index.mjs')).href + '?pepper');
      const r = await peppered.handler(event('UserMigration_Authentication', 'peppered@example.com', password(202)));
      expect(r.response).toMatchObject({ finalUserStatus: 'CONFIRMED', userAttributes: { email: 'peppered@example.com', 'custom:legacy_id': '202' } });
      await expect(peppered.handler(event('UserMigration_Authentication', 'peppered@example.com', password(202) + PEPPER))).rejects.toThrow('Bad username or password');
    } finally {
      delete process.env.DEVISE_PEPPER_SECRET_ARN;
    }
  });

  it('reads the database URL from an SSM SecureString parameter (DATABASE_URL_PARAMETER), decrypted', async () => {
    delete process.env.DATABASE_SECRET_ARN;
    process.env.DATABASE_URL_PARAMETER = URL_PARAMETER;
    try {
      const fromSsm = await import(pathToFileURL(path.join(outDir, 'index.mjs')).href + '?ssm');
      const r = await fromSsm.handler(event('UserMigration_Authentication', 'user4@example.com', password(4)));
      expect(r.response).toMatchObject({ finalUserStatus: 'CONFIRMED', userAttributes: { email: 'user4@example.com', 'custom:legacy_id': '4' } });
      expect(secrets.calls.filter((c) => c.service === 'AmazonSSM').map((c) => [c.op, c.input])).toEqual([['GetParameter', { Name: URL_PARAMETER, WithDecryption: true }]]);
      // A second invocation in the same container does not ask again.
      await fromSsm.handler(event('UserMigration_Authentication', 'user5@example.com', password(5))).catch(() => undefined);
      expect(secrets.calls.filter((c) => c.service === 'AmazonSSM')).toHaveLength(1);
    } finally {
      delete process.env.DATABASE_URL_PARAMETER;
      process.env.DATABASE_SECRET_ARN = SECRET_ARN;
    }
  });

  it('messy phone numbers become E.164 as bulk migration makes them (PHONE_COUNTRY like --phone-country); a non-number is left out', async () => {
    const { default: pgmod } = await import('pg');
    const c = new pgmod.Client({ connectionString: dbUrl });
    await c.connect();
    const rows: Array<[number, string]> = [[301, '+1 415 555 0100'], [302, '(415) 555-0199'], [303, '0044 20 7946 0958'], [304, 'call me']];
    try {
      for (const [id, phone] of rows) {
        await c.query(`INSERT INTO users (id, email, encrypted_password, confirmed_at, phone_number) VALUES ($1, $2, $3, now(), $4)`, [id, `phone${id}@example.com`, bcrypt.hashSync(password(id), 4), phone]);
      }
    } finally {
      await c.end();
    }
    const phoneOf = async (h: typeof handler, id: number) => (await h(event('UserMigration_Authentication', `phone${id}@example.com`, password(id)))).response.userAttributes.phone_number;
    expect(await phoneOf(handler, 301)).toBe('+14155550100');
    expect(await phoneOf(handler, 302)).toBeUndefined(); // no country code and no PHONE_COUNTRY: not guessed
    expect(await phoneOf(handler, 303)).toBe('+442079460958');
    expect(await phoneOf(handler, 304)).toBeUndefined();
    process.env.PHONE_COUNTRY = 'us';
    try {
      const us = await import(pathToFileURL(path.join(outDir, 'index.mjs')).href + '?phone-country');
      expect(await phoneOf(us.handler, 302)).toBe('+14155550199');
      expect(await phoneOf(us.handler, 304)).toBeUndefined();
    } finally {
      delete process.env.PHONE_COUNTRY;
    }
  });

  it("the default lookup uses Devise's index on email (no lower(email))", async () => {
    const { default: pgmod } = await import('pg');
    const c = new pgmod.Client({ connectionString: dbUrl });
    await c.connect();
    try {
      await c.query('SET enable_seqscan = off');
      const source = readFileSync(path.join(outDir, 'index.mjs'), 'utf8');
      const query = /const QUERY = process\.env\.USERS_QUERY \|\| '([^']+)'/.exec(source)![1]!;
      expect(query).toBe('SELECT * FROM users WHERE email = lower($1) ORDER BY id LIMIT 1');
      const plan = await c.query(`EXPLAIN (FORMAT JSON) ${query.replace('$1', "'USER9@example.com'")}`);
      expect(JSON.stringify(plan.rows[0]['QUERY PLAN'])).toMatch(/index_users_on_email/);
    } finally {
      await c.end();
    }
  });

  it('a wrong password, an unknown user or a missing password all get the same refusal', async () => {
    await expect(handler(event('UserMigration_Authentication', 'user2@example.com', 'guess'))).rejects.toThrow('Bad username or password');
    await expect(handler(event('UserMigration_Authentication', 'nobody@example.com', 'x'))).rejects.toThrow('Bad username or password');
    await expect(handler(event('UserMigration_Authentication', 'user2@example.com'))).rejects.toThrow('Bad username or password');
    // A user whose hash is not bcrypt (row 6 has a placeholder) cannot sign in through the trigger.
    await expect(handler(event('UserMigration_Authentication', 'user6@example.com', 'x'))).rejects.toThrow('Bad username or password');
  });

  it('forgot-password returns the attributes without a password check', async () => {
    const r = await handler(event('UserMigration_ForgotPassword', 'user4@example.com'));
    expect(r.response).toMatchObject({ messageAction: 'SUPPRESS', userAttributes: { email: 'user4@example.com', 'custom:legacy_id': '4' } });
    expect(r.response.finalUserStatus).toBeNull();
  });

  it('a database failure gets a generic error naming only its kind (no host, no user)', async () => {
    const saved = process.env.DATABASE_URL;
    const port = await freePort();
    delete process.env.DATABASE_SECRET_ARN;
    process.env.DATABASE_URL = `postgres://app:s3cret@127.0.0.1:${port}/legacy`;
    try {
      const down = await import(pathToFileURL(path.join(outDir, 'index.mjs')).href + '?db-down');
      const err = await down.handler(event('UserMigration_Authentication', 'user2@example.com', password(2))).catch((e: Error) => e);
      expect((err as Error).message).toBe('User migration is temporarily unavailable (ECONNREFUSED)');
      // A secret that cannot be read: again only the kind of failure.
      process.env.DATABASE_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:missing';
      const nosecret = await import(pathToFileURL(path.join(outDir, 'index.mjs')).href + '?no-secret');
      const err2 = await nosecret.handler(event('UserMigration_Authentication', 'user2@example.com', password(2))).catch((e: Error) => e);
      expect((err2 as Error).message).toBe('User migration is temporarily unavailable (ResourceNotFoundException)');
    } finally {
      process.env.DATABASE_URL = saved;
      process.env.DATABASE_SECRET_ARN = SECRET_ARN;
    }
  });

  it('never logs anything (the event holds the password)', () => {
    expect(logged).toEqual([]);
  });

  it('end to end: cognito-local calls it through its UserMigration trigger', async () => {
    const poolId = await cl.createPool({ customAttributes: ['legacy_id'] });
    const clientId = await cl.createClient(poolId);
    const auth = await cl.client.send(new InitiateAuthCommand({ ClientId: clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'user5@example.com', PASSWORD: password(5) } }));
    expect(auth.AuthenticationResult?.IdToken).toBeTruthy();
    const user = await cl.client.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: 'user5@example.com' }));
    expect(user.UserStatus).toBe('CONFIRMED');
    expect(Object.fromEntries(user.UserAttributes!.map((a) => [a.Name, a.Value]))).toMatchObject({ email: 'user5@example.com', 'custom:legacy_id': '5' });
    // The migrated user's token verifies against the pool's JWKS.
    const verified = await verifyToken({ token: auth.AuthenticationResult!.IdToken!, userPoolId: poolId, clientId, endpoint: cl.endpoint }, { fetchJwks: httpFetchJwks(), cache: fileJwksCache(tmpDir(), () => new Date()), now: () => new Date() });
    expect(verified.claims.email).toBe('user5@example.com');
    // A wrong password is refused and creates nobody.
    const wrong = await cl.client.send(new InitiateAuthCommand({ ClientId: clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'user1@example.com', PASSWORD: 'nope' } })).catch((e) => e);
    expect(wrong.name).toBe('NotAuthorizedException');
    const missing = await cl.client.send(new AdminGetUserCommand({ UserPoolId: poolId, Username: 'user1@example.com' })).catch((e) => e);
    expect(missing.name).toBe('UserNotFoundException');
  });
});

describe('cognito trigger scaffold (built binary)', () => {
  it('writes index.mjs, package.json and README.md; refuses to overwrite without --force', async () => {
    const out = path.join(tmpDir(), 'user-migration');
    const r = await runBin(['cognito', 'trigger', 'scaffold', '--out', out]);
    expect(r.code).toBe(0);
    for (const f of ['index.mjs', 'package.json', 'README.md']) expect(existsSync(path.join(out, f))).toBe(true);
    expect(readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/USER_PASSWORD_AUTH/);
    expect(readFileSync(path.join(out, 'README.md'), 'utf8')).toMatch(/never reach this\s+trigger/);
    const readme = readFileSync(path.join(out, 'README.md'), 'utf8');
    expect(readme).toMatch(/--runtime nodejs22\.x/);
    expect(readme).toMatch(/--timeout 5 --memory-size 1024/);
    expect(readme).toMatch(/DATABASE_SECRET_ARN=arn:aws:secretsmanager:/);
    expect(readme).not.toMatch(/Variables=\{DATABASE_URL=/);
    expect(JSON.parse(readFileSync(path.join(out, 'package.json'), 'utf8')).engines.node).toBe('>=22');
    expect(JSON.parse(readFileSync(path.join(out, 'package.json'), 'utf8'))).toMatchObject({ type: 'module', dependencies: { pg: expect.any(String), bcryptjs: expect.any(String) } });
    const src = readFileSync(path.join(out, 'index.mjs'), 'utf8');
    expect(src).not.toMatch(/console\./);
    const again = await runBin(['cognito', 'trigger', 'scaffold', '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/index.mjs, package.json, README.md already exist/);
    writeFileSync(path.join(out, 'index.mjs'), 'old');
    expect((await runBin(['cognito', 'trigger', 'scaffold', '--out', out, '--force'])).code).toBe(0);
    expect(readFileSync(path.join(out, 'index.mjs'), 'utf8')).toContain('UserMigration_Authentication');
  });

  it('--source http writes a handler that asks the old app; --dry-run writes nothing', async () => {
    const out = path.join(tmpDir(), 'm');
    const dry = await runBin(['--dry-run', 'cognito', 'trigger', 'scaffold', '--out', out, '--source', 'http']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/\[dry run\] would write .*index\.mjs/);
    expect(existsSync(out)).toBe(false);
    expect((await runBin(['cognito', 'trigger', 'scaffold', '--out', out, '--source', 'http'])).code).toBe(0);
    const src = readFileSync(path.join(out, 'index.mjs'), 'utf8');
    expect(src).toContain('OLD_APP_AUTH_URL');
    expect(src).not.toMatch(/console\./);
  });

  it('an --out it cannot write to is a one-line error, not a stack', async () => {
    // A regular file on the way: no directory can be made there, not even by root.
    const file = path.join(tmpDir(), 'not-a-dir');
    writeFileSync(file, '');
    const err = await run({ out: path.join(file, 'out'), source: 'postgres', force: false, dryRun: false }).catch((e) => e);
    expect(err).toMatchObject({ code: 'file-unwritable', exitCode: 1 });
    expect(err.message).toMatch(/^Cannot write .*not-a-dir\/out\/index\.mjs: ENOTDIR/);
  });

  it('the http handler checks credentials through the old app endpoint', async () => {
    const out = tmpDir('opsctl-trigger-http-');
    await run({ out, source: 'http', force: false, dryRun: false });
    const seen: any[] = [];
    const app = http.createServer((req, res) => {
      let b = '';
      req.on('data', (d) => (b += d));
      req.on('end', () => {
        const body = JSON.parse(b);
        seen.push({ auth: req.headers.authorization, hasPassword: 'password' in body });
        if (body.email === 'ada@example.com' && (body.password === undefined || body.password === 'right')) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 7, email: 'Ada@example.com', confirmed_at: '2020-01-01' }));
        res.writeHead(401).end();
      });
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    process.env.OLD_APP_AUTH_URL = `http://127.0.0.1:${(app.address() as AddressInfo).port}/users/aws_auth`;
    process.env.OLD_APP_SECRET = 's3cret';
    const mod = await import(pathToFileURL(path.join(out, 'index.mjs')).href);
    const ok = await mod.handler(event('UserMigration_Authentication', 'ada@example.com', 'right'));
    expect(ok.response).toMatchObject({ finalUserStatus: 'CONFIRMED', messageAction: 'SUPPRESS', userAttributes: { email: 'ada@example.com', email_verified: 'true', 'custom:legacy_id': '7' } });
    await expect(mod.handler(event('UserMigration_Authentication', 'ada@example.com', 'wrong'))).rejects.toThrow('Bad username or password');
    const forgot = await mod.handler(event('UserMigration_ForgotPassword', 'ada@example.com'));
    expect(forgot.response.userAttributes.email).toBe('ada@example.com');
    expect(seen.map((s) => s.auth)).toEqual(['Bearer s3cret', 'Bearer s3cret', 'Bearer s3cret']);
    expect(seen.map((s) => s.hasPassword)).toEqual([true, true, false]);
    app.close();
  });
});
