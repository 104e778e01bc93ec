import { describe, expect, it } from 'vitest';
import { AdaptiveRateLimiter, backoffMs, type Clock } from '../../src/lib/cognito/rate.js';
import { FingerprintSet } from '../../src/lib/cognito/hashset.js';
import { parseMapFlags } from '../../src/commands/cognito/migrate/mapping.js';
import { reasonKind } from '../../src/commands/cognito/migrate/plan.js';

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
