import { describe, expect, it } from 'vitest';
import { AdaptiveRateLimiter, backoffMs, type Clock } from '../../src/commands/cognito/migrate/rate.js';
import { FingerprintSet } from '../../src/commands/cognito/migrate/hashset.js';
import { parseMapFlags } from '../../src/commands/cognito/migrate/mapping.js';
import { checkRow, reasonKind } from '../../src/commands/cognito/migrate/plan.js';
import { checkUsername, detectHashAlgorithm, normaliseEmail, normalisePhone } from '../../src/commands/cognito/migrate/rules.js';
import { deviseConfigHasPepper } from '../../src/commands/cognito/migrate/options.js';
import { buildMapping, mapRow, type PoolInfo } from '../../src/commands/cognito/migrate/mapping.js';
import { resolveOptions } from '../../src/commands/cognito/migrate/index.js';
import { openSource } from '../../src/commands/cognito/migrate/sources.js';
import type { Context } from '../../src/lib/context.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tmpDir } from './helpers.js';

function fakeClock(): Clock & { t: number } {
  const c = { t: 0, now: () => c.t, sleep: async (ms: number) => void (c.t += ms) };
  return c;
}

describe('rate limiting', () => {
  it('spaces requests evenly at the rate, no bursts', async () => {
    const clock = fakeClock();
    const l = new AdaptiveRateLimiter(50, clock);
    const times: number[] = [];
    for (let i = 0; i < 100; i++) {
      await l.acquire();
      times.push(clock.t);
    }
    expect(times[99]! - times[0]!).toBeCloseTo(99 * 20, 5);
    expect(Math.min(...times.slice(1).map((t, i) => t - times[i]!))).toBeCloseTo(20, 5);
  });

  it('cuts the rate once per burst of throttles and climbs back', () => {
    const clock = fakeClock();
    const l = new AdaptiveRateLimiter(40, clock);
    l.onThrottle();
    l.onThrottle();
    expect(l.rate).toBe(30);
    clock.t += 1500;
    l.onThrottle();
    expect(l.rate).toBe(22.5);
    for (let i = 0; i < 2000; i++) l.onSuccess();
    expect(l.rate).toBe(40);
    expect(l.throttles).toBe(3);
  });

  it('backoff is full jitter, exponential, capped', () => {
    expect(backoffMs(0, () => 0.999)).toBe(249);
    expect(backoffMs(3, () => 0.5)).toBe(1000);
    expect(backoffMs(30, () => 0.999)).toBe(19_980);
    expect(backoffMs(5, () => 0)).toBe(0);
  });
});

describe('duplicate detection', () => {
  it('keeps a million-scale set exact for distinct keys across growth', () => {
    const s = new FingerprintSet(16);
    for (let i = 0; i < 50_000; i++) expect(s.add(`user${i}@example.com`)).toBe(true);
    for (let i = 0; i < 50_000; i += 997) expect(s.add(`user${i}@example.com`)).toBe(false);
    expect(s.size).toBe(50_000);
    expect(s.has('user49999@example.com')).toBe(true);
    expect(s.has('user50000@example.com')).toBe(false);
  });
});

describe('mapping flags', () => {
  it('parses --map and mapping files, and rejects malformed ones', () => {
    expect(parseMapFlags(['id=custom:legacy_id', 'legacy = -'], { login: 'email' })).toEqual([['login', 'email'], ['id', 'custom:legacy_id'], ['legacy', '-']]);
    expect(() => parseMapFlags(['email'])).toThrow(/--map "email" is not COLUMN=ATTRIBUTE/);
    expect(() => parseMapFlags([], { a: 1 })).toThrow(/"a" must map to an attribute name/);
  });

  it('groups reject reasons without the offending values', () => {
    expect(reasonKind('invalid email address "x@"')).toBe('invalid email address');
    expect(reasonKind('custom:legacy_id is 70 characters long; the pool allows at most 64')).toBe('custom:legacy_id too long/short');
  });
});

