/**
 * Account state, identity links, drift verify/repair, Cognito's own rules and
 * password hashes in import jobs, against the rate-enforcing stand-in driven
 * through the real SDK client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pbkdf2Sync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { AdminInitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { startCognitoStandin, type CognitoStandin } from '../support/cognito-standin.js';
import { migrate, sdkClient, tmpDir } from './helpers.js';

let standin: CognitoStandin | undefined;
afterEach(async () => {
  await standin?.stop();
  standin = undefined;
});
const start = async (o: Parameters<typeof startCognitoStandin>[0] = {}) => {
  standin = await startCognitoStandin({ customAttributes: ['legacy_id'], ...o });
  return { s: standin, client: sdkClient(standin.endpoint) };
};
const role = 'arn:aws:iam::123456789012:role/CognitoImport';

// Devise's bcrypt at the costs apps really use (11 in many initialisers, 12 Devise's default).
const pw = (id: number) => `Devise-pw-${id}!`;
const hash11 = bcrypt.hashSync(pw(1), 11);
const hash12 = bcrypt.hashSync(pw(2), 12);
const django = (password: string) => {
  const salt = 'seasalt123';
  return `pbkdf2_sha256$1000$${salt}$${pbkdf2Sync(password, salt, 1000, 32, 'sha256').toString('base64')}`;
};

/** A Devise users table as CSV: confirmed, unconfirmed, locked, a messy phone, an IDN domain, a too-long email, a duplicate id. */
function deviseFile(dir: string): { file: string; longEmail: string } {
  const longEmail = `${'l'.repeat(64)}@${'d'.repeat(60)}.example.com`;
  const rows = [
    'id,email,encrypted_password,confirmed_at,locked_at,phone_number,name',
    `1,Ada@Example.com,${hash11},2020-01-01,,+1 415 555 0100,Ada`,
    `2,grace@example.com,${hash12},2020-01-01,2024-02-02 10:00:00,,Grace`,
    `3,linus@example.com,${hash11},,,,Linus`,
    `4,jörg@bücher.de,${hash11},2020-01-01,,,Jörg`,
    `5,anne@bücher.de,${hash11},2020-01-01,,(415) 555-0199,Anne`,
    `6,${longEmail},${hash11},2020-01-01,,,Long`,
    `7,ken@example.com,${hash12},2020-01-01,,,Ken`,
    `7,ken.dup@example.com,${hash12},2020-01-01,,,Ken again`,
    `8,call-me@example.com,${hash11},2020-01-01,,call me,Nope`,
  ];
  const file = path.join(dir, 'users.csv');
  writeFileSync(file, rows.join('\n') + '\n');
  return { file, longEmail };
}

