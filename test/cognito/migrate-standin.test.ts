import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { startCognitoStandin, type CognitoStandin } from '../support/cognito-standin.js';
import { deviseCsv, migrate, sdkClient, tmpDir } from './helpers.js';
import { OpsError } from '../../src/lib/errors.js';
import { ensureCognitoBuild } from '../support/cognito-build.js';
import { fakeAwsEnv } from '../support/cognito-local.js';
import { runBin } from '../support/cli.js';

let standin: CognitoStandin | undefined;
afterEach(async () => {
  await standin?.stop();
  standin = undefined;
});

const start = async (o: Parameters<typeof startCognitoStandin>[0] = {}) => {
  standin = await startCognitoStandin({ customAttributes: ['legacy_id'], ...o });
  return { s: standin, client: sdkClient(standin.endpoint) };
};

describe('migrate admin-create against the rate-enforcing stand-in', () => {
  it('creates every valid user once, rejects bad rows into a 0600 CSV without password hashes', async () => {
    const { s, client } = await start();
    const dir = tmpDir();
    const { file, valid } = deviseCsv(dir, 300);
    // A rejects file left by an earlier run, readable by all: it must come out 0600 all the same.
    writeFileSync(path.join(dir, `opsctl-cognito-rejects-${s.poolId}.csv`), 'old\n', { mode: 0o644 });
    const res = await migrate({ userPoolId: s.poolId, from: file }, client, dir);
    if (res.kind !== 'summary') throw new Error('expected a summary');
    expect(res.summary).toMatchObject({ created: 300, existing: 0, rejected: 5, failed: 0, complete: true });
    expect([...s.users.keys()].sort()).toEqual([...valid].sort());
    expect([...s.users.values()].every((u) => u.creates === 1)).toBe(true);
    expect(s.lastCreate).toMatchObject({ MessageAction: 'SUPPRESS' });
    const u1 = s.users.get('user1@example.com')!;
    expect(u1.attributes).toMatchObject({ email: 'user1@example.com', email_verified: 'true', 'custom:legacy_id': '1' });
    expect(s.users.get('user3@example.com')!.attributes.email_verified).toBe('false');
    const rejects = readFileSync(res.summary.rejectsFile!, 'utf8');
    expect(statSync(res.summary.rejectsFile!).mode & 0o777).toBe(0o600);
    expect(rejects).not.toContain('$2a$');
    expect(rejects.split('\n')[0]).toBe('row,line,reason,id,email,confirmed_at,created_at');
    expect(rejects).toMatch(/invalid email address/);
    expect(rejects).toMatch(/missing email/);
    expect(rejects).toMatch(/duplicate email/);
    expect(rejects).toMatch(/malformed CSV row: expected 5 fields, got 2/);
    expect(rejects).toMatch(/custom:legacy_id is 70 characters long; the pool allows at most 64/);
    const state = readdirSync(path.join(dir, 'state', 'opsctl', 'cognito'));
    expect(state).toHaveLength(1);
    expect(statSync(path.join(dir, 'state', 'opsctl', 'cognito', state[0]!)).mode & 0o777).toBe(0o600);
  });

  it('stays under a throttling service: retries with backoff, adapts the rate, fails nobody', async () => {
    const { s, client } = await start({ rate: 25 });
    const dir = tmpDir();
    const { file } = deviseCsv(dir, 120);
    const res = await migrate({ userPoolId: s.poolId, from: file, rate: 60, concurrency: 8 }, client, dir, { random: Math.random });
    if (res.kind !== 'summary') throw new Error('expected a summary');
    expect(res.summary.failed).toBe(0);
    expect(res.summary.created).toBe(120);
    expect(s.stats.throttled).toBeGreaterThan(0);
    expect(res.summary.throttled).toBeGreaterThan(0);
    expect(res.summary.finalRate).toBeLessThan(60);
  });

  it('retries 5xx answers', async () => {
    const { s, client } = await start({ internalErrorEvery: 7 });
    const dir = tmpDir();
    const { file } = deviseCsv(dir, 60);
    const res = await migrate({ userPoolId: s.poolId, from: file }, client, dir, { random: () => 0.01 });
    if (res.kind !== 'summary') throw new Error('expected a summary');
    expect(res.summary).toMatchObject({ created: 60, failed: 0 });
    expect(res.summary.retries).toBeGreaterThan(0);
  });

  it('LimitExceededException stops cleanly; the same command later finishes without duplicates', async () => {
    const { s, client } = await start({ limitExceededAfter: 50 });
    const dir = tmpDir();
    const { file, valid } = deviseCsv(dir, 120);
    const err = await migrate({ userPoolId: s.poolId, from: file }, client, dir).catch((e) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect(err.code).toBe('cognito-limit-exceeded');
    expect(err.message).toMatch(/LimitExceededException: Exceeded daily email limit/);
    expect(s.users.size).toBe(50);
    s.options.limitExceededAfter = undefined;
    const res = await migrate({ userPoolId: s.poolId, from: file }, client, dir);
    if (res.kind !== 'summary') throw new Error('expected a summary');
    expect(res.summary.resumedFrom).toBeGreaterThan(0);
    expect(res.summary.created + res.summary.existing).toBe(120);
    // Both runs together made exactly one successful AdminCreateUser per valid user.
    expect(s.stats.creates).toBe(valid.length);
    expect(s.users.size).toBe(valid.length);
    expect([...s.users.values()].every((u) => u.creates <= 2)).toBe(true);
  });

  it('a user Cognito refuses is reported, the run goes on, and a re-run retries it', async () => {
    const { s, client } = await start({ failUsernames: new Set(['user7@example.com']) });
    const dir = tmpDir();
    const { file } = deviseCsv(dir, 20);
    const res = await migrate({ userPoolId: s.poolId, from: file }, client, dir);
    if (res.kind !== 'summary') throw new Error('expected a summary');
    expect(res.summary).toMatchObject({ created: 19, failed: 1, complete: false });
    const report = readFileSync(res.summary.reportFile!, 'utf8');
    expect(report).toContain('7,user7@example.com,InvalidParameterException,AdminCreateUser: Invalid phone number format.');
    s.options.failUsernames = undefined;
    const again = await migrate({ userPoolId: s.poolId, from: file }, client, dir);
    if (again.kind !== 'summary') throw new Error('expected a summary');
    expect(again.summary).toMatchObject({ created: 20, failed: 0, complete: true });
    expect(s.users.size).toBe(20);
  });

  it('an interrupted run saves its checkpoint and the next one continues', async () => {
    const { s, client } = await start({ rate: 100 });
    const dir = tmpDir();
    const { file } = deviseCsv(dir, 150);
    const ac = new AbortController();
    // Interrupt once the pool holds 40 users (observed on the server, not guessed from a sleep).
    const watch = setInterval(() => {
      if (s.users.size >= 40) ac.abort(new OpsError('Interrupted.', { exitCode: 130, code: 'interrupted' }));
    }, 2);
    const err = await migrate({ userPoolId: s.poolId, from: file, rate: 100 }, client, dir, { signal: ac.signal }).catch((e) => e).finally(() => clearInterval(watch));
    expect(err.code).toBe('interrupted');
    const created = s.users.size;
    // Stopped promptly: at most the requests already in flight (concurrency 8) landed after the abort.
    expect(created).toBeGreaterThanOrEqual(40);
    expect(created).toBeLessThanOrEqual(40 + 8);
    const calls = s.stats.createAttempts;
    await new Promise((r) => setTimeout(r, 100));
    expect(s.stats.createAttempts).toBe(calls);
    const res = await migrate({ userPoolId: s.poolId, from: file, rate: 1000 }, client, dir);
    if (res.kind !== 'summary') throw new Error('expected a summary');
    expect(res.summary.resumedFrom).toBeGreaterThan(0);
    expect(s.users.size).toBe(150);
    expect([...s.users.values()].filter((u) => u.creates > 1).length).toBeLessThanOrEqual(8);
  });

  it('refuses to start when the checkpoint cannot be written, before creating anyone', async () => {
    const { s, client } = await start();
    const dir = tmpDir();
    const { file } = deviseCsv(dir, 5);
    // Nothing can be created under /proc, not even by root.
    const err = await migrate({ userPoolId: s.poolId, from: file, stateFile: '/proc/opsctl-cognito-state.json' }, client, dir).catch((e) => e);
    expect(err).toMatchObject({ code: 'state-unwritable', exitCode: 1 });
    expect(err.message).toMatch(/^Cannot write the checkpoint file \/proc\/opsctl-cognito-state\.json: E/);
    expect(s.stats.createAttempts).toBe(0);
  });

  it('refuses to resume when the source changed under the checkpoint', async () => {
    const { s, client } = await start({ limitExceededAfter: 30 });
    const dir = tmpDir();
    const { file } = deviseCsv(dir, 60);
    await migrate({ userPoolId: s.poolId, from: file }, client, dir).catch(() => {});
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.splice(2, 1); // delete user2
    writeFileSync(file, lines.join('\n'));
    s.options.limitExceededAfter = undefined;
    const err = await migrate({ userPoolId: s.poolId, from: file }, client, dir).catch((e) => e);
    expect(err.code).toBe('source-changed');
    const res = await migrate({ userPoolId: s.poolId, from: file, restart: true }, client, dir);
    if (res.kind !== 'summary') throw new Error('expected a summary');
    expect(res.summary.failed).toBe(0);
    expect(s.users.size).toBe(60);
  });

  it('--dry-run validates everything and writes nothing', async () => {
    const { s, client } = await start();
    const dir = tmpDir();
    const { file } = deviseCsv(dir, 40);
    const res = await migrate({ userPoolId: s.poolId, from: file, dryRun: true }, client, dir);
    expect(res.kind).toBe('plan');
    if (res.kind !== 'plan') return;
    expect(res.plan).toMatchObject({ total: 45, valid: 40, rejected: 5 });
    expect(res.plan.rejectReasons).toMatchObject({ 'invalid email address': 1, 'duplicate email: an earlier row already has': 1 });
    expect(s.stats.byOp.AdminCreateUser ?? 0).toBe(0);
    expect(readdirSync(dir)).toEqual(['users.csv']);
  });

  it('groups, disabled users and --update', async () => {
    const { s, client } = await start({ groups: ['migrated', 'admins', 'staff'] });
    const dir = tmpDir();
    const file = path.join(dir, 'users.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({ id: 1, email: 'a@example.com', confirmed_at: '2020-01-01', roles: 'admins,staff', disabled: false }),
        JSON.stringify({ id: 2, email: 'b@example.com', confirmed_at: null, roles: '', disabled: true }),
        '{"id": 3, "email": ',
        '[1,2]',
        JSON.stringify({ id: 4, email: 'c@example.com', roles: 'staff' }),
      ].join('\n') + '\n',
    );
    const res = await migrate({ userPoolId: s.poolId, from: file, groups: ['migrated'], groupColumn: 'roles' }, client, dir);
    if (res.kind !== 'summary') throw new Error('expected a summary');
    expect(res.summary).toMatchObject({ created: 3, rejected: 2, disabled: 1 });
    expect([...s.users.get('a@example.com')!.groups].sort()).toEqual(['admins', 'migrated', 'staff']);
    expect(s.users.get('b@example.com')!.enabled).toBe(false);
    expect(readFileSync(res.summary.rejectsFile!, 'utf8')).toMatch(/malformed JSON/);
    // --update rewrites attributes of users already there.
    s.users.get('c@example.com')!.attributes['custom:legacy_id'] = 'old';
    const upd = await migrate({ userPoolId: s.poolId, from: file, update: true, restart: true, groups: ['migrated'], groupColumn: 'roles' }, client, dir);
    if (upd.kind !== 'summary') throw new Error('expected a summary');
    expect(upd.summary.updated).toBe(3);
    expect(s.users.get('c@example.com')!.attributes['custom:legacy_id']).toBe('4');
  });

  it('refuses groups the pool does not have, before writing', async () => {
    const { s, client } = await start({ groups: ['staff'] });
    const dir = tmpDir();
    const file = path.join(dir, 'u.jsonl');
    writeFileSync(file, JSON.stringify({ email: 'a@example.com', roles: 'admins' }) + '\n');
    const err = await migrate({ userPoolId: s.poolId, from: file, groupColumn: 'roles' }, client, dir).catch((e) => e);
    expect(err).toMatchObject({ code: 'missing-group', exitCode: 2 });
    expect(err.message).toBe('Group admins does not exist in pool us-east-1_Standin01.');
    expect(s.users.size).toBe(0);
  });

  it('--verify reports users missing on either side', async () => {
    const { s, client } = await start();
    const dir = tmpDir();
    const { file } = deviseCsv(dir, 10);
    await migrate({ userPoolId: s.poolId, from: file }, client, dir);
    s.users.delete('user4@example.com');
    s.users.set('stray@example.com', { username: 'stray@example.com', attributes: { sub: 's', email: 'stray@example.com' }, enabled: true, groups: new Set(), creates: 1 });
    const res = await migrate({ userPoolId: s.poolId, from: file, verify: true }, client, dir);
    if (res.kind !== 'verify') throw new Error('expected verify');
    expect(res.verify).toMatchObject({ sourceValid: 10, poolUsers: 10, inBoth: 9, missingInPool: 1, extraInPool: 1, missingExamples: ['user4@example.com'], extraExamples: ['stray@example.com'], ok: false });
  });
});

