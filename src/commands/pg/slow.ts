/**
 * opsctl pg slow: the queries that cost the most (by total and by mean time)
 * from pg_stat_statements, each explained as a generic plan — never executed
 * again — and diagnosed like `pg explain`.
 */
import type { Context } from '../../lib/context.js';
import { OpsError, firstLine, usageError } from '../../lib/errors.js';
import type { ConnectionSpec } from '../../lib/postgres.js';
import type { ExplainSpec } from './explain-runner.js';
import { OWN } from './session.js';
import { table } from '../../lib/output.js';
import { fmtInt, fmtMs } from './analysis/findings.js';
import { defaultDeps, diagnose, resolveDb, resolveFormat, withTermination, type ExplainDeps } from './explain.js';
import { defineCommand, flag } from '../../lib/command.js';
import { dryRunResult, isDryRun, printDryRun, type DryRunResult } from '../../lib/plan.js';
import { reportJson, type ExplainReport } from './report.js';
import { formatEvidence, type Styler } from './render-text.js';
import { inspectStatement } from './sql-text.js';

export interface SlowOptions {
  connection: ConnectionSpec;
  top: number;
  timeoutMs: number;
}

export interface SlowQuery {
  queryid: string;
  query: string;
  calls: number;
  totalMs: number;
  meanMs: number;
  rows: number;
  sharedReadBlocks: number;
  /** Share of all statement time recorded for this database. */
  shareOfTotal: number;
  rankByTotal?: number;
  rankByMean?: number;
  report?: ExplainReport;
  skipped?: string;
}

export interface SlowResult {
  statsSince?: string;
  queries: SlowQuery[];
}

const EXPLAINABLE = new Set(['SELECT', 'WITH', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'VALUES', 'TABLE']);

const HOW_TO_ENABLE =
  "add it to shared_preload_libraries (ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; keep any libraries already listed), restart PostgreSQL, then run CREATE EXTENSION pg_stat_statements; in this database";

export async function run(o: SlowOptions, deps: Pick<ExplainDeps, 'connect' | 'signal'>): Promise<SlowResult> {
  const session = await deps.connect(o.connection, deps.signal);
  try {
    const { rows: ext } = await session.query<{ installed: boolean; preloaded: boolean }>(
      `SELECT ${OWN} EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS installed,
              current_setting('shared_preload_libraries') ~ 'pg_stat_statements' AS preloaded`,
    );
    if (!ext[0]!.installed) {
      throw new OpsError(`pg_stat_statements is not enabled in database "${o.connection.database}".`, {
        hint: ext[0]!.preloaded ? 'it is loaded: run CREATE EXTENSION pg_stat_statements; in this database (as a superuser or the database owner)' : HOW_TO_ENABLE,
        code: 'pg-stat-statements-missing',
      });
    }
    const v13 = session.versionNum >= 130000;
    const total = v13 ? 'total_exec_time' : 'total_time';
    const mean = v13 ? 'mean_exec_time' : 'mean_time';
    let rows: Array<Omit<SlowQuery, 'shareOfTotal'> & { all_ms: number }>;
    try {
      ({ rows } = await session.query(
        `WITH s AS (
           SELECT queryid::text AS queryid, query, calls::float8 AS calls, ${total}::float8 AS "totalMs", ${mean}::float8 AS "meanMs",
                  rows::float8 AS rows, shared_blks_read::float8 AS "sharedReadBlocks"
             FROM pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              -- Statements with a plan only (utility statements like VACUUM have none), leading comments allowed.
              AND regexp_replace(query, '^\\s*(/\\*.*?\\*/\\s*|--[^\\n]*\\n\\s*)*', '') ~* '^(SELECT|WITH|INSERT|UPDATE|DELETE|MERGE|VALUES|TABLE|\\()'
              AND query !~* 'pg_stat_statements'
              AND strpos(query, '${OWN}') = 0),
         ranked AS (
           SELECT s.*, rank() OVER (ORDER BY "totalMs" DESC) AS "rankByTotal", rank() OVER (ORDER BY "meanMs" DESC) AS "rankByMean",
                  sum("totalMs") OVER () AS all_ms
             FROM s)
         SELECT * FROM ranked WHERE "rankByTotal" <= $1 OR "rankByMean" <= $1 ORDER BY "rankByTotal"`,
        [o.top],
      ));
    } catch (err) {
      if (/must be loaded via shared_preload_libraries/i.test(firstLine(err)) || /must be loaded via/i.test(String((err as Error).message))) {
        throw new OpsError('pg_stat_statements is installed but not loaded by the server.', { hint: HOW_TO_ENABLE, code: 'pg-stat-statements-not-loaded' });
      }
      throw err;
    }
    let statsSince: string | undefined;
    if (session.versionNum >= 140000) {
      const { rows: info } = await session.query<{ since: string }>('SELECT stats_reset::text AS since FROM pg_stat_statements_info');
      statsSince = info[0]?.since;
    }
    const queries: SlowQuery[] = [];
    for (const r of rows) {
      const q: SlowQuery = {
        queryid: r.queryid,
        query: r.query,
        calls: r.calls,
        totalMs: r.totalMs,
        meanMs: r.meanMs,
        rows: r.rows,
        sharedReadBlocks: r.sharedReadBlocks,
        shareOfTotal: r.all_ms > 0 ? r.totalMs / r.all_ms : 0,
        rankByTotal: Number(r.rankByTotal) <= o.top ? Number(r.rankByTotal) : undefined,
        rankByMean: Number(r.rankByMean) <= o.top ? Number(r.rankByMean) : undefined,
      };
      try {
        const info = inspectStatement(r.query);
        if (!EXPLAINABLE.has(info.command)) q.skipped = `${info.command} statements have no plan`;
        else {
          const spec: ExplainSpec = { sql: info.text, kind: info.paramCount > 0 ? 'generic' : 'plan', params: [], paramCount: info.paramCount };
          ({ report: q.report } = await diagnose(session, spec, { timeoutMs: o.timeoutMs, allowWrites: false, connection: o.connection.display }));
        }
      } catch (err) {
        if (deps.signal?.aborted) throw err;
        q.skipped = `could not explain it: ${firstLine(err)}`;
      }
      queries.push(q);
    }
    return { statsSince, queries };
  } finally {
    await session.close();
  }
}

