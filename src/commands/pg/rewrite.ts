/**
 * Query rewrites, proven: the rewritten text of the user's query for the
 * findings whose cause is the query, timed against the original (median of
 * several EXPLAIN ANALYZE runs, with the spread) and checked to return the
 * same rows (count + hash of every row), inside a read-only transaction that
 * is rolled back.
 */
import type { Finding } from './analysis/finding.js';
import { parsePlan } from './analysis/plan.js';
import { explainStatement, type ExplainSpec } from './explain-runner.js';
import { OWN, type PgSession } from './session.js';

export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
}

export interface RewriteVerification {
  kind: string;
  sql: string;
  before: Timing;
  after: Timing;
  speedup: number;
  /** Same row count and the same hash over all rows (order ignored). */
  sameRows: boolean;
  rows: number;
  /** Measured better and same rows: advised. */
  advised: boolean;
  note?: string;
}

// column, table.column or schema.table.column (each part optionally quoted).
const ident = String.raw`"?[A-Za-z_][\w$]*"?(?:\."?[A-Za-z_][\w$]*"?){0,2}`;
// The column cast to date: col::date, CAST(col AS date), date(col).
const dateOf = String.raw`(?:(${ident})\s*::\s*date\b|CAST\s*\(\s*(${ident})\s+AS\s+date\s*\)|\bdate\s*\(\s*(${ident})\s*\))`;
// A date literal: 'd', 'd'::date, DATE 'd', CAST('d' AS date).
const dateLit = (g: string) => String.raw`(?:DATE\s*'(?<${g}1>[^']+)'|'(?<${g}2>[^']+)'(?:\s*::\s*date\b)?|CAST\s*\(\s*'(?<${g}3>[^']+)'\s+AS\s+date\s*\))`;
const litOf = (m: RegExpExecArray, g: string) => m.groups?.[`${g}1`] ?? m.groups?.[`${g}2`] ?? m.groups?.[`${g}3`];

/** The user's query with the finding's cause rewritten, when opsctl can do it textually and safely. */
export function rewriteSql(sql: string, f: Finding): string | undefined {
  if (f.kind === 'cast-on-column') {
    // col::date BETWEEN a AND b → col >= a AND col < b + 1; col::date = d → col >= d AND col < d + 1.
    const between = new RegExp(String.raw`${dateOf}\s+BETWEEN\s+${dateLit('a')}\s+AND\s+${dateLit('b')}`, 'i').exec(sql);
    if (between) {
      const col = between[1] ?? between[2] ?? between[3];
      return sql.slice(0, between.index) + `(${col} >= DATE '${litOf(between, 'a')}' AND ${col} < DATE '${litOf(between, 'b')}' + 1)` + sql.slice(between.index + between[0].length);
    }
    const eq = new RegExp(String.raw`${dateOf}\s*=\s*${dateLit('d')}`, 'i').exec(sql);
    if (eq) {
      const col = eq[1] ?? eq[2] ?? eq[3];
      const d = litOf(eq, 'd');
      return sql.slice(0, eq.index) + `(${col} >= DATE '${d}' AND ${col} < DATE '${d}' + 1)` + sql.slice(eq.index + eq[0].length);
    }
    const num = new RegExp(String.raw`(${ident})\s*=\s*(-?\d+)\.0+\b`);
    if (num.test(sql)) return sql.replace(num, (_m, col: string, n: string) => `${col} = ${n}`);
    return undefined;
  }
  if (f.kind === 'not-in-subplan') {
    // outer_col NOT IN (SELECT inner_col FROM t [alias] [WHERE …]) → NOT EXISTS (SELECT 1 FROM t alias WHERE alias.inner_col = outer.col [AND (…)])
    const re = new RegExp(String.raw`(${ident})\s+NOT\s+IN\s*\(\s*SELECT\s+(${ident})\s+FROM\s+(${ident})(?:\s+(?:AS\s+)?(?!WHERE\b)([A-Za-z_]\w*))?(?:\s+WHERE\s+((?:[^()]|\([^()]*\))*?))?\s*\)`, 'i');
    const m = re.exec(sql);
    if (!m) return undefined;
    const [whole, outerRaw, innerCol, table, alias, where] = m as unknown as [string, string, string, string, string | undefined, string | undefined];
    // The outer column must name its table, or inside the subquery it would mean the inner one.
    let outer = outerRaw;
    if (!outer.includes('.')) {
      const from = new RegExp(String.raw`\bFROM\s+(${ident})(?:\s+(?:AS\s+)?(?!WHERE\b|JOIN\b|LEFT\b|INNER\b)([A-Za-z_]\w*))?`, 'i').exec(sql.slice(0, m.index));
      if (!from) return undefined;
      outer = `${from[2] ?? from[1]}.${outerRaw}`;
    }
    const a = alias ?? 'opsctl_sub';
    const inner = innerCol.includes('.') ? innerCol.replace(/^.*\./, `${a}.`) : `${a}.${innerCol}`;
    const rewritten = `NOT EXISTS (SELECT 1 FROM ${table} ${a} WHERE ${inner} = ${outer}${where ? ` AND (${where})` : ''})`;
    return sql.slice(0, m.index) + rewritten + sql.slice(m.index + whole.length);
  }
  return undefined;
}

async function timeRuns(session: PgSession, spec: ExplainSpec, runs: number): Promise<Timing> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push(parsePlan(await explainStatement(session, spec)).executionMs ?? 0);
  ms.sort((a, b) => a - b);
  return { medianMs: ms[Math.floor(ms.length / 2)]!, minMs: ms[0]!, maxMs: ms[ms.length - 1]!, runs };
}

