/**
 * Every classic pattern of test/pg/scenarios.ts against a real PostgreSQL 18,
 * ≥ 200,000 rows each (built once): the finding that names the cause, the
 * exact advice (columns in order, opclass, rewrite), and the proof from
 * --verify real — the index is used and faster, or the rewrite returns the
 * same rows faster. The already-fast controls get no advice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { explainJson } from './helpers.js';
import { CONTROLS, SCENARIOS, setupSql } from './scenarios.js';

let server: TestPostgres;
let url: string;

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase('patterns');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (const statement of setupSql()) await c.query(statement);
  } finally {
    await c.end();
  }
}, 180_000);
afterAll(async () => server?.stop());

describe('classic slow-query patterns (200k rows each)', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
    const r = await explainJson(url, s.query, ...(s.flags ?? []), ...(s.proof === 'none' ? [] : ['--verify', 'real']));
    expect(r.code, r.stderr + JSON.stringify(r.doc?.verificationError)).toBe(0);
    const kinds = r.doc.findings.map((f: any) => f.kind);
    expect(kinds, JSON.stringify(r.doc.findings.map((f: any) => [f.kind, f.title]))).toContain(s.kind);
    const advised = r.doc.advice.filter((a: any) => a.sql).map((a: any) => a.sql as string);
    expect(advised.length, advised.join('\n')).toBe(s.advice.length);
    s.advice.forEach((re, i) => expect(advised[i]).toMatch(re));
    if (s.proof === 'index') {
      const v = r.doc.verification;
      expect(v.indexes.every((i: any) => i.used), JSON.stringify(v.indexes)).toBe(true);
      expect(v.after.executionMs).toBeLessThan(v.before.executionMs);
      expect(v.leftBehind).toEqual([]);
    }
    if (s.proof === 'rewrite') {
      const w = r.doc.rewrites.find((x: any) => x.kind === s.kind);
      expect(w?.sql).toMatch(s.rewrite!);
      expect(w).toMatchObject({ sameRows: true, advised: true });
      expect(w.after.maxMs).toBeLessThan(w.before.minMs);
    }
  });

  it.each(CONTROLS.map((s) => [s.name, s] as const))('control, already fast: %s', async (_name, s) => {
    const r = await explainJson(url, s.query);
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.advice, JSON.stringify(r.doc.findings)).toEqual([]);
    expect(r.doc.findings.filter((f: any) => f.severity !== 'low')).toEqual([]);
  });
});
