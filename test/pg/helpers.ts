import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { memoryStreams } from '../support/cli.js';

// A HOME that does not exist: no user config file can leak in, and nothing to clean up.
const home = path.join(os.tmpdir(), `opsctl-pg-no-home-${process.pid}`);

export const cleanEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ HOME: home, PATH: process.env.PATH, NO_COLOR: '1', ...extra });

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (with --json). */
  doc: any;
}

/** Run `opsctl …` in-process, as the binary would, and capture its output. */
export async function opsctl(argv: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<CliRun> {
  const m = memoryStreams();
  const code = await runCli(argv, { streams: m.streams, stdin: process.stdin, env });
  let doc: any;
  try {
    doc = JSON.parse(m.stdout);
  } catch {
    doc = undefined;
  }
  return { code, stdout: m.stdout, stderr: m.stderr, doc };
}

/** `opsctl --json pg explain SQL --db URL …` */
export const explainJson = (url: string, sql: string, ...extra: string[]) => opsctl(['--json', 'pg', 'explain', sql, '--db', url, ...extra]);

export const kinds = (doc: any): string[] => (doc?.findings ?? []).map((f: any) => f.kind);
export const adviceColumns = (doc: any, table?: string): string[][] =>
  (doc?.advice ?? []).filter((a: any) => !table || a.table.endsWith(table)).map((a: any) => a.columns.map((c: any) => c.column));