export function renderSlow(result: SlowResult, top: number, s: Styler): string {
  const out: string[] = [];
  if (result.queries.length === 0) return 'pg_stat_statements has no statements recorded for this database yet.';
  out.push(s('bold', `Top ${top} queries by total and by mean time${result.statsSince ? ` (statistics since ${result.statsSince})` : ''}`));
  const short = (q: string) => q.replace(/\s+/g, ' ').slice(0, 80) + (q.length > 80 ? '…' : '');
  out.push(
    table(
      ['#', 'total', 'share', 'mean', 'calls', 'rows', 'findings', 'query'],
      result.queries.map((q, i) => [i + 1, fmtMs(q.totalMs), `${(q.shareOfTotal * 100).toFixed(1)}%`, fmtMs(q.meanMs), fmtInt(q.calls), fmtInt(q.rows), q.report ? q.report.findings.length : '-', short(q.query)]),
    ),
  );
  result.queries.forEach((q, i) => {
    out.push('', s('bold', `#${i + 1}`) + `  ${q.rankByTotal ? `${q.rankByTotal}. by total` : ''}${q.rankByTotal && q.rankByMean ? ', ' : ''}${q.rankByMean ? `${q.rankByMean}. by mean` : ''}  · ${fmtInt(q.calls)} call${q.calls === 1 ? '' : 's'} · mean ${fmtMs(q.meanMs)}`);
    out.push(`    ${q.query.replace(/\s+/g, ' ')}`);
    if (q.skipped) return void out.push(s('dim', `    skipped: ${q.skipped}`));
    const r = q.report!;
    if (r.findings.length === 0) out.push(s('green', `    no problems found in the ${r.mode === 'generic' ? 'generic ' : ''}plan`));
    for (const f of r.findings) {
      out.push(`    ${f.severity === 'high' ? s('red', 'HIGH') : f.severity === 'medium' ? s('yellow', 'MEDIUM') : 'LOW'} ${s('bold', f.kind)}: ${f.title}`);
      out.push(s('dim', `      evidence: ${formatEvidence(f.evidence)}`));
      for (const sql of f.fix.sql) out.push(`      ${s('cyan', sql)}`);
    }
  });
  out.push('', s('dim', 'Plans are generic (no parameter values) and estimated, not executed. To measure one: opsctl pg explain "<query>" --param … --verify real'));
  return out.join('\n');
}

export interface SlowCommandOptions {
  connection: ConnectionSpec;
  top: number;
  timeoutMs: number;
  format: 'text' | 'json';
  dryRun: boolean;
}

/** The result, printed as its JSON document with --json (diagnoses without their raw plans). */
export class SlowCommandResult {
  constructor(readonly result: SlowResult) {}
  toJSON() {
    return {
      statsSince: this.result.statsSince ?? null,
      queries: this.result.queries.map(({ report, ...q }) => ({ ...q, diagnosis: report ? (({ plan, nodes, ...rest }) => rest)(reportJson(report)) : null })),
    };
  }
}

export const command = defineCommand<SlowCommandOptions, SlowCommandResult | DryRunResult>({
  options(_args, flags, ctx) {
    const top = Number(ctx.setting('pg', 'top', flag.number(flags, 'top'), 10, 'number'));
    const timeout = Number(ctx.setting('pg', 'timeout', flag.number(flags, 'timeout'), 60, 'number'));
    if (!Number.isInteger(top) || top < 1) throw usageError(`--top must be a whole number of at least 1, got ${top}.`, undefined, 'usage');
    if (!(timeout > 0)) throw usageError(`--timeout must be a positive number of seconds, got ${timeout}.`, undefined, 'usage');
    const format = resolveFormat({ format: flag.string(flags, 'format') }, ctx);
    return { connection: resolveDb({ db: flag.string(flags, 'db') }, ctx), top, timeoutMs: timeout * 1000, format: format === 'json' ? 'json' : 'text', dryRun: Boolean(ctx.global.dryRun) };
  },
  async run(o, ctx) {
    if (o.dryRun) {
      return dryRunResult(
        [{ action: 'read', target: `the top ${o.top} statements by total and by mean time from pg_stat_statements`, detail: `on ${o.connection.display}; each one's generic plan is EXPLAINed (never executed) in a READ ONLY transaction that is rolled back` }],
        [`not connected to ${o.connection.display}`],
      );
    }
    return new SlowCommandResult(await withTermination(ctx.signal, (signal) => run({ connection: o.connection, top: o.top, timeoutMs: o.timeoutMs }, { ...defaultDeps(ctx), signal })));
  },
  print(result, out, o) {
    if (isDryRun(result)) return printDryRun(result, out);
    if (o.format === 'json') out.streams.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else out.streams.stdout.write(renderSlow(result.result, o.top, (st, t) => out.style(st, t)) + '\n');
  },
});