describe('unreadable sources', () => {
  it('a directory, a FIFO or a missing file is one usage error with a hint, before any AWS call', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { execFileSync } = await import('node:child_process');
    const os = await import('node:os');
    const dir = mkdtempSync(`${os.tmpdir()}/opsctl-src-`);
    // A FIFO must be refused on stat: opening one for reading would block until a writer comes.
    execFileSync('mkfifo', [`${dir}/pipe.csv`]);
    for (const [from, message] of [
      [dir, /^Source .* is not a file\.$/],
      [`${dir}/pipe.csv`, /^Source .*pipe\.csv is not a file\.$/],
      [`${dir}/none.csv`, /^Source file .*none\.csv does not exist\.$/],
    ] as const) {
      const err = await openSource({ from }).catch((e) => e);
      expect(err).toMatchObject({ exitCode: 2, code: 'bad-source', message: expect.stringMatching(message), hint: expect.any(String) });
    }
  });
});

describe('bad rows', () => {
  const pool: PoolInfo = {
    id: 'us-east-1_Unit',
    usernameAttributes: ['email'],
    caseSensitive: false,
    attributes: new Map([
      ['email', { name: 'email', type: 'String', required: true, mutable: true }],
      ['name', { name: 'name', type: 'String', required: true, mutable: true, minLength: 2, maxLength: 8 }],
      ['custom:age', { name: 'custom:age', type: 'Number', required: false, mutable: true, minValue: 0, maxValue: 150 }],
      ['phone_number', { name: 'phone_number', type: 'String', required: false, mutable: true }],
    ]),
  };
  const mapping = buildMapping(['email', 'name', 'age', 'phone_number'], [['age', 'custom:age']], pool);
  const reason = (record: Record<string, unknown>) => {
    const r = mapRow({ email: 'a@example.com', name: 'Ada', ...record }, mapping, pool);
    return r.ok ? 'ok' : r.reason;
  };

  it('rejects each kind of bad value with its reason', () => {
    expect(reason({})).toBe('ok');
    expect(reason({ name: null })).toBe('missing required attribute name (column name is empty)');
    expect(reason({ name: 'A' })).toBe('name is 1 characters long; the pool needs at least 2');
    expect(reason({ name: 'Ada Lovelace' })).toBe('name is 12 characters long; the pool allows at most 8');
    expect(reason({ age: 'old' })).toBe('custom:age must be a number, got "old"');
    expect(reason({ age: 200 })).toBe('custom:age is above its maximum 150');
    expect(reason({ phone_number: '555-1212' })).toMatch(/^phone_number is not a phone number Cognito accepts \(E\.164.*pass --phone-country/);
    expect(reason({ email: 'a@@example.com' })).toBe('invalid email address "a@@example.com"');
  });

  it('malformed CSV rows and JSON lines are rejected without quoting their text (it may hold a password hash)', async () => {
    const dir = tmpDir();
    const csv = path.join(dir, 'u.csv');
    writeFileSync(csv, 'id,email,encrypted_password\n1,a@example.com,$2a$11$se"cretHASH\n2,b@example.com,"$2a$11$secretHASH"x\n3,c@example.com,ok\n');
    const jsonl = path.join(dir, 'u.jsonl');
    writeFileSync(jsonl, '{"id":1,"encrypted_password":$2a$11$secretHASH}\n{"id":2,"encrypted_password":"$2a$11$secretHASH" "email":"x"}\n');
    for (const file of [csv, jsonl]) {
      const src = await openSource({ from: file });
      const errors: string[] = [];
      for await (const row of src.rows()) if (row.error) errors.push(row.error);
      expect(errors.length).toBeGreaterThanOrEqual(2);
      expect(errors.join('\n')).not.toMatch(/secret|\$2a/);
      expect(errors.every((e) => /^malformed (CSV|JSON): \S/.test(e))).toBe(true);
    }
  });
});

describe('CSV lines', () => {
  it('a record is named by the line it starts on, also after a quoted field with newlines', async () => {
    const dir = tmpDir();
    const csv = path.join(dir, 'lines.csv');
    writeFileSync(csv, 'id,email,name\n1,a@example.com,"two\nlines"\n\n2,b@example.com,x\n3,short\n');
    const src = await openSource({ from: csv });
    const lines: Array<[number | undefined, string | undefined]> = [];
    for await (const row of src.rows()) lines.push([row.line, row.error]);
    expect(lines).toEqual([[2, undefined], [5, undefined], [6, 'malformed CSV row: expected 3 fields, got 2']]);
  });
});

describe("Cognito's own rules", () => {
  it('normalises phone numbers to E.164 and refuses what is not a number', () => {
    expect(normalisePhone('+1 415 555 0100')).toEqual({ ok: true, value: '+14155550100' });
    expect(normalisePhone('+1 (415) 555-0100')).toEqual({ ok: true, value: '+14155550100' });
    expect(normalisePhone('0044 20 7946 0958')).toEqual({ ok: true, value: '+442079460958' });
    expect(normalisePhone('(415) 555-0100', 'US')).toEqual({ ok: true, value: '+14155550100' });
    expect(normalisePhone('(415) 555-0100').ok).toBe(false);
    expect(normalisePhone('call me').ok).toBe(false);
  });

  it('emails: lower-cased, IDN domains in punycode, 128 characters at most as a username', () => {
    expect(normaliseEmail('Ann@Bücher.DE', true)).toEqual({ ok: true, value: 'ann@xn--bcher-kva.de' });
    const long = `${'a'.repeat(60)}@${'b'.repeat(60)}.example.com`;
    expect(long.length).toBeGreaterThan(128);
    expect(normaliseEmail(long, true)).toEqual({ ok: false, reason: `email is ${long.length} characters long; Cognito allows at most 128 (it is the username)` });
    expect(normaliseEmail(long, false).ok).toBe(true);
    expect(normaliseEmail('a@b', true).ok).toBe(false);
    expect(normaliseEmail('a..b@example.com', true).ok).toBe(false);
    expect(normaliseEmail('ü@example.com', true).ok).toBe(false);
  });

  it('usernames: 128 characters of letters, digits, symbols and punctuation', () => {
    expect(checkUsername('jörg.müller').ok).toBe(true);
    expect(checkUsername('has space').ok).toBe(false);
    expect(checkUsername('x'.repeat(129))).toEqual({ ok: false, reason: 'username is 129 characters long; Cognito allows at most 128' });
  });

  it('tells password-hash formats apart', () => {
    expect(detectHashAlgorithm(`$2a$11$${'a'.repeat(53)}`)).toBe('BCRYPT');
    expect(detectHashAlgorithm('pbkdf2_sha256$600000$salt$aGFzaA==')).toBe('PBKDF2_SHA256');
    expect(detectHashAlgorithm('$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA')).toBe('ARGON2ID');
    expect(detectHashAlgorithm('md5$abc')).toBeUndefined();
  });

  it('the Devise preset maps locked_at and disabled to the enabled state, and finds duplicate source ids', () => {
    const pool: PoolInfo = { id: 'us-east-1_Unit', usernameAttributes: ['email'], caseSensitive: false, attributes: new Map([['email', { name: 'email', type: 'String', required: false, mutable: true }], ['email_verified', { name: 'email_verified', type: 'Boolean', required: false, mutable: true }]]) };
    const mapping = buildMapping(['id', 'email', 'confirmed_at', 'locked_at', 'disabled'], [], pool);
    expect(mapping.entries.filter((e) => e.target === 'disabled').map((e) => e.column)).toEqual(['locked_at', 'disabled']);
    const row = (record: Record<string, unknown>) => mapRow({ id: 1, email: 'a@example.com', confirmed_at: '2020-01-01', locked_at: null, disabled: null, ...record }, mapping, pool);
    expect(row({})).toMatchObject({ ok: true, user: { disabled: false, unconfirmed: false, legacyId: '1' } });
    expect(row({ locked_at: '2021-01-01' })).toMatchObject({ ok: true, user: { disabled: true, disabledBy: 'locked_at' } });
    expect(row({ disabled: 'true' })).toMatchObject({ ok: true, user: { disabled: true, disabledBy: 'disabled' } });
    expect(row({ confirmed_at: null })).toMatchObject({ ok: true, user: { unconfirmed: true, attributes: expect.arrayContaining([{ Name: 'email_verified', Value: 'false' }]) } });
    const seen = new FingerprintSet();
    expect(checkRow({ record: { id: 7, email: 'x@example.com' } }, mapping, pool, seen).ok).toBe(true);
    expect(checkRow({ record: { id: 7, email: 'y@example.com' } }, mapping, pool, seen)).toEqual({ ok: false, reason: 'duplicate source id: an earlier row already has id "7"' });
  });
});

describe('migrate options', () => {
  const ctx = (env: Record<string, string> = {}) =>
    ({ global: {}, setting: (_s: string, key: string, flag: unknown, fallback: unknown) => flag ?? env[key] ?? fallback }) as unknown as Context;
  const base = { userPoolId: 'us-east-1_X', from: 'u.csv' };

  it('refuses flags that would be silently ignored, and rates that would mean no limit', async () => {
    const importJob = { ...base, mode: 'import-job', cloudwatchRoleArn: 'arn:aws:iam::1:role/r' };
    const refusal = (flags: Record<string, unknown>, c = ctx()) => {
      try {
        resolveOptions(flags, c);
      } catch (err) {
        return err;
      }
      throw new Error('expected a refusal');
    };
    expect(refusal({ ...importJob, invite: true })).toMatchObject({ exitCode: 2, message: '--invite cannot be used with --mode import-job.' });
    expect(refusal({ ...importJob, update: true })).toMatchObject({ exitCode: 2, message: '--update cannot be used with --mode import-job.' });
    expect(refusal(base, ctx({ rate: 0 as never }))).toMatchObject({ exitCode: 2, message: '--rate must be more than 0 requests per second, got 0.' });
    expect(refusal(base, ctx({ mode: 'import' }))).toMatchObject({ exitCode: 2, message: 'Unknown migrate mode "import".' });
    expect(refusal({ ...base, repair: true })).toMatchObject({ exitCode: 2, message: '--repair needs --verify.' });
    expect(refusal({ ...base, writeBack: 'users.sub' })).toMatchObject({ exitCode: 2, message: '--write-back needs a PostgreSQL source.' });
    expect(refusal({ ...importJob, passwordHash: 'md5' })).toMatchObject({ exitCode: 2, message: expect.stringMatching(/^--password-hash must be one of BCRYPT, PBKDF2_SHA256, ARGON2ID, SCRYPT/) });
    // A pool id not of the API's form is refused before any call (it used to hang in SDK retries against AWS).
    for (const bad of ['bad!id', 'us-east-1', 'us-east-1_', 'us-east-1_abc def', "x_1'; --"]) {
      expect(refusal({ ...base, userPoolId: bad })).toMatchObject({ exitCode: 2, message: expect.stringMatching(/is not a user pool id\.$/), hint: expect.stringContaining('eu-west-1_AbCdEf123') });
    }
    expect(resolveOptions({ ...base, userPoolId: 'eusc-de-east-1_AbC123' }, ctx()).userPoolId).toBe('eusc-de-east-1_AbC123');
    expect(resolveOptions({ ...base, userPoolId: 'local_5a2b' }, ctx()).userPoolId).toBe('local_5a2b');
    expect(refusal({ ...base, unconfirmed: 'skip' })).toMatchObject({ exitCode: 2, message: '--unconfirmed only applies to --mode import-job.' });
    expect(resolveOptions({ ...base, rate: 25 }, ctx())).toMatchObject({ rate: 25, concurrency: 10, mode: 'admin-create' });
    expect(resolveOptions({ ...importJob, passwordHash: 'bcrypt' }, ctx())).toMatchObject({ passwordHash: { algorithm: 'BCRYPT' } });
    expect(resolveOptions({ ...base, from: 'postgres://h/db', writeBack: 'users.cognito_sub' }, ctx()).writeBack).toEqual({ table: 'users', column: 'cognito_sub' });
    expect(resolveOptions({ ...base, from: 'postgres://h/db', table: 'accounts', writeBack: 'sub' }, ctx()).writeBack).toEqual({ table: 'accounts', column: 'sub' });
  });

  it('finds a Devise pepper in config/initializers/devise.rb, but not a commented or nil one', () => {
    expect(deviseConfigHasPepper("Devise.setup do |config|\n  config.pepper = 'abc123'\nend\n")).toBe(true);
    expect(deviseConfigHasPepper("Devise.setup do |config|\n  config.pepper = ENV['DEVISE_PEPPER']\nend\n")).toBe(true);
    expect(deviseConfigHasPepper("Devise.setup do |config|\n  # config.pepper = 'abc123'\nend\n")).toBe(false);
    expect(deviseConfigHasPepper("  config.pepper = nil\n")).toBe(false);
  });
});
