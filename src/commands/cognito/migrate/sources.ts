/**
 * Where users come from: a PostgreSQL query (read through a server-side
 * cursor), a CSV file or a JSON Lines file. Each source yields rows in a
 * stable order, one at a time, so memory does not grow with the user count.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ExitCode, OpsError, firstLine } from '../../../lib/errors.js';

export type SourceRecord = Record<string, unknown>;

export interface SourceRow {
  /** 0-based position in the source order. */
  index: number;
  /** Line in the file (CSV/JSONL), for messages. */
  line?: number;
  record?: SourceRecord;
  /** Set when the row could not be read at all (malformed CSV/JSON). */
  error?: string;
}

export interface UserSource {
  kind: 'postgres' | 'csv' | 'jsonl';
  /** A description safe to print and store (no password). */
  label: string;
  /** Column names (PostgreSQL fields, CSV header, keys of the first JSON object). */
  columns(): Promise<string[]>;
  count(): Promise<number>;
  rows(signal?: AbortSignal): AsyncIterable<SourceRow>;
  close(): Promise<void>;
}

export interface SourceOptions {
  from: string;
  table?: string;
  query?: string;
  /** For PG* variables and DATABASE_URL conventions (src/lib/postgres.ts). */
  env?: NodeJS.ProcessEnv;
}

export async function openSource(opts: SourceOptions): Promise<UserSource> {
  const from = opts.from;
  if (/^postgres(ql)?:\/\//i.test(from)) {
    const { openPostgresSource } = await import('./source-postgres.js');
    return openPostgresSource(from, opts.table, opts.query, opts.env);
  }
  if (opts.table || opts.query) throw new OpsError('--table and --query only apply to a PostgreSQL source.', { exitCode: ExitCode.USAGE, code: 'usage', hint: 'pass --from postgres://… or drop --table/--query' });
  const lower = from.toLowerCase();
  await assertReadable(from);
  if (lower.endsWith('.csv')) return csvSource(from);
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return jsonlSource(from);
  throw new OpsError(`Cannot tell what kind of source "${redactUrl(from)}" is.`, { exitCode: ExitCode.USAGE, code: 'bad-source', hint: 'use a postgres:// URL, a .csv file or a .jsonl file' });
}

async function assertReadable(file: string): Promise<void> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new OpsError(`Source ${redactUrl(file)} is not a file.`, { exitCode: ExitCode.USAGE, code: 'bad-source', hint: 'pass --from with a .csv or .jsonl file (or a postgres:// URL)' });
    // Opened once here, so a file the user may not read fails now with one line, not mid-stream.
    await (await open(file, 'r')).close();
  } catch (err) {
    if (err instanceof OpsError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    // A mistyped URL (postgress://user:pw@…) lands here: never echo its password.
    const shown = redactUrl(file);
    throw new OpsError(code === 'ENOENT' ? `Source file ${shown} does not exist.` : `Cannot read source file ${shown}: ${firstLine(err).replace(file, shown)}`, { exitCode: ExitCode.USAGE, code: 'bad-source', hint: 'check --from' });
  }
}

function csvSource(file: string): UserSource {
  let header: string[] | undefined;
  const readHeader = async (): Promise<string[]> => {
    if (header) return header;
    for await (const row of csvRows(file)) {
      if (row.header) return (header = row.header);
    }
    throw new OpsError(`CSV file ${file} is empty (no header row).`, { exitCode: ExitCode.USAGE, code: 'bad-source' });
  };
  return {
    kind: 'csv',
    label: file,
    columns: readHeader,
    async count() {
      let n = 0;
      for await (const row of csvRows(file)) if (!row.header) n += 1;
      return n;
    },
    async *rows(signal) {
      let index = 0;
      for await (const row of csvRows(file)) {
        if (signal?.aborted) return;
        if (row.header) continue;
        yield { ...row.row, index: index++ };
      }
    },
    close: async () => {},
  };
}

