/**
 * `opsctl pg explain` on the command contract (src/lib/command.ts): flags →
 * typed options, run() → the report (its toJSON is what --json prints),
 * print() → text, markdown, html or JSON.
 */
import { readFile } from 'node:fs/promises';
import { defineCommand, arg, flag } from '../../lib/command.js';
import { usageError } from '../../lib/errors.js';
import type { Output } from '../../lib/output.js';
import { dryRunResult, isDryRun, printDryRun, type DryRunResult } from '../../lib/plan.js';
import { terminalWidth } from '../../lib/terminal.js';
import { defaultDeps, dryRunStatements, parseSettings, resolveDb, resolveFormat, run, withTermination, type ExplainOptions, type OutputFormat } from './explain.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import { renderText } from './render-text.js';
import { reportJson, type ExplainReport } from './report.js';

type SqlSource = { from: 'argument'; sql: string } | { from: 'file'; path: string } | { from: 'stdin' };

export interface ExplainCommandOptions {
  explain: Omit<ExplainOptions, 'sql'>;
  source: SqlSource;
  format: OutputFormat;
  dryRun: boolean;
  /** The terminal's columns (text output fits them), when stdout is one. */
  width?: number;
}

/** The report, printed as its JSON document with --json. */
export class ExplainResult {
  constructor(readonly report: ExplainReport) {}
  toJSON() {
    return reportJson(this.report);
  }
}

export type ExplainCommandResult = ExplainResult | DryRunResult;

async function readSql(source: SqlSource): Promise<string> {
  if (source.from === 'argument') return source.sql;
  if (source.from === 'file') {
    try {
      return await readFile(source.path, 'utf8');
    } catch (err) {
      throw usageError(`Cannot read ${source.path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}.`, undefined, 'pg-file');
    }
  }
  if (process.stdin.isTTY) throw usageError('No query given.', "pass it as an argument, with -f FILE, or on stdin: opsctl pg explain 'SELECT …'", 'pg-no-query');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}

export const command = defineCommand<ExplainCommandOptions, ExplainCommandResult>({
  options(args, flags, ctx) {
    const sql = arg(args, 0);
    const file = flag.string(flags, 'file');
    if (sql !== undefined && file) throw usageError('Give the query either as an argument or with -f FILE, not both.');
    const timeout = Number(ctx.setting('pg', 'timeout', flag.number(flags, 'timeout'), 60, 'number'));
    const lockTimeout = Number(ctx.setting('pg', 'lockTimeout', flag.number(flags, 'lockTimeout'), 5, 'number'));
    if (!(timeout > 0) || !(lockTimeout > 0)) throw usageError('--timeout and --lock-timeout must be positive numbers of seconds.');
    const verify = flag.string(flags, 'verify');
    return {
      explain: {
        params: flag.strings(flags, 'param'),
        connection: resolveDb({ db: flag.string(flags, 'db') }, ctx),
        timeoutMs: timeout * 1000,
        lockTimeoutMs: lockTimeout * 1000,
        allowWrites: flag.bool(flags, 'allowWrites'),
        allowVolatile: flag.bool(flags, 'allowVolatile'),
        analyze: flag.negatable(flags, 'analyze'),
        verify: verify === 'hypo' || verify === 'real' ? verify : undefined,
        settings: parseSettings(flag.strings(flags, 'set')),
      },
      source: sql !== undefined ? { from: 'argument', sql } : file && file !== '-' ? { from: 'file', path: file } : { from: 'stdin' },
      format: resolveFormat({ format: flag.string(flags, 'format') }, ctx),
      dryRun: Boolean(ctx.global.dryRun),
      width: terminalWidth(ctx.out.streams.stdout as { isTTY?: boolean; columns?: number }, ctx.env),
    };
  },
  async run(o, ctx) {
    const options: ExplainOptions = { ...o.explain, sql: await readSql(o.source) };
    if (o.dryRun) {
      const { statements, notes } = dryRunStatements(options);
      return dryRunResult(
        statements.map((st) => ({ action: 'send', target: options.connection.display, detail: `${st.replace(/\s+/g, ' ')};` })),
        [`not connected to ${options.connection.display}`, ...notes],
      );
    }
    return new ExplainResult(await withTermination(ctx.signal, (signal) => run(options, { ...defaultDeps(ctx), signal })));
  },
  print(result, out, o) {
    if (isDryRun(result)) return printDryRun(result, out);
    printReport(result.report, o.format, out, o.width);
  },
  exitCode: (result) => (result instanceof ExplainResult && (result.report.verificationError || result.report.verification?.leftBehind.length) ? 1 : 0),
});

export function printReport(report: ExplainReport, format: OutputFormat, out: Output, width?: number): void {
  if (format === 'json') out.streams.stdout.write(JSON.stringify(reportJson(report), null, 2) + '\n');
  else if (format === 'markdown') out.streams.stdout.write(renderMarkdown(report) + '\n');
  else if (format === 'html') out.streams.stdout.write(renderHtml(report));
  else out.streams.stdout.write(renderText(report, (s, t) => out.style(s, t), width) + '\n');
}
