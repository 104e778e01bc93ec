/**
 * Running EXPLAIN safely, and proving index advice: for real (CREATE INDEX
 * inside a transaction that is rolled back) or hypothetically (HypoPG).
 */
import { OpsError, firstLine, usageError } from '../../lib/errors.js';
import type { RawExplain } from './analysis/plan.js';
import type { IndexAdvice } from './analysis/advice.js';
import { relationExists } from './catalog.js';
import { OWN, type PgSession } from './session.js';

export type ExplainKind = 'analyze' | 'plan' | 'generic';

export interface ExplainSpec {
  sql: string;
  kind: ExplainKind;
  params: string[];
  paramCount: number;
}

const GENERIC_NAME = 'opsctl_generic_plan';

/** The EXPLAIN opsctl sends for the statement (for a generic plan, the PostgreSQL 16+ form). */
export function explainText(spec: ExplainSpec, versionNum: number, analyze = spec.kind === 'analyze'): string {
  const plainOptions = `VERBOSE${versionNum >= 120000 ? ', SETTINGS' : ''}, FORMAT JSON`;
  if (spec.kind === 'generic') return `EXPLAIN (GENERIC_PLAN, ${plainOptions}) ${spec.sql}`;
  return `EXPLAIN (${analyze ? 'ANALYZE, BUFFERS, ' : ''}${plainOptions}) ${spec.sql}`;
}

/** EXPLAIN the statement in the current transaction and return the JSON document. */
export async function explainStatement(s: PgSession, spec: ExplainSpec, opts: { hypothetical?: boolean } = {}): Promise<RawExplain> {
  const plainOptions = `VERBOSE${s.versionNum >= 120000 ? ', SETTINGS' : ''}, FORMAT JSON`;
  // The extended protocol refuses a second statement; the generic-plan forms
  // must go through the simple protocol (Parse would demand values for $n), and
  // are safe there because inspectStatement() already refused multiple statements.
  const run = async (text: string, values?: unknown[], extended = true) => {
    // The user's query ends the text: the server's error positions count what precedes it.
    const positionOffset = text.endsWith(spec.sql) ? text.length - spec.sql.length : 0;
    const res = await s.query<{ 'QUERY PLAN': RawExplain[] | string }>(text, values, { sqlForErrors: spec.sql, positionOffset, extended });
    const doc = res.rows[0]!['QUERY PLAN'];
    return (typeof doc === 'string' ? JSON.parse(doc) : doc)[0] as RawExplain;
  };
  if (spec.kind === 'generic') {
    // inspectStatement() reads 'a\' as PostgreSQL does with standard_conforming_strings on; a legacy server
    // with it off would see a different end of the string, and possibly a second statement.
    if (spec.sql.includes('\\') && (await s.query<{ scs: boolean }>(`SELECT ${OWN} current_setting('standard_conforming_strings') = 'on' AS scs`)).rows[0]?.scs === false) {
      throw usageError('This server has standard_conforming_strings off, so opsctl cannot safely tell where the backslashes in this query end a string.', 'pass --param values (the statement then runs through the extended protocol), or write the strings as E\'…\'', 'pg-unsafe-strings');
    }
    if (s.versionNum >= 160000) return run(explainText(spec, s.versionNum), undefined, false);
    // Before PostgreSQL 16: a prepared statement forced to its generic plan.
    await s.query(`PREPARE ${GENERIC_NAME} AS ${spec.sql}`, undefined, { sqlForErrors: spec.sql, positionOffset: `PREPARE ${GENERIC_NAME} AS `.length });
    try {
      await s.query('SET LOCAL plan_cache_mode = force_generic_plan');
      const nulls = Array.from({ length: spec.paramCount }, () => 'NULL').join(', ');
      return await run(`EXPLAIN (${plainOptions}) EXECUTE ${GENERIC_NAME}${spec.paramCount ? `(${nulls})` : ''}`);
    } finally {
      await s.client.query(`DEALLOCATE ${GENERIC_NAME}`).catch(() => {});
    }
  }
  return run(explainText(spec, s.versionNum, spec.kind === 'analyze' && !opts.hypothetical), spec.params);
}

export interface BuiltIndex {
  name: string;
  table: string;
  sql: string;
  buildMs: number;
  /** On a partitioned table: the partitions' own indexes it created (what the plan names). */
  children: string[];
}

export interface RealVerification {
  method: 'real';
  indexes: BuiltIndex[];
  after: RawExplain;
  /** Checked after the rollback: none of the indexes exists. */
  leftBehind: string[];
}