async function* csvRows(file: string): AsyncGenerator<{ header?: string[]; row?: Omit<SourceRow, 'index'> }> {
  const { parse } = await import('csv-parse');
  const skipped: Array<Omit<SourceRow, 'index'>> = [];
  const parser = createReadStream(file).pipe(
    parse({
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
      skip_records_with_error: true,
      on_skip: (err) => {
        skipped.push({ line: (err as { lines?: number } | undefined)?.lines, error: `malformed CSV: ${csvProblem(err)}` });
        return undefined;
      },
    }),
  );
  let header: string[] | undefined;
  for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    while (skipped.length) yield { row: skipped.shift()! };
    const { record, info } = item;
    // csv-parse counts to the line a record ends on; a quoted field with newlines started earlier.
    const line = info.lines - record.reduce((n, f) => n + (f.match(/\n/g)?.length ?? 0), 0);
    if (!header) {
      header = record.map((h) => h.trim());
      if (header.some((h) => h === '') || new Set(header).size !== header.length) {
        throw new OpsError(`CSV file ${file} has an empty or repeated column name in its header.`, { exitCode: ExitCode.USAGE, code: 'bad-source', hint: 'the first line must name each column once' });
      }
      yield { header };
      continue;
    }
    if (record.length !== header.length) {
      yield { row: { line, error: `malformed CSV row: expected ${header.length} fields, got ${record.length}` } };
      continue;
    }
    const obj: SourceRecord = {};
    header.forEach((h, i) => (obj[h] = record[i] === '' ? null : record[i]));
    yield { row: { line, record: obj } };
  }
  while (skipped.length) yield { row: skipped.shift()! };
}

function jsonlSource(file: string): UserSource {
  const lines = async function* (): AsyncGenerator<{ line: number; text: string }> {
    const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    let line = 0;
    for await (const text of rl) {
      line += 1;
      if (text.trim() !== '') yield { line, text };
    }
  };
  return {
    kind: 'jsonl',
    label: file,
    async columns() {
      const keys = new Set<string>();
      let seen = 0;
      for await (const { text } of lines()) {
        try {
          const v = JSON.parse(text);
          if (v && typeof v === 'object' && !Array.isArray(v)) Object.keys(v).forEach((k) => keys.add(k));
        } catch { /* reported per row */ }
        if (++seen >= 100) break;
      }
      return [...keys];
    },
    async count() {
      let n = 0;
      for await (const _ of lines()) n += 1;
      return n;
    },
    async *rows(signal) {
      let index = 0;
      for await (const { line, text } of lines()) {
        if (signal?.aborted) return;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (err) {
          yield { index: index++, line, error: `malformed JSON: ${jsonProblem(err)}` };
          continue;
        }
        if (!value || typeof value !== 'object' || Array.isArray(value)) {
          yield { index: index++, line, error: 'malformed JSON: each line must be one object' };
          continue;
        }
        yield { index: index++, line, record: value as SourceRecord };
      }
    },
    close: async () => {},
  };
}

/**
 * Parser messages quote the text they choke on ("value is "$2a$11$…"", "…"password":$2a$…" is not
 * valid JSON"), which may be a password hash; rejects files and plans get the kind of problem only.
 */
const CSV_PROBLEMS: Record<string, string> = {
  INVALID_OPENING_QUOTE: 'a quote inside an unquoted field',
  CSV_INVALID_CLOSING_QUOTE: 'text after a closing quote',
  CSV_QUOTE_NOT_CLOSED: 'a quote is never closed',
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: 'wrong number of fields',
  CSV_RECORD_INCONSISTENT_COLUMNS: 'wrong number of fields',
  CSV_MAX_RECORD_SIZE: 'record too large',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'text after a closing quote',
};

function csvProblem(err: unknown): string {
  const code = (err as { code?: string } | undefined)?.code ?? '';
  return CSV_PROBLEMS[code] ?? (code ? code.replace(/^CSV_/, '').toLowerCase().replace(/_/g, ' ') : 'unreadable record');
}

function jsonProblem(err: unknown): string {
  const msg = firstLine(err);
  // Keep V8's "at position N" messages; drop the quoted excerpt of "Unexpected token 'x', "…" is not valid JSON".
  return /^Unexpected token/.test(msg) || /is not valid JSON/.test(msg) ? 'unexpected character' : msg.replace(/"[^]*"/g, '…');
}

/** Any source value as the string Cognito wants (or null when empty). */
export function valueToString(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') return v.trim() === '' ? null : v.trim();
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** A URL with its password replaced, for messages and state files. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