describe('account state, Cognito rules and identity links (admin-create)', () => {
  it('the plan shows locked, unconfirmed and every rule; the run does exactly that', async () => {
    const { s, client } = await start();
    const dir = tmpDir();
    const { file } = deviseFile(dir);
    const dry = await migrate({ userPoolId: s.poolId, from: file, dryRun: true, phoneCountry: 'US' }, client, dir);
    if (dry.kind !== 'plan') throw new Error('expected a plan');
    expect(dry.plan).toMatchObject({ total: 9, valid: 5, rejected: 4, toDisable: 1, disabledBy: { locked_at: 1 }, unconfirmed: 1 });
    expect(dry.plan.rejectReasons).toEqual({
      // jörg@bücher.de: the domain would go to punycode, but a non-ASCII local part is no address Cognito takes.
      'invalid email address': 1,
      'email too long/short': 1,
      'duplicate source id: an earlier row already has id': 1,
      'phone_number is not a phone number Cognito accepts (E.164 like +14155550100)': 1,
    });
    expect(dry.steps.map((st) => st.action)).toEqual(['create', 'disable', 'reject', 'write']);
    expect(s.stats.byOp.AdminCreateUser ?? 0).toBe(0);

    const res = await migrate({ userPoolId: s.poolId, from: file, phoneCountry: 'US' }, client, dir);
    if (res.kind !== 'summary') throw new Error('expected a summary');
    expect(res.summary).toMatchObject({ created: 5, rejected: 4, disabled: 1, failed: 0, links: 5 });
    expect(res.summary.rejectReasons).toEqual(dry.plan.rejectReasons);
    expect(s.users.get('grace@example.com')!.enabled).toBe(false);
    expect(s.users.get('ada@example.com')!.attributes).toMatchObject({ email: 'ada@example.com', phone_number: '+14155550100', email_verified: 'true', name: 'Ada' });
    expect(s.users.get('anne@xn--bcher-kva.de')!.attributes.phone_number).toBe('+14155550199');
    expect(s.users.get('linus@example.com')!.attributes.email_verified).toBe('false');
    // Each user's link names the sub Cognito gave it.
    const links = readFileSync(res.summary.linksFile, 'utf8').trim().split('\n');
    expect(links[0]).toBe('legacy_id,username,sub');
    expect(links.slice(1).sort()).toEqual([...s.users.values()].map((u) => `${u.attributes['custom:legacy_id']},${u.username},${u.attributes.sub}`).sort());
    // The non-ASCII local part of jörg@bücher.de is not an address Cognito takes: it is not among them.
    expect(s.users.has('jörg@xn--bcher-kva.de')).toBe(false);
  });

  it('a re-run after a lost links line fills it in (AdminGetUser) and never writes a user twice', async () => {
    const { s, client } = await start();
    const dir = tmpDir();
    const { file } = deviseFile(dir);
    const first = await migrate({ userPoolId: s.poolId, from: file, phoneCountry: 'US' }, client, dir);
    if (first.kind !== 'summary') throw new Error('expected a summary');
    // As if kill -9 hit between a create and its links line (and the line was half written).
    const text = readFileSync(first.summary.linksFile, 'utf8').trim().split('\n');
    writeFileSync(first.summary.linksFile, text.slice(0, -1).join('\n') + '\n' + text.at(-1)!.slice(0, 10));
    const again = await migrate({ userPoolId: s.poolId, from: file, phoneCountry: 'US', restart: true }, client, dir);
    if (again.kind !== 'summary') throw new Error('expected a summary');
    const lines = readFileSync(first.summary.linksFile, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(new Set(lines).size).toBe(6);
    expect(s.stats.byOp.AdminGetUser).toBe(1);
  });
});

describe('duplicate source ids', () => {
  it('a row repeating the id of a rejected row is rejected too, in the plan and the run, in both modes', async () => {
    const { s, client } = await start();
    const dir = tmpDir();
    const file = path.join(dir, 'users.csv');
    writeFileSync(
      file,
      [
        'id,email,confirmed_at',
        '10,not-an-email,2020-01-01', // rejected: bad email; id 10 is still claimed
        '10,second@example.com,2020-01-01', // the app has one user 10: creating this one now would give it two after a fix
        '11,first@example.com,2020-01-01',
        '12,FIRST@example.com,2020-01-01', // rejected: case duplicate of row 3; id 12 is claimed
        '12,third@example.com,2020-01-01',
        '13,fine@example.com,2020-01-01',
      ].join('\n') + '\n',
    );
    const expected = { 'duplicate source id: an earlier row already has id': 2, 'invalid email address': 1, 'duplicate email: an earlier row already has': 1 };
    for (const mode of ['admin-create', 'import-job'] as const) {
      const extra = mode === 'import-job' ? { mode, cloudwatchRoleArn: role } : {};
      const dry = await migrate({ userPoolId: s.poolId, from: file, dryRun: true, ...extra }, client, dir);
      if (dry.kind !== 'plan') throw new Error('expected a plan');
      expect(dry.plan).toMatchObject({ total: 6, valid: 2, rejected: 4 });
      expect(dry.plan.rejectReasons).toEqual(expected);
    }
    const res = await migrate({ userPoolId: s.poolId, from: file }, client, dir);
    if (res.kind !== 'summary') throw new Error('expected a summary');
    expect(res.summary).toMatchObject({ created: 2, rejected: 4, links: 2 });
    expect(res.summary.rejectReasons).toEqual(expected);
    expect([...s.users.keys()].sort()).toEqual(['fine@example.com', 'first@example.com']);
  });
});

describe('--verify proves and --repair fixes', () => {
  it('finds each kind of drift with examples, repairs it, and a second verify is clean', async () => {
    const { s, client } = await start({ groups: ['staff', 'admins'] });
    const dir = tmpDir();
    const file = path.join(dir, 'u.csv');
    const rows = ['id,email,confirmed_at,locked_at,roles,name'];
    for (let i = 1; i <= 12; i++) rows.push(`${i},user${i}@example.com,2020-01-01,${i === 3 ? '2024-01-01' : ''},${i % 2 ? 'staff' : ''},User ${i}`);
    writeFileSync(file, rows.join('\n') + '\n');
    const created = await migrate({ userPoolId: s.poolId, from: file, groupColumn: 'roles' }, client, dir);
    if (created.kind !== 'summary') throw new Error('expected a summary');
    const clean = await migrate({ userPoolId: s.poolId, from: file, groupColumn: 'roles', verify: true }, client, dir);
    if (clean.kind !== 'verify') throw new Error('expected verify');
    expect(clean.verify).toMatchObject({ ok: true, matching: 12, drift: { missing: 0, attribute: 0, enabled: 0, groups: 0 } });

    // Plant drift: a changed attribute, a renamed user, a re-enabled locked user, a lost and an extra membership, a deleted user.
    s.users.get('user1@example.com')!.attributes.name = 'Changed';
    const renamed = s.users.get('user2@example.com')!;
    s.users.delete('user2@example.com');
    renamed.attributes.email = 'renamed@example.com';
    s.users.set('renamed@example.com', renamed);
    s.users.get('user3@example.com')!.enabled = true;
    s.users.get('user5@example.com')!.groups.delete('staff');
    s.users.get('user6@example.com')!.groups.add('admins');
    s.users.delete('user8@example.com');

    const drift = await migrate({ userPoolId: s.poolId, from: file, groupColumn: 'roles', verify: true }, client, dir);
    if (drift.kind !== 'verify') throw new Error('expected verify');
    expect(drift.verify).toMatchObject({ ok: false, matching: 6, drift: { missing: 1, attribute: 2, enabled: 1, groups: 2 }, attributeDrift: { name: 1, email: 1 }, extraInPool: 0 });
    expect(drift.verify.examples).toEqual(
      expect.arrayContaining([
        { username: 'user1@example.com', kind: 'attribute', detail: 'name: pool "Changed", source "User 1"' },
        { username: 'user2@example.com', kind: 'attribute', detail: 'email: pool "renamed@example.com", source "user2@example.com"' },
        { username: 'user3@example.com', kind: 'enabled', detail: 'pool enabled, source disabled (locked_at)' },
        { username: 'user5@example.com', kind: 'groups', detail: 'not in staff' },
        { username: 'user6@example.com', kind: 'groups', detail: 'also in admins' },
        { username: 'user8@example.com', kind: 'missing', detail: 'not in the pool' },
      ]),
    );

    const repair = await migrate({ userPoolId: s.poolId, from: file, groupColumn: 'roles', verify: true, repair: true }, client, dir);
    if (repair.kind !== 'verify') throw new Error('expected verify');
    expect(repair.verify).toMatchObject({ ok: true, repaired: { missing: 1, attribute: 2, enabled: 1, groups: 2 }, unrepairable: [] });
    const after = await migrate({ userPoolId: s.poolId, from: file, groupColumn: 'roles', verify: true }, client, dir);
    if (after.kind !== 'verify') throw new Error('expected verify');
    expect(after.verify).toMatchObject({ ok: true, matching: 12 });
    expect(s.users.get('user2@example.com')!.attributes.email).toBe('user2@example.com');
    expect(s.users.get('user3@example.com')!.enabled).toBe(false);
    // user8 was created again with a new sub: its links row follows (readers keep the last one).
    const user8 = readFileSync(created.summary.linksFile, 'utf8').trim().split('\n').filter((l) => l.split(',')[1] === 'user8@example.com');
    expect(user8.at(-1)).toBe(`8,user8@example.com,${s.users.get('user8@example.com')!.attributes.sub}`);
  });
});

describe('import jobs with password hashes', () => {
  const csv = (dir: string, rows: string[]) => {
    const file = path.join(dir, 'u.csv');
    writeFileSync(file, ['id,email,encrypted_password,confirmed_at,locked_at', ...rows].join('\n') + '\n');
    return file;
  };

  it('BCRYPT hashes (cost 11 and 12) carry over: users sign in with their old password; unconfirmed go through AdminCreateUser', async () => {
    const { s, client } = await start({ importDelayMs: 5 });
    const dir = tmpDir();
    const file = csv(dir, [`1,a@example.com,${hash11},2020-01-01,`, `2,b@example.com,${hash12},2020-01-01,2024-01-01`, `3,c@example.com,${hash11},,`, `4,d@example.com,,2020-01-01,`]);
    const dry = await migrate({ userPoolId: s.poolId, from: file, mode: 'import-job', cloudwatchRoleArn: role, passwordHash: { algorithm: 'BCRYPT' }, dryRun: true }, client, dir);
    if (dry.kind !== 'plan') throw new Error('expected a plan');
    expect(dry.plan).toMatchObject({ valid: 4, viaAdminCreate: 1, withPasswordHash: 2, withoutPasswordHash: 1, toDisable: 1 });
    expect(dry.steps.map((st) => st.action)).toEqual(['import', 'create', 'list', 'disable', 'write']);

    const res = await migrate({ userPoolId: s.poolId, from: file, mode: 'import-job', cloudwatchRoleArn: role, passwordHash: { algorithm: 'BCRYPT' } }, client, dir, { importPollMs: 5 });
    if (res.kind !== 'import') throw new Error('expected an import summary');
    const job = [...s.jobs.values()][0]!;
    expect(job.PasswordHashingAlgorithm).toBe('BCRYPT');
    expect(job.csv!.split('\n')[0]).toContain('cognito:password_hash');
    expect(res.summary).toMatchObject({ imported: 3, failed: 0, complete: true, passwordHashingAlgorithm: 'BCRYPT', hashColumn: 'cognito:password_hash' });
    expect(res.unconfirmed).toMatchObject({ created: 1, failed: 0 });
    expect(res.afterImport).toMatchObject({ linked: 3, disabled: 1 });
    expect(s.users.get('a@example.com')!.status).toBe('CONFIRMED');
    expect(s.users.get('d@example.com')!.status).toBe('RESET_REQUIRED');
    expect(s.users.get('c@example.com')!.attributes.email_verified).toBe('false');
    expect(s.users.get('b@example.com')!.enabled).toBe(false);
    const signIn = (u: string, p: string) => client.send(new AdminInitiateAuthCommand({ UserPoolId: s.poolId, ClientId: 'app', AuthFlow: 'ADMIN_USER_PASSWORD_AUTH', AuthParameters: { USERNAME: u, PASSWORD: p } })).then(() => 'ok', (e) => e.name);
    expect(await signIn('a@example.com', pw(1))).toBe('ok');
    expect(await signIn('a@example.com', 'wrong')).toBe('NotAuthorizedException');
    expect(readFileSync(res.linksFile, 'utf8').trim().split('\n')).toHaveLength(5);
  });

  it('the hash goes in the column GetCSVHeader names, whatever its spelling; no second hash column is added', async () => {
    const { s, client } = await start({ importDelayMs: 5, hashColumn: 'cognito:password_hash_v2' });
    const dir = tmpDir();
    const file = csv(dir, [`1,a@example.com,${hash11},2020-01-01,`]);
    const res = await migrate({ userPoolId: s.poolId, from: file, mode: 'import-job', cloudwatchRoleArn: role, passwordHash: { algorithm: 'BCRYPT' } }, client, dir, { importPollMs: 5 });
    if (res.kind !== 'import') throw new Error('expected an import summary');
    const header = [...s.jobs.values()][0]!.csv!.split('\n')[0]!.split(',');
    expect(header.filter((h) => /password/.test(h))).toEqual(['cognito:password_hash_v2']);
    expect(res.summary).toMatchObject({ imported: 1, hashColumn: 'cognito:password_hash_v2' });
    expect(s.users.get('a@example.com')!.status).toBe('CONFIRMED');
  });

  it('Django PBKDF2_SHA256 hashes carry over too', async () => {
    const { s, client } = await start({ importDelayMs: 5 });
    const dir = tmpDir();
    const file = path.join(dir, 'u.csv');
    writeFileSync(file, `id,email,password,confirmed_at\n1,dj@example.com,${django('s3cret-Django')},2020-01-01\n`);
    const res = await migrate({ userPoolId: s.poolId, from: file, mode: 'import-job', cloudwatchRoleArn: role, passwordHash: { algorithm: 'PBKDF2_SHA256' } }, client, dir, { importPollMs: 5 });
    if (res.kind !== 'import') throw new Error('expected an import summary');
    expect(res.summary.imported).toBe(1);
    const ok = await client.send(new AdminInitiateAuthCommand({ UserPoolId: s.poolId, ClientId: 'app', AuthFlow: 'ADMIN_USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'dj@example.com', PASSWORD: 's3cret-Django' } }));
    expect(ok.AuthenticationResult?.AccessToken).toBeTruthy();
  });

  it('refuses, with the reason and before any job: peppered hashes, hashes of another algorithm, and the API saying no', async () => {
    const { s, client } = await start({ importDelayMs: 5 });
    const dir = tmpDir();
    const file = csv(dir, [`1,a@example.com,${hash11},2020-01-01,`, `2,b@example.com,${django('x')},2020-01-01,`]);
    const peppered = await migrate({ userPoolId: s.poolId, from: file, mode: 'import-job', cloudwatchRoleArn: role, passwordHash: { algorithm: 'BCRYPT' }, pepperConfigured: true }, client, dir).catch((e) => e);
    expect(peppered).toMatchObject({ code: 'hash-peppered', exitCode: 2 });
    expect(peppered.message).toMatch(/Cognito cannot apply a pepper/);
    const mismatch = await migrate({ userPoolId: s.poolId, from: file, mode: 'import-job', cloudwatchRoleArn: role, passwordHash: { algorithm: 'BCRYPT' }, dryRun: true }, client, dir).catch((e) => e);
    expect(mismatch).toMatchObject({ code: 'hash-mismatch', exitCode: 2, hint: expect.stringMatching(/--password-hash PBKDF2_SHA256/) });
    expect(mismatch.message).toBe('1 password hash is not BCRYPT (the first at row 2, line 3, looks like PBKDF2_SHA256); an import job with PasswordHashingAlgorithm=BCRYPT would fail them.');
    expect(s.jobs.size).toBe(0);
    const adminCreate = await migrate({ userPoolId: s.poolId, from: file, passwordHash: { algorithm: 'BCRYPT' } }, client, dir).catch((e) => e);
    expect(adminCreate.message).toMatch(/^--password-hash needs --mode import-job/);

    standin!.options.refuseHashImport = true;
    const good = csv(dir, [`1,a@example.com,${hash11},2020-01-01,`]);
    const refused = await migrate({ userPoolId: s.poolId, from: good, mode: 'import-job', cloudwatchRoleArn: role, passwordHash: { algorithm: 'BCRYPT' } }, client, dir, { importPollMs: 5 }).catch((e) => e);
    expect(refused).toMatchObject({ code: 'hash-import-refused' });
    expect(refused.message).toMatch(/^Cognito refused an import job with PasswordHashingAlgorithm=BCRYPT: Password hash import is not available/);
    expect(s.users.size).toBe(0);
  });

  it('--unconfirmed skip leaves unconfirmed users out, counted as rejected in the plan', async () => {
    const { s, client } = await start({ importDelayMs: 5 });
    const dir = tmpDir();
    const file = csv(dir, [`1,a@example.com,,2020-01-01,`, `2,b@example.com,,,`]);
    const res = await migrate({ userPoolId: s.poolId, from: file, mode: 'import-job', cloudwatchRoleArn: role, unconfirmed: 'skip' }, client, dir, { importPollMs: 5 });
    if (res.kind !== 'import') throw new Error('expected an import summary');
    expect(res.plan).toMatchObject({ valid: 1, rejected: 1, viaAdminCreate: 0 });
    expect([...s.users.keys()]).toEqual(['a@example.com']);
    expect(res.unconfirmed).toBeUndefined();
    expect(readFileSync(res.summary.rejectsFile!, 'utf8')).toMatch(/2,3,email not verified \(import jobs need a verified email; --unconfirmed skip\)/);
  });
});
