import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ListUsersCommand, type UserType } from '@aws-sdk/client-cognito-identity-provider';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { startCognitoLocal, type CognitoLocal } from '../support/cognito-local.js';
import { createDeviseUsers } from '../support/cognito-devise.js';
import { ensureCognitoBuild } from '../support/cognito-build.js';
import { binPath, runBin } from '../support/cli.js';
import { tmpDir } from './helpers.js';

let pg: TestPostgres;
let cl: CognitoLocal;
let url: string;
let valid: string[];

async function allUsers(poolId: string): Promise<UserType[]> {
  const out: UserType[] = [];
  let token: string | undefined;
  do {
    const r = await cl.client.send(new ListUsersCommand({ UserPoolId: poolId, PaginationToken: token }));
    out.push(...(r.Users ?? []));
    token = r.PaginationToken;
  } while (token);
  return out;
}
const emailsOf = (users: UserType[]) => users.map((u) => u.Attributes?.find((a) => a.Name === 'email')?.Value ?? '?');

beforeAll(async () => {
  ensureCognitoBuild();
  [pg, cl] = await Promise.all([startPostgres(), startCognitoLocal()]);
  ({ url, valid } = await createDeviseUsers(pg, 'devise_app', 2000));
});
afterAll(async () => {
  await Promise.all([pg?.stop(), cl?.stop()]);
});

const env = () => ({ ...cl.env, HOME: tmpDir('opsctl-home-'), XDG_STATE_HOME: '', XDG_CONFIG_HOME: '' });

