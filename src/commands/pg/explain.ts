/**
 * opsctl pg explain: run EXPLAIN (ANALYZE, BUFFERS) safely, name what is wrong
 * in the plan, propose the index that fixes it and, on request, prove it.
 */
import type { Context } from '../../lib/context.js';
import { OpsError, usageError } from '../../lib/errors.js';
import { fmtInt, fmtMs } from './analysis/finding.js';
import { terminalWidth } from '../../lib/terminal.js';
import { resolveConnection, type ConnectionSpec } from '../../lib/postgres.js';
import { fetchCatalog } from './catalog.js';
import { explainStatement, explainText, verifyHypo, verifyReal, type ExplainSpec } from './explain-runner.js';
import { beginStatements, PgSession } from './session.js';
import type { Catalog } from './analysis/catalog.js';
import type { IndexAdvice } from './analysis/advice.js';
import { analyzePlan } from './analysis/findings.js';
import { parsePlan, type Plan } from './analysis/plan.js';
import { reportJson, summarize, type ExplainMode, type ExplainReport, type Verification } from './report.js';
import { renderMarkdown } from './render-markdown.js';
import { renderText } from './render-text.js';
import { renderHtml } from './render-html.js';
import { inspectStatement } from './sql-text.js';
import { classifyStatement, riskyCalls, type RiskyCall } from './safety.js';
import { verifyRewrites, verifySettings } from './rewrite.js';
import { verifyStatistics } from './verify-stats.js';
import { refineStatistics } from './correlation.js';

export type OutputFormat = 'text' | 'markdown' | 'json' | 'html';

export interface ExplainOptions {
  sql: string;
  params: string[];
  connection: ConnectionSpec;
  timeoutMs: number;
  lockTimeoutMs: number;
  allowWrites: boolean;
  /** Execute even when the statement calls a volatile or server-acting function. */
  allowVolatile?: boolean;
  analyze: boolean;
  verify?: 'hypo' | 'real';
  /** SET LOCAL for the explained statement (and its verification), e.g. { work_mem: '256MB' }. */
  settings?: Record<string, string>;
}

export interface ExplainDeps {
  connect: (spec: ConnectionSpec, signal?: AbortSignal) => Promise<PgSession>;
  signal?: AbortSignal;
  warn: (message: string) => void;
  info: (message: string) => void;
}

export const defaultDeps = (ctx: Context): ExplainDeps => ({
  connect: (spec, signal) => PgSession.connect(spec, signal),
  signal: ctx.signal,
  warn: (m) => ctx.out.warn(m),
  info: (m) => ctx.out.info(m),
});

export function relationsOf(plan: Plan): Array<{ schema?: string; name: string }> {
  return plan.nodes.filter((n) => n.relation).map((n) => ({ schema: n.schema, name: n.relation! }));
}

/** A pasted `EXPLAIN ANALYZE SELECT …` (comments before it allowed): opsctl adds its own EXPLAIN options. */
const EXPLAIN_PREFIX = /^(?:\s*(?:--[^\r\n]*|\/\*[\s\S]*?\*\/))*\s*EXPLAIN(?:\s*\([^)]*\)|\s+(?:ANALYZE|ANALYSE|VERBOSE))*\s+/i;

/** What will be explained, and how, decided before connecting. */
export function planExplain(o: ExplainOptions): { spec: ExplainSpec; notes: string[] } {
  const prefixed = EXPLAIN_PREFIX.test(o.sql);
  const info = inspectStatement(o.sql.replace(EXPLAIN_PREFIX, ''));
  const statement = classifyStatement(info.words);
  if (o.params.length && o.params.length !== info.paramCount) {
    throw usageError(`The query uses ${info.paramCount} parameter(s) ($1…) but ${o.params.length} --param value(s) were given.`, 'pass one --param per $n, in order, or none to explain the generic plan', 'pg-param-count');
  }
  const notes: string[] = prefixed ? ['the leading EXPLAIN was dropped: opsctl runs its own EXPLAIN (ANALYZE, BUFFERS, VERBOSE, SETTINGS)'] : [];
  let mode: ExplainMode = 'analyze';
  if (info.paramCount > 0 && o.params.length === 0) {
    mode = 'generic';
    notes.push(`the query has ${info.paramCount} parameter(s) and no --param values: this is the generic plan (estimates only); pass --param to execute it with real values`);
  } else if (!o.analyze) mode = 'plan';
  else if (statement.createsTable && !o.allowWrites) {
    mode = 'plan';
    notes.push('CREATE TABLE … AS / SELECT … INTO creates a table when executed, so it was planned, not executed; --allow-writes executes it inside a transaction that is rolled back');
  } else if (info.writes && !o.allowWrites) {
    mode = 'plan';
    notes.push('the statement writes, so it was not executed (plan only); --allow-writes executes it inside a transaction that is rolled back');
  }
  return { spec: { sql: info.text, kind: mode, params: o.params, paramCount: info.paramCount }, notes };
}