/**
 * Build the proposed indexes inside a transaction, EXPLAIN ANALYZE again, roll
 * back. CREATE INDEX (not CONCURRENTLY: that cannot run in a transaction)
 * holds a SHARE lock that blocks writes to the table until the rollback.
 */
export async function verifyReal(
  s: PgSession,
  spec: ExplainSpec,
  advice: IndexAdvice[],
  opts: { timeoutMs: number; lockTimeoutMs: number; allowWrites: boolean; settings?: Record<string, string> },
): Promise<RealVerification> {
  const indexes: BuiltIndex[] = [];
  let after!: RawExplain;
  let failure: unknown;
  try {
    await s.rolledBack({ readOnly: false, timeoutMs: opts.timeoutMs, lockTimeoutMs: opts.lockTimeoutMs, settings: opts.settings }, async () => {
      for (const a of advice) {
        const t0 = performance.now();
        await s.query(a.buildSql);
        const buildMs = performance.now() - t0;
        const { rows } = await s.query<{ name: string }>(
          `SELECT ${OWN} c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1)`,
          [a.schema ? `"${a.schema.replace(/"/g, '""')}"."${a.name.replace(/"/g, '""')}"` : `"${a.name.replace(/"/g, '""')}"`],
        );
        indexes.push({ name: a.name, table: a.table, sql: a.buildSql, buildMs, children: rows.map((r) => r.name) });
      }
      // The statement itself still must not write unless allowed.
      if (!opts.allowWrites) await s.query('SET TRANSACTION READ ONLY');
      after = await explainStatement(s, spec);
    });
  } catch (err) {
    failure = err;
  }
  // Prove the rollback: none of the indexes we built may exist now (one that failed to build may be someone else's relation).
  const leftBehind: string[] = [];
  for (const a of advice.filter((x) => indexes.some((i) => i.name === x.name))) if (await relationExists(s, a.schema, a.name).catch(() => false)) leftBehind.push(a.name);
  if (failure) throw failure;
  return { method: 'real', indexes, after, leftBehind };
}

export interface HypoVerification {
  method: 'hypo';
  indexes: Array<{ name: string; table: string; hypoName: string; sql: string }>;
  before: RawExplain;
  after: RawExplain;
  extensionCreated: boolean;
}

/** HypoPG: hypothetical indexes the planner sees in this session only. No lock, no build; estimates only. */
export async function verifyHypo(s: PgSession, spec: ExplainSpec, advice: IndexAdvice[], opts: { timeoutMs: number; settings?: Record<string, string> }): Promise<HypoVerification> {
  const { rows: ext } = await s.query<{ installed: boolean; available: boolean }>(
    `SELECT ${OWN} EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'hypopg') AS installed,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg') AS available`,
  );
  if (!ext[0]!.installed && !ext[0]!.available) {
    throw new OpsError('--verify hypo needs the HypoPG extension, which this server does not have.', {
      hint: `install it on the server (Debian/Ubuntu: apt install postgresql-${Math.floor(s.versionNum / 10000)}-hypopg), or use --verify real`,
      code: 'pg-hypopg-missing',
    });
  }
  const plainSpec: ExplainSpec = { ...spec, kind: spec.kind === 'analyze' ? 'plan' : spec.kind };
  // CREATE EXTENSION needs a read-write transaction; it is rolled back with the rest.
  return s.rolledBack({ readOnly: ext[0]!.installed, timeoutMs: opts.timeoutMs, settings: opts.settings }, async () => {
    if (!ext[0]!.installed) {
      try {
        await s.query('CREATE EXTENSION hypopg');
      } catch (err) {
        throw new OpsError(`HypoPG is available but opsctl could not enable it: ${firstLine(err)}`, {
          hint: 'ask an administrator to run CREATE EXTENSION hypopg in this database, or use --verify real',
          code: 'pg-hypopg-unavailable',
          cause: err,
        });
      }
    }
    const before = await explainStatement(s, plainSpec);
    const indexes: HypoVerification['indexes'] = [];
    for (const a of advice) {
      const { rows } = await s.query<{ indexrelid: number; indexname: string }>(`SELECT ${OWN} indexrelid, indexname FROM hypopg_create_index($1)`, [a.buildSql]);
      indexes.push({ name: a.name, table: a.table, hypoName: rows[0]!.indexname, sql: a.buildSql });
    }
    const after = await explainStatement(s, plainSpec);
    await s.query(`SELECT ${OWN} hypopg_reset()`);
    return { method: 'hypo', indexes, before, after, extensionCreated: !ext[0]!.installed };
  });
}