describe('reads outside the per-user writes keep the SDK retries (built binary)', () => {
  it('--verify rides out a 5xx from ListUsers', async () => {
    ensureCognitoBuild();
    // Request 1 is DescribeUserPool, request 2 (ListUsers) gets a 500, its retry succeeds.
    const { s } = await start({ internalErrorEvery: 2 });
    const dir = tmpDir();
    const { file, valid } = deviseCsv(dir, 10);
    // Exactly what the source says (deviseCsv: every third user unconfirmed), so only the 5xx is in the way.
    for (const email of valid) {
      const id = Number(/user(\d+)@/.exec(email)![1]);
      s.users.set(email, { username: email, attributes: { sub: email, email, email_verified: id % 3 ? 'true' : 'false', 'custom:legacy_id': String(id) }, enabled: true, groups: new Set(), creates: 1 });
    }
    const r = await runBin(['--json', 'cognito', 'migrate', '--verify', '--user-pool-id', s.poolId, '--from', file], { env: { ...fakeAwsEnv, AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: s.endpoint, HOME: dir }, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).verify).toMatchObject({ inBoth: 10, missingInPool: 0, ok: true });
    expect(s.stats.byOp.ListUsers).toBe(2);
  });
});

describe('mapping is checked against the pool before anything is written', () => {
  const cases: Array<[string, Parameters<typeof startCognitoStandin>[0], Record<string, unknown>, RegExp]> = [
    ['unknown attribute', {}, { map: [['id', 'custom:plan']] }, /sends column "id" to attribute "custom:plan", which pool us-east-1_Standin01 does not have/],
    ['missing required attribute', { requiredAttributes: ['name'] }, {}, /requires attribute name, but no source column maps to it/],
    ['username pool without a username column', { usernameAttributes: [] }, {}, /uses usernames \(not email as username\), but no source column maps to username/],
    ['phone-number username pool', { usernameAttributes: ['phone_number'] }, {}, /signs users in with their phone number as the username/],
    ['email pool with a username column', {}, { map: [['id', 'username']] }, /uses the email address as the username, but the mapping sends column "id" to username/],
    ['password column', {}, { map: [['encrypted_password', 'custom:legacy_id']] }, /looks like it holds a password or secret/],
    ['unknown column', {}, { map: [['login', 'email']] }, /names column "login", which the source does not have/],
  ];
  for (const [name, pool, extra, message] of cases) {
    it(name, async () => {
      const { s, client } = await start(pool);
      const dir = tmpDir();
      const { file } = deviseCsv(dir, 3);
      const err = await migrate({ userPoolId: s.poolId, from: file, ...extra }, client, dir).catch((e) => e);
      expect(err).toBeInstanceOf(OpsError);
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(message);
      expect(s.stats.createAttempts).toBe(0);
      expect(existsSync(path.join(dir, 'state'))).toBe(false);
    });
  }

  it('a username pool works with --map id=username', async () => {
    const { s, client } = await start({ usernameAttributes: [] });
    const dir = tmpDir();
    const { file } = deviseCsv(dir, 5);
    const res = await migrate({ userPoolId: s.poolId, from: file, map: [['id', 'username']] }, client, dir);
    if (res.kind !== 'summary') throw new Error('expected a summary');
    // In a username pool an empty or repeated email is no reason to reject: ids 7 and 8 come in too,
    // and id no longer feeds custom:legacy_id (an explicit mapping from a column replaces its default).
    expect([...s.users.keys()].sort()).toEqual(['1', '2', '3', '4', '5', '7', '8', '9'.repeat(70)]);
    expect(res.summary.created).toBe(8);
    expect(s.users.get('1')!.attributes['custom:legacy_id']).toBeUndefined();
  });

  it('an unknown pool is a clear error', async () => {
    const { client } = await start();
    const dir = tmpDir();
    const { file } = deviseCsv(dir, 1);
    const err = await migrate({ userPoolId: 'us-east-1_Nope', from: file }, client, dir).catch((e) => e);
    expect(err.message).toBe('User pool us-east-1_Nope does not exist (or not in this region).');
  });
});

