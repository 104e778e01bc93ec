import { describe, expect, it } from 'vitest';
import { AdaptiveRateLimiter, backoffMs, type Clock } from '../../src/commands/cognito/migrate/rate.js';
import { FingerprintSet } from '../../src/commands/cognito/migrate/hashset.js';
import { parseMapFlags } from '../../src/commands/cognito/migrate/mapping.js';
import { reasonKind } from '../../src/commands/cognito/migrate/plan.js';
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
    expect(reason({ phone_number: '555-1212' })).toMatch(/^phone_number must be E\.164/);
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

describe('migrate options', () => {
  const ctx = (env: Record<string, string> = {}) =>
    ({ global: {}, setting: (_s: string, key: string, flag: unknown, fallback: unknown) => flag ?? env[key] ?? fallback }) as unknown as Context;
  const base = { userPoolId: 'us-east-1_X', from: 'u.csv' };

  it('refuses flags that would be silently ignored, and rates that would mean no limit', async () => {
    const importJob = { ...base, mode: 'import-job', cloudwatchRoleArn: 'arn:aws:iam::1:role/r' };
    await expect(resolveOptions({ ...importJob, invite: true }, ctx())).rejects.toMatchObject({ exitCode: 2, message: '--invite cannot be used with --mode import-job.' });
    await expect(resolveOptions({ ...importJob, update: true }, ctx())).rejects.toMatchObject({ exitCode: 2, message: '--update cannot be used with --mode import-job.' });
    await expect(resolveOptions(base, ctx({ rate: 0 as never }))).rejects.toMatchObject({ exitCode: 2, message: '--rate must be more than 0 requests per second, got 0.' });
    await expect(resolveOptions(base, ctx({ mode: 'import' }))).rejects.toMatchObject({ exitCode: 2, message: 'Unknown migrate mode "import".' });
    expect(await resolveOptions({ ...base, rate: 25 }, ctx())).toMatchObject({ rate: 25, concurrency: 10, mode: 'admin-create' });
  });
});