/** --dry-run: the statements opsctl would send, without connecting. */
export function dryRunStatements(o: ExplainOptions): { statements: string[]; notes: string[] } {
  const { spec, notes } = planExplain(o);
  const settings = Object.entries(o.settings ?? {}).map(([k, v]) => `SELECT set_config('${k}', '${v.replace(/'/g, "''")}', true)`);
  const statements = [...beginStatements({ readOnly: !o.allowWrites, timeoutMs: o.timeoutMs }), ...settings, explainText(spec, 180000), 'ROLLBACK'];
  if (spec.kind === 'generic') notes.push('before PostgreSQL 16 the generic plan comes from PREPARE + plan_cache_mode = force_generic_plan + EXPLAIN EXECUTE');
  if (spec.kind === 'analyze' && !o.allowVolatile) notes.push('before executing, opsctl plans the statement (EXPLAIN VERBOSE without ANALYZE) and executes it only if it calls no volatile function outside a short harmless list (--allow-volatile overrides)');
  if (o.verify === 'real') notes.push(`--verify real would then build the proposed index (it depends on the plan) with CREATE INDEX in a second transaction, READ WRITE with lock_timeout = ${o.lockTimeoutMs} ms, re-run the EXPLAIN and roll back`);
  if (o.verify === 'hypo') notes.push('--verify hypo would then create the proposed index hypothetically (HypoPG) in a second rolled-back transaction and re-run the EXPLAIN without ANALYZE');
  return { statements, notes };
}

export async function run(o: ExplainOptions, deps: ExplainDeps): Promise<ExplainReport> {
  const planned = planExplain(o);
  const notes = planned.notes;
  let spec = planned.spec;
  const session = await deps.connect(o.connection, deps.signal);
  try {
    let refused: RiskyCall[] | undefined;
    if (spec.kind === 'analyze' && !o.allowVolatile) {
      const plainSpec: ExplainSpec = { ...spec, kind: 'plan' };
      refused = await session.rolledBack({ readOnly: !o.allowWrites, timeoutMs: o.timeoutMs, settings: o.settings }, async () => riskyCalls(session, await explainStatement(session, plainSpec)));
      if (refused.length) {
        spec = plainSpec;
        notes.push(
          `not executed, plan only: it calls ${refused.map((r) => `${r.name}() (${r.reason})`).join(', ')}; a rollback does not undo that. --allow-volatile executes it anyway`,
        );
      }
    }
    const { report, plan, catalog } = await diagnose(session, spec, { timeoutMs: o.timeoutMs, allowWrites: o.allowWrites, connection: o.connection.display, notes, settings: o.settings });
    if (refused?.length) report.refused = refused;
    if (o.verify === 'real' && spec.kind === 'analyze') {
      try {
        if (report.findings.some((f) => f.rewrite)) report.rewrites = await verifyRewrites(session, spec, report.findings, { timeoutMs: o.timeoutMs, settings: o.settings });
        const settings = await verifySettings(session, spec, report.findings, { timeoutMs: o.timeoutMs, settings: o.settings });
        if (settings.length) report.settingsVerified = settings;
        const stats = await verifyStatistics(session, spec, report.findings, { timeoutMs: o.timeoutMs, settings: o.settings, before: plan });
        if (stats.length) report.statistics = stats;
      } catch (err) {
        if (deps.signal?.aborted) throw err;
        report.verificationError = { message: (err as Error).message, hint: (err as OpsError).hint, code: (err as OpsError).code ?? 'pg-verify-failed' };
      }
    }
    if (o.verify) {
      let todo = report.advice.filter((a) => !a.existing);
      if (o.verify === 'hypo' && todo.some((a) => a.foreignKey)) {
        todo = todo.filter((a) => !a.foreignKey);
        notes.push('--verify hypo cannot show foreign-key checks (they run only when the statement executes): use --verify real with --allow-writes for those indexes');
      }
      if (todo.length === 0) notes.push(`--verify ${o.verify}: there is no new index to verify`);
      else {
        try {
          report.verification = await verify(session, spec, plan, catalog, todo, o, deps);
        } catch (err) {
          // The diagnosis stands on its own: keep it, and say why the proof is missing.
          if (deps.signal?.aborted) throw err;
          const e = err instanceof OpsError ? err : new OpsError(String((err as Error)?.message ?? err), { code: 'pg-verify-failed' });
          report.verificationError = { message: e.message, hint: e.hint, code: e.code };
        }
      }
    }
    return report;
  } finally {
    await session.close();
  }
}