describe('migrate from a Devise PostgreSQL table into cognito-local (built binary)', () => {
  it('--dry-run reads all 2000 rows, validates them, writes nothing', async () => {
    const poolId = await cl.createPool({ customAttributes: ['legacy_id'] });
    const dir = tmpDir();
    const r = await runBin(['--json', '--dry-run', 'cognito', 'migrate', '--user-pool-id', poolId, '--from', url], { env: env(), cwd: dir });
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.dryRun).toBe(true);
    expect(doc.plan).toMatchObject({ total: 2000, valid: valid.length, rejected: 2000 - valid.length, usernameMode: 'email' });
    expect(doc.plan.mapping).toEqual([
      { column: 'email', target: 'email', origin: 'default' },
      { column: 'confirmed_at', target: 'email_verified', origin: 'default' },
      { column: 'id', target: 'custom:legacy_id', origin: 'default' },
    ]);
    expect(JSON.stringify(doc)).not.toContain('$2a$');
    expect(JSON.stringify(doc)).not.toContain('opsctl-test'); // the database password
    expect(await allUsers(poolId)).toHaveLength(0);
  });

  it('survives kill -9 mid-run: the re-run ends with exactly the valid users, once each', async () => {
    const poolId = await cl.createPool({ customAttributes: ['legacy_id'] });
    const dir = tmpDir();
    const stateFile = path.join(dir, 'state.json');
    const n = 360;
    const query = `SELECT * FROM users WHERE id <= ${n} ORDER BY id`;
    const expected = valid.filter((e) => Number(/user(\d+)@/.exec(e)![1]) <= n);
    const args = ['cognito', 'migrate', '--user-pool-id', poolId, '--from', url, '--query', query, '--state-file', stateFile, '--rate', '200', '--concurrency', '6'];

    const child = spawn(process.execPath, [binPath, ...args], { cwd: dir, env: { ...process.env, ...env(), NO_COLOR: '1' }, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (existsSync(stateFile)) {
        const s = JSON.parse(readFileSync(stateFile, 'utf8'));
        if (s.watermark >= 80) break;
      }
      if (Date.now() > deadline) throw new Error('migration made no progress');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await exited;
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    const partial = await allUsers(poolId);
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(expected.length);

    const again = await runBin(['--json', ...args], { env: env(), cwd: dir, timeoutMs: 120_000 });
    expect(again.stderr).not.toMatch(/unexpected error/);
    expect(again.code).toBe(0);
    const summary = JSON.parse(again.stdout).summary;
    expect(summary.resumedFrom).toBeGreaterThan(0);
    expect(summary.created + summary.existing).toBe(expected.length);
    expect(summary.failed).toBe(0);

    const users = await allUsers(poolId);
    const emails = emailsOf(users);
    expect(emails.length).toBe(expected.length);
    expect(new Set(emails).size).toBe(emails.length);
    expect([...emails].sort()).toEqual([...expected].sort());
    const u5 = users.find((u) => emailsOf([u])[0] === 'user5@example.com')!;
    expect(Object.fromEntries(u5.Attributes!.map((a) => [a.Name, a.Value]))).toMatchObject({ email_verified: 'true', 'custom:legacy_id': '5' });
    expect(users.find((u) => emailsOf([u])[0] === 'user6@example.com')!.Attributes!.find((a) => a.Name === 'email_verified')!.Value).toBe('false');
    const rejects = readFileSync(summary.rejectsFile, 'utf8');
    expect(rejects).not.toContain('$2a$');
    expect(rejects).toContain('invalid email address ""not-an-email-50""');

    // --verify agrees, and a third run creates nothing.
    const verify = await runBin(['--json', 'cognito', 'migrate', '--verify', '--user-pool-id', poolId, '--from', url, '--query', query], { env: env(), cwd: dir });
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout).verify).toMatchObject({ missingInPool: 0, extraInPool: 0, inBoth: expected.length });
    // The links file has every user exactly once, with the sub the pool gave it, despite the kill.
    const subOf = new Map(users.map((u) => [emailsOf([u])[0]!, u.Attributes!.find((a) => a.Name === 'sub')!.Value!]));
    const links = readFileSync(path.join(dir, `opsctl-cognito-links-${poolId}.csv`), 'utf8').trim().split('\n');
    expect(links[0]).toBe('legacy_id,username,sub');
    const linked = links.slice(1).map((l) => l.split(','));
    expect(linked).toHaveLength(expected.length);
    expect(new Set(linked.map((l) => l[1])).size).toBe(expected.length);
    for (const [id, username, sub] of linked) {
      expect(sub).toBe(subOf.get(username!));
      expect(id).toBe(/^user(\d+)@example\.com$/.exec(username!)![1]);
    }

    // A third run creates nothing; with --write-back it stores each sub in the table, once.
    const { default: pgmod } = await import('pg');
    const db = new pgmod.Client({ connectionString: url });
    await db.connect();
    try {
      await db.query('ALTER TABLE users ADD COLUMN IF NOT EXISTS cognito_sub uuid');
      const third = await runBin(['--json', ...args, '--write-back', 'users.cognito_sub'], { env: env(), cwd: dir });
      expect(third.code, third.stderr).toBe(0);
      const doc = JSON.parse(third.stdout);
      expect(doc.summary.created).toBe(summary.created);
      expect(doc.writeBack).toMatchObject({ table: 'users', column: 'cognito_sub', keyColumn: 'id', links: expected.length, updated: expected.length });
      const stored = await db.query(`SELECT id, email, cognito_sub::text AS sub FROM users WHERE cognito_sub IS NOT NULL`);
      expect(stored.rows).toHaveLength(expected.length);
      for (const r of stored.rows) expect(r.sub).toBe(subOf.get(String(r.email).toLowerCase()));
      const fourth = await runBin(['--json', ...args, '--write-back', 'users.cognito_sub'], { env: env(), cwd: dir });
      expect(JSON.parse(fourth.stdout).writeBack.updated).toBe(0);
    } finally {
      await db.query('ALTER TABLE users DROP COLUMN IF EXISTS cognito_sub').catch(() => {});
      await db.end();
    }
    expect(await allUsers(poolId)).toHaveLength(expected.length);
  }, 150_000);

  it('Ctrl-C stops cleanly with exit 130 and the checkpoint saved', async () => {
    const poolId = await cl.createPool({ customAttributes: ['legacy_id'] });
    const dir = tmpDir();
    const stateFile = path.join(dir, 'state.json');
    const args = ['cognito', 'migrate', '--user-pool-id', poolId, '--from', url, '--query', 'SELECT * FROM users WHERE id <= 300 ORDER BY id', '--state-file', stateFile, '--rate', '60'];
    const child = spawn(process.execPath, [binPath, ...args], { cwd: dir, env: { ...process.env, ...env(), NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 30_000;
    while (!(existsSync(stateFile) && JSON.parse(readFileSync(stateFile, 'utf8')).watermark >= 20)) {
      if (Date.now() > deadline) throw new Error('no progress');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/Progress is checkpointed: run the same command again/);
    expect(stderr).not.toMatch(/\n\s+at /);
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    const users = await allUsers(poolId);
    // Everything the checkpoint says is done is in the pool.
    expect(users.length).toBeGreaterThanOrEqual(state.counts.created);
    expect(state.watermark).toBeLessThan(300);
  }, 60_000);

  it('human output: plan on stdout, progress on stderr, summary', async () => {
    const poolId = await cl.createPool({ customAttributes: ['legacy_id'] });
    const dir = tmpDir();
    const r = await runBin(['cognito', 'migrate', '--user-pool-id', poolId, '--from', url, '--query', 'SELECT * FROM users WHERE id <= 52 ORDER BY id'], { env: env(), cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout, r.stdout + r.stderr).toMatch(/created\s+51/);
    expect(r.stdout).toMatch(/rejected\s+1 {2}→ .*opsctl-cognito-rejects-/);
    expect(r.stderr).toMatch(/Every valid source user is in the pool/);
  });
});

describe('--write-back in import-job mode (the stand-in runs the jobs)', () => {
  it('stores the sub of every imported and AdminCreateUser-routed user, once; a re-run writes nothing', async () => {
    const { startCognitoStandin } = await import('../support/cognito-standin.js');
    const { migrate, sdkClient } = await import('./helpers.js');
    const standin = await startCognitoStandin({ customAttributes: ['legacy_id'] });
    const { default: pgmod } = await import('pg');
    const db = new pgmod.Client({ connectionString: url });
    await db.connect();
    try {
      await db.query('ALTER TABLE users ADD COLUMN IF NOT EXISTS cognito_sub uuid');
      const client = sdkClient(standin.endpoint);
      const dir = tmpDir();
      const query = 'SELECT * FROM users WHERE id <= 40 ORDER BY id';
      const o = { userPoolId: standin.poolId, from: url, query, mode: 'import-job' as const, cloudwatchRoleArn: 'arn:aws:iam::123456789012:role/CognitoImport', writeBack: { table: 'users', column: 'cognito_sub' } };
      const res = await migrate(o, client, dir, { importPollMs: 10, env: { ...process.env, HOME: dir, XDG_STATE_HOME: path.join(dir, 'state') } });
      if (res.kind !== 'import') throw new Error(`expected an import result, got ${res.kind}`);
      const inPool = [...standin.users.values()];
      expect(res.plan.viaAdminCreate).toBeGreaterThan(0); // unconfirmed Devise users went through AdminCreateUser
      expect(res.writeBack).toMatchObject({ table: 'users', column: 'cognito_sub', keyColumn: 'id', updated: inPool.length });
      const stored = await db.query(`SELECT id::text AS id, cognito_sub::text AS sub FROM users WHERE cognito_sub IS NOT NULL ORDER BY id`);
      expect(stored.rows).toHaveLength(inPool.length);
      const subById = new Map(inPool.map((u) => [u.attributes['custom:legacy_id'], u.attributes.sub]));
      for (const r of stored.rows) expect(r.sub).toBe(subById.get(r.id));
      const again = await migrate(o, client, dir, { importPollMs: 10, env: { ...process.env, HOME: dir, XDG_STATE_HOME: path.join(dir, 'state') } });
      if (again.kind !== 'import') throw new Error('expected an import result');
      expect(again.writeBack?.updated).toBe(0);
    } finally {
      await db.query('ALTER TABLE users DROP COLUMN IF EXISTS cognito_sub').catch(() => {});
      await db.end();
      await standin.stop();
    }
  }, 60_000);
});

describe('migrate failure paths (built binary)', () => {
  it('an unreachable database', async () => {
    const r = await runBin(['cognito', 'migrate', '--user-pool-id', 'us-east-1_X', '--from', 'postgres://u:secretpw@127.0.0.1:1/app'], { env: env(), cwd: tmpDir() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: Cannot connect to PostgreSQL at 127\.0\.0\.1:1: connection refused\./);
    expect(r.stderr).not.toContain('secretpw');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a bad --query and a missing table are usage errors', async () => {
    const q = await runBin(['cognito', 'migrate', '--user-pool-id', 'us-east-1_X', '--from', url, '--query', 'SELEC email FROM users'], { env: env(), cwd: tmpDir() });
    expect(q.code).toBe(2);
    expect(q.stderr).toMatch(/error: --query: Syntax error in the query: syntax error at or near "FROM"/);
    const t = await runBin(['cognito', 'migrate', '--user-pool-id', 'us-east-1_X', '--from', url, '--table', 'accounts'], { env: env(), cwd: tmpDir() });
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/relation "accounts" does not exist/);
  });

  it('--write-back naming no such column (a typo, or SQL) is refused by the plan: dry run and real run, before any user is created', async () => {
    const poolId = await cl.createPool({ customAttributes: ['legacy_id'] });
    const base = ['cognito', 'migrate', '--user-pool-id', poolId, '--from', url, '--query', 'SELECT * FROM users WHERE id <= 5 ORDER BY id'];
    const cases: Array<[string, RegExp]> = [
      ['users.cognito_sbu', /^error: --write-back: table users has no column "cognito_sbu"\.$/m],
      ['users.x"; DROP TABLE users; --', /^error: --write-back: table users has no column "x"; DROP TABLE users; --"\.$/m],
      ['nosuchtable.sub', /^error: --write-back nosuchtable\.sub: .*"nosuchtable" does not exist/m],
    ];
    for (const [target, message] of cases) {
      for (const dry of [['--dry-run'], []]) {
        const r = await runBin([...dry, ...base, '--write-back', target], { env: env(), cwd: tmpDir() });
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).toMatch(/^hint: /m);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        const j = await runBin(['--json', ...dry, ...base, '--write-back', target], { env: env(), cwd: tmpDir() });
        expect(JSON.parse(j.stdout).error).toMatchObject({ code: expect.any(String), exitCode: 2 });
      }
    }
    expect(await allUsers(poolId)).toHaveLength(0);
    const { default: pgmod } = await import('pg');
    const db = new pgmod.Client({ connectionString: url });
    await db.connect();
    try {
      expect(Number((await db.query('SELECT count(*) AS n FROM users')).rows[0].n)).toBe(2000);
    } finally {
      await db.end();
    }
  }, 60_000);

  it('no AWS credentials', async () => {
    const dir = tmpDir();
    const r = await runBin(['cognito', 'migrate', '--user-pool-id', 'us-east-1_X', '--from', url], {
      env: { HOME: dir, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', AWS_CONFIG_FILE: path.join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none') },
      cwd: dir,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: No AWS credentials found/);
  });

  it('missing --user-pool-id / --from are usage errors', async () => {
    const r = await runBin(['cognito', 'migrate', '--from', 'x.csv'], { env: env(), cwd: tmpDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/No user pool given/);
    const s = await runBin(['cognito', 'migrate', '--user-pool-id', 'us-east-1_X', '--from', 'nope.csv'], { env: env(), cwd: tmpDir() });
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/Source file nope.csv does not exist/);
  });

  it('--mode import-job without --cloudwatch-role-arn is a usage error', async () => {
    const r = await runBin(['cognito', 'migrate', '--user-pool-id', 'us-east-1_X', '--from', 'x.csv', '--mode', 'import-job'], { env: env(), cwd: tmpDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--mode import-job needs --cloudwatch-role-arn/);
  });
});