async function rowDigest(session: PgSession, sql: string, params: string[]): Promise<{ n: number; h: string | null }> {
  const { rows } = await session.query<{ n: string; h: string | null }>(
    `SELECT ${OWN} count(*) AS n, md5(string_agg(md5(q::text), '' ORDER BY md5(q::text))) AS h FROM (${sql}) q`,
    params,
    { extended: true },
  );
  return { n: Number(rows[0]!.n), h: rows[0]!.h };
}

/**
 * Keyset pagination for `… ORDER BY col [DESC] LIMIT n OFFSET m`: the last row of
 * the previous page is looked up once (that is what the application would
 * remember), and the page becomes `WHERE col > that ORDER BY col LIMIT n`.
 */
async function keysetRewrite(session: PgSession, sql: string, params: string[]): Promise<string | undefined> {
  const m = /^([\s\S]*?)\s+ORDER\s+BY\s+("?[A-Za-z_][\w$]*"?)(\s+(?:ASC|DESC))?\s+LIMIT\s+(\d+)\s+OFFSET\s+(\d+)\s*$/i.exec(sql);
  if (!m) return undefined;
  const [, head, col, dir, limit, offset] = m as unknown as [string, string, string, string | undefined, string, string];
  const desc = /desc/i.test(dir ?? '');
  const { rows } = await session.query<{ v: unknown }>(`SELECT ${OWN} q.${col}::text AS v FROM (${head} ORDER BY ${col}${dir ?? ''} LIMIT 1 OFFSET ${Number(offset) - 1}) q`, params, { extended: true });
  if (rows.length === 0 || rows[0]!.v === null) return undefined;
  const value = String(rows[0]!.v);
  const literal = /^-?\d+(\.\d+)?$/.test(value) ? value : `'${value.replace(/'/g, "''")}'`;
  const where = /\bWHERE\b/i.test(head) ? ' AND' : ' WHERE';
  return `${head}${where} ${col} ${desc ? '<' : '>'} ${literal} ORDER BY ${col}${dir ?? ''} LIMIT ${limit}`;
}

export async function verifyRewrites(session: PgSession, spec: ExplainSpec, findings: Finding[], o: { timeoutMs: number; runs?: number; settings?: Record<string, string> }): Promise<RewriteVerification[]> {
  const out: RewriteVerification[] = [];
  const runs = o.runs ?? 3;
  for (const f of findings) {
    await session.rolledBack({ readOnly: true, timeoutMs: o.timeoutMs, settings: o.settings }, async () => {
      const sql = f.kind === 'deep-offset' ? await keysetRewrite(session, spec.sql, spec.params) : rewriteSql(spec.sql, f);
      if (!sql) return;
      const before = await timeRuns(session, spec, runs);
      const after = await timeRuns(session, { ...spec, sql }, runs);
      const [a, b] = [await rowDigest(session, spec.sql, spec.params), await rowDigest(session, sql, spec.params)];
      const sameRows = a.n === b.n && a.h === b.h;
      const speedup = after.medianMs > 0 ? before.medianMs / after.medianMs : Infinity;
      // Better only when the slowest rewritten run beats the fastest original one.
      const better = after.maxMs < before.minMs;
      out.push({
        kind: f.kind,
        sql,
        before,
        after,
        speedup: Math.round(speedup * 10) / 10,
        sameRows,
        rows: a.n,
        advised: sameRows && better,
        note: !sameRows ? `returns different rows (${a.n} vs ${b.n}): not advised` : !better ? 'measured no better: not advised' : undefined,
      });
    });
  }
  return out;
}

export interface SettingVerification {
  kind: string;
  setting: string;
  value: string;
  before: Timing;
  after: Timing;
  speedup: number;
  /** Measured better (slowest run with it beats the fastest without): advised. */
  advised: boolean;
}

/** SET work_mem advice, measured: the query with SET LOCAL and without, median of several runs each. */
export async function verifySettings(session: PgSession, spec: ExplainSpec, findings: Finding[], o: { timeoutMs: number; runs?: number; settings?: Record<string, string> }): Promise<SettingVerification[]> {
  const out: SettingVerification[] = [];
  const runs = o.runs ?? 3;
  const seen = new Set<string>();
  for (const f of findings) {
    const m = f.fix.sql.map((q) => /^SET (\w+) = '([^']+)';$/.exec(q)).find(Boolean);
    if (!m || seen.has(`${m[1]}=${m[2]}`)) continue;
    seen.add(`${m[1]}=${m[2]}`);
    const [, setting, value] = m as unknown as [string, string, string];
    const before = await session.rolledBack({ readOnly: true, timeoutMs: o.timeoutMs, settings: o.settings }, () => timeRuns(session, spec, runs));
    const after = await session.rolledBack({ readOnly: true, timeoutMs: o.timeoutMs, settings: { ...o.settings, [setting]: value } }, () => timeRuns(session, spec, runs));
    const advised = after.maxMs < before.minMs;
    out.push({ kind: f.kind, setting, value, before, after, speedup: Math.round((before.medianMs / Math.max(0.001, after.medianMs)) * 10) / 10, advised });
    // Not measured better: the advice is withdrawn, and says so.
    if (!advised) f.fix = { text: `${f.fix.text} Measured with SET LOCAL ${setting} = '${value}': no faster (${before.medianMs.toFixed(1)} → ${after.medianMs.toFixed(1)} ms median), so not advised.`, sql: [] };
  }
  return out;
}