describe('migrate --mode import-job against the stand-in', () => {
  const role = 'arn:aws:iam::123456789012:role/CognitoImport';
  it('splits valid rows into jobs, uploads each to its pre-signed URL, starts and polls them', async () => {
    const { s, client } = await start({ importDelayMs: 20 });
    const dir = tmpDir();
    const { file, valid } = deviseCsv(dir, 25);
    // Import jobs need a verified email: mark every row confirmed.
    writeFileSync(file, readFileSync(file, 'utf8').replace(/,,2019/g, ',2020-01-01,2019'));
    const jobs: string[] = [];
    const res = await migrate({ userPoolId: s.poolId, from: file, mode: 'import-job', cloudwatchRoleArn: role }, client, dir, { importPollMs: 10, importMaxRows: 10, onImportJob: (j) => jobs.push(`${j.jobId}:${j.status}`) });
    if (res.kind !== 'import') throw new Error('expected an import summary');
    expect(res.summary).toMatchObject({ imported: 25, failed: 0, rejected: 5, complete: true });
    expect(res.summary.jobs.map((j) => j.users)).toEqual([10, 10, 5]);
    expect(res.summary.jobs.map((j) => j.sourceRows).reduce((a, b) => a + b, 0)).toBe(30);
    expect([...s.users.keys()].sort()).toEqual([...valid].sort());
    const uploaded = [...s.jobs.values()][0]!;
    expect(uploaded.uploadHeaders!['x-amz-server-side-encryption']).toBe('aws:kms');
    expect(uploaded.csv!.split('\n')[0]).toContain('cognito:username');
    expect(uploaded.csv).not.toContain('$2a$');
    expect(jobs.some((j) => j.endsWith(':Succeeded'))).toBe(true);
    // A re-run finds every chunk done and creates no new job.
    const again = await migrate({ userPoolId: s.poolId, from: file, mode: 'import-job', cloudwatchRoleArn: role }, client, dir, { importPollMs: 10, importMaxRows: 10 });
    if (again.kind !== 'import') throw new Error('expected an import summary');
    expect(s.jobs.size).toBe(3);
    expect(again.summary.imported).toBe(25);
  });

  it('an interrupted run resumes: finished jobs are kept, the running one is awaited, the rest imported once', async () => {
    const { s, client } = await start({ importDelayMs: 150 });
    const dir = tmpDir();
    const { file, valid } = deviseCsv(dir, 30);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/,,2019/g, ',2020-01-01,2019'));
    const ac = new AbortController();
    const p = migrate({ userPoolId: s.poolId, from: file, mode: 'import-job', cloudwatchRoleArn: role }, client, dir, {
      importPollMs: 10,
      importMaxRows: 10,
      signal: ac.signal,
      onImportJob: (j) => {
        // Interrupt while the second job runs (by id: the stand-in's clock may already have finished a job whose poll said InProgress).
        if (j.status === 'InProgress' && j.jobId !== undefined && j.jobId !== [...s.jobs.keys()][0]) ac.abort(new OpsError('Interrupted.', { exitCode: 130, code: 'interrupted' }));
      },
    });
    const err = await p.catch((e) => e);
    expect(err.code).toBe('interrupted');
    expect(s.jobs.size).toBe(2);
    const res = await migrate({ userPoolId: s.poolId, from: file, mode: 'import-job', cloudwatchRoleArn: role }, client, dir, { importPollMs: 10, importMaxRows: 10 });
    if (res.kind !== 'import') throw new Error('expected an import summary');
    expect(s.jobs.size).toBe(3);
    expect(res.summary).toMatchObject({ imported: 30, failed: 0, complete: true });
    expect([...s.users.keys()].sort()).toEqual([...valid].sort());
  });

  it('groups and disabled users are applied after the job; every imported user gets a links row', async () => {
    const { s, client } = await start({ groups: ['g'], importDelayMs: 5 });
    const dir = tmpDir();
    const file = path.join(dir, 'u.csv');
    writeFileSync(file, 'id,email,confirmed_at,locked_at\n1,a@example.com,2020-01-01,\n2,b@example.com,2020-01-01,2021-05-05\n');
    const res = await migrate({ userPoolId: s.poolId, from: file, mode: 'import-job', cloudwatchRoleArn: role, groups: ['g'] }, client, dir, { importPollMs: 5 });
    if (res.kind !== 'import') throw new Error('expected an import summary');
    expect(res.afterImport).toMatchObject({ linked: 2, disabled: 1, groupsAdded: 2, notInPool: 0 });
    expect(s.users.get('b@example.com')!.enabled).toBe(false);
    expect(s.users.get('a@example.com')!.enabled).toBe(true);
    expect([...s.users.values()].every((u) => u.groups.has('g'))).toBe(true);
    const links = readFileSync(res.linksFile, 'utf8').trim().split('\n');
    expect(links[0]).toBe('legacy_id,username,sub');
    expect(links.slice(1).sort()).toEqual([`1,a@example.com,${s.users.get('a@example.com')!.attributes.sub}`, `2,b@example.com,${s.users.get('b@example.com')!.attributes.sub}`]);
  });
});