/** EXPLAIN in a rolled-back transaction, read the catalog, analyze. */
export async function diagnose(
  session: PgSession,
  spec: ExplainSpec,
  o: { timeoutMs: number; allowWrites: boolean; connection: string; notes?: string[]; settings?: Record<string, string> },
): Promise<{ report: ExplainReport; plan: Plan; catalog: Catalog }> {
  let plan!: Plan;
  let catalog!: Catalog;
  await session.rolledBack({ readOnly: !o.allowWrites, timeoutMs: o.timeoutMs, settings: o.settings }, async () => {
    plan = parsePlan(await explainStatement(session, spec));
    const fkTriggers = (plan.raw.Triggers ?? []).map((t) => t['Constraint Name']).filter((n): n is string => typeof n === 'string');
    catalog = await fetchCatalog(session, relationsOf(plan), fkTriggers);
  });
  const analysis = analyzePlan(plan, catalog, { sql: spec.sql });
  if (analysis.findings.some((f) => f.kind === 'row-misestimate' && f.fix.sql[0]?.startsWith('CREATE STATISTICS'))) {
    await session.rolledBack({ readOnly: true, timeoutMs: o.timeoutMs }, () => refineStatistics(session, analysis.findings));
  }
  const report: ExplainReport = {
    query: spec.sql,
    params: spec.params,
    mode: spec.kind,
    server: { version: session.version.split(' ')[0]!, connection: o.connection },
    plan,
    findings: analysis.findings,
    advice: analysis.advice,
    notes: o.notes ?? [],
  };
  return { report, plan, catalog };
}

/**
 * What --verify real blocks, and for how long: CREATE INDEX holds a SHARE lock
 * from the build to the rollback, so writers of the table wait for the build
 * plus one more run of the query; readers do not wait.
 */
export function lockWarning(todo: IndexAdvice[], catalog: Catalog, before: Plan, o: Pick<ExplainOptions, 'lockTimeoutMs' | 'timeoutMs'>): string {
  const tables = [...new Set(todo.map((a) => a.table))];
  const sizes = tables.map((t) => {
    const info = catalog.tables.find((x) => x.name === t);
    const rows = info?.rows;
    return `${t}${rows !== undefined && rows >= 0 ? ` (~${fmtInt(rows)} rows)` : ''}`;
  });
  const run = before.executionMs !== undefined ? `${fmtMs(before.executionMs)}, as measured just now` : 'not measured: plan only';
  return (
    `--verify real builds ${todo.map((a) => a.name).join(', ')} with CREATE INDEX inside a transaction that is rolled back. ` +
    `From the start of the build until the rollback, INSERT/UPDATE/DELETE on ${sizes.join(', ')} wait (reads do not): the build, plus one more run of the query (${run}); at most --timeout ${o.timeoutMs / 1000} s in all. ` +
    `If another transaction holds a conflicting lock, opsctl gives up after lock_timeout ${o.lockTimeoutMs / 1000} s rather than queue. If opsctl dies, the server notices within about a second and rolls back.`
  );
}