describe('invitations', () => {
  it('--invite lets Cognito send the invitation email instead of suppressing it', async () => {
    const { s, client } = await start();
    const dir = tmpDir();
    const { file } = deviseCsv(dir, 2);
    const res = await migrate({ userPoolId: s.poolId, from: file, invite: true }, client, dir);
    if (res.kind !== 'summary') throw new Error('expected a summary');
    expect(res.plan.warnings.join('\n')).toMatch(/--invite: Cognito will email a temporary password to each of the 2 users/);
    expect(s.lastCreate!.MessageAction).toBeUndefined();
    expect(s.lastCreate!.DesiredDeliveryMediums).toEqual(['EMAIL']);
  });
});

describe('source edge cases', () => {
  it('a CSV with an unclosed quote rejects what it cannot read and carries on', async () => {
    const { s, client } = await start();
    const dir = tmpDir();
    const file = path.join(dir, 'q.csv');
    writeFileSync(file, 'id,email\n1,a@example.com\n2,"b@example.com\n3,c@example.com\n');
    const res = await migrate({ userPoolId: s.poolId, from: file, dryRun: true }, client, dir);
    if (res.kind !== 'plan') throw new Error('expected a plan');
    expect(res.plan.valid).toBe(1);
    expect(res.plan.rejected).toBeGreaterThanOrEqual(1);
    expect(res.plan.rejectExamples[0]!.reason).toMatch(/^malformed CSV: /);
  });

  it('a CSV header with an empty or repeated column is a usage error', async () => {
    const { s, client } = await start();
    const dir = tmpDir();
    const file = path.join(dir, 'h.csv');
    writeFileSync(file, 'id,,email\n1,x,a@example.com\n');
    const err = await migrate({ userPoolId: s.poolId, from: file }, client, dir).catch((e) => e);
    expect(err).toMatchObject({ exitCode: 2, code: 'bad-source' });
    expect(err.message).toMatch(/empty or repeated column name/);
  });

  it('an unreachable Cognito endpoint is a clear error', async () => {
    const dir = tmpDir();
    const { file } = deviseCsv(dir, 1);
    const err = await migrate({ userPoolId: 'us-east-1_X', from: file }, sdkClient('http://127.0.0.1:1'), dir).catch((e) => e);
    expect(err).toBeInstanceOf(OpsError);
    expect(err.message).toMatch(/^Cannot reach the AWS Cognito endpoint \(cognito-idp:DescribeUserPool\): .*ECONNREFUSED/);
    expect(err.code).toBe('aws-unreachable');
  });

  it('an unknown kind of source, and --table with a file, are usage errors', async () => {
    const { s, client } = await start();
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'u.xml'), '<x/>');
    const err = await migrate({ userPoolId: s.poolId, from: path.join(dir, 'u.xml') }, client, dir).catch((e) => e);
    expect(err.message).toMatch(/Cannot tell what kind of source/);
    const { file } = deviseCsv(dir, 1);
    const err2 = await migrate({ userPoolId: s.poolId, from: file, table: 'users' }, client, dir).catch((e) => e);
    expect(err2.message).toBe('--table and --query only apply to a PostgreSQL source.');
    // A mistyped scheme makes the URL a file name: the message must not echo its password.
    const err3 = await migrate({ userPoolId: s.poolId, from: 'postgress://app:hunter2@db/app' }, client, dir).catch((e) => e);
    expect(err3.message).toBe('Source file postgress://app:***@db/app does not exist.');
  });
});