async function verify(session: PgSession, spec: ExplainSpec, before: Plan, catalog: Catalog, todo: IndexAdvice[], o: ExplainOptions, deps: ExplainDeps): Promise<Verification> {
  // What is still wrong with the index in place (the catalog now has it too).
  const withIndexes: Catalog = {
    ...catalog,
    tables: catalog.tables.map((t) => ({
      ...t,
      indexes: [
        ...t.indexes,
        ...todo
          .filter((a) => a.table === t.name && (!a.schema || a.schema === t.schema))
          .map((a) => ({ name: a.name, schema: t.schema, table: t.name, keys: a.keys.map((k) => ({ expr: k.column, desc: k.direction === 'DESC' })), include: a.include, unique: false, valid: true, method: 'btree', predicate: a.where, definition: a.buildSql })),
      ],
    })),
  };
  const remainingKinds = (p: Plan) => analyzePlan(p, withIndexes, { sql: spec.sql }).findings.filter((f) => f.severity !== 'low').map((f) => f.kind);
  if (o.verify === 'real') {
    deps.warn(lockWarning(todo, catalog, before, o));
    const v = await verifyReal(session, spec, todo, { timeoutMs: o.timeoutMs, lockTimeoutMs: o.lockTimeoutMs, allowWrites: o.allowWrites, settings: o.settings });
    const after = parsePlan(v.after);
    const b = summarize(before);
    const a = summarize(after);
    // A foreign key's index is used inside the trigger's own query, which the plan does not show: judge it by the trigger time.
    const triggerMs = (p: Plan, fk: string) => (p.raw.Triggers ?? []).filter((t) => t['Constraint Name'] === fk).reduce((sum, t) => sum + Number(t['Time'] ?? 0), 0);
    const used = (name: string) => {
      const fk = todo.find((x) => x.name === name)?.foreignKey;
      const children = v.indexes.find((i) => i.name === name)?.children ?? [];
      return fk ? triggerMs(after, fk) < 0.5 * triggerMs(before, fk) : after.nodes.some((n) => n.index === name || (n.index !== undefined && children.includes(n.index)));
    };
    return {
      method: 'real',
      indexes: v.indexes.map((i) => ({ name: i.name, table: i.table, sql: i.sql, buildMs: Math.round(i.buildMs * 1000) / 1000, used: used(i.name) })),
      before: b,
      after: a,
      speedup: b.executionMs !== undefined && a.executionMs ? Math.round((b.executionMs / a.executionMs) * 10) / 10 : undefined,
      costRatio: a.totalCost > 0 ? Math.round((b.totalCost / a.totalCost) * 100) / 100 : undefined,
      remaining: remainingKinds(after),
      leftBehind: v.leftBehind,
      afterPlan: after,
    };
  }
  const v = await verifyHypo(session, spec, todo, { timeoutMs: o.timeoutMs, settings: o.settings });
  const hypoBefore = parsePlan(v.before);
  const after = parsePlan(v.after);
  const b = summarize(hypoBefore);
  const a = summarize(after);
  return {
    method: 'hypo',
    indexes: v.indexes.map((i) => ({ name: i.name, table: i.table, sql: i.sql, used: after.nodes.some((n) => n.index === i.hypoName) })),
    before: b,
    after: a,
    costRatio: a.totalCost > 0 ? Math.round((b.totalCost / a.totalCost) * 100) / 100 : undefined,
    remaining: remainingKinds(after),
    leftBehind: [],
    afterPlan: after,
  };
}

export function resolveDb(opts: { db?: string }, ctx: Context): ConnectionSpec {
  const db = ctx.setting<string>('pg', 'db', opts.db);
  const spec = resolveConnection(db, ctx.env, opts.db ? '--db' : db !== undefined ? 'the pg.db setting' : '--db');
  for (const w of spec.warnings) ctx.out.warn(w);
  return spec;
}

export function resolveFormat(opts: { format?: string }, ctx: Context): OutputFormat {
  if (ctx.global.json) return 'json';
  const format = ctx.setting<string>('pg', 'format', opts.format, 'text');
  if (format !== 'text' && format !== 'markdown' && format !== 'json' && format !== 'html') throw usageError(`pg.format must be text, markdown, json or html, got "${format}".`, undefined, 'config-malformed');
  return format;
}

/** Settings that keep the explained statement safe: they have their own flags, and --set must not undo them. */
const GUARDED_SETTINGS: Record<string, string> = {
  statement_timeout: '--timeout',
  lock_timeout: '--lock-timeout',
  idle_in_transaction_session_timeout: '--timeout',
  transaction_read_only: '--allow-writes',
  default_transaction_read_only: '--allow-writes',
};

export function parseSettings(list: string[] | undefined): Record<string, string> | undefined {
  if (!list?.length) return undefined;
  const out: Record<string, string> = {};
  for (const item of list) {
    const m = /^([A-Za-z_][A-Za-z0-9_.]*)=(.*)$/.exec(item);
    if (!m) throw usageError(`--set takes NAME=VALUE, got "${item}".`, "e.g. --set work_mem=256MB --set enable_seqscan=off", 'pg-bad-setting');
    const flag = GUARDED_SETTINGS[m[1]!.toLowerCase()];
    if (flag) throw usageError(`--set cannot change ${m[1]}: opsctl sets it to keep the explained statement safe.`, `use ${flag} instead`, 'pg-bad-setting');
    out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * SIGTERM handled like Ctrl-C: the running statement is cancelled on the
 * server and the transaction rolled back before exiting, instead of the
 * default of dying with the query still running.
 */
export async function withTermination<T>(parent: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onParent = () => controller.abort(parent.reason);
  if (parent.aborted) onParent();
  parent.addEventListener('abort', onParent, { once: true });
  const onTerm = () => controller.abort(new OpsError('Terminated.', { exitCode: 130, code: 'interrupted' }));
  process.on('SIGTERM', onTerm);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGTERM', onTerm);
    parent.removeEventListener('abort', onParent);
  }
}
