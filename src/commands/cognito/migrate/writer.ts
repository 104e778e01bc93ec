/** Append-only CSV files (rejects, failures), opened lazily with mode 0600: they hold email addresses. */
import { closeSync, fchmodSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { FingerprintSet } from './hashset.js';
import { OpsError, firstLine } from '../../../lib/errors.js';
import type { SourceRow } from './sources.js';
import { SECRET_COLUMN } from './mapping.js';

export class CsvFile {
  private fd: number | undefined;
  rows = 0;
  constructor(
    readonly path: string,
    private readonly header: string[],
  ) {}

  write(values: unknown[]): void {
    if (this.fd === undefined) {
      try {
        mkdirSync(path.dirname(this.path), { recursive: true });
        this.fd = openSync(this.path, 'w', 0o600);
        // The mode above only applies to a new file; one left by an earlier run keeps its own.
        fchmodSync(this.fd, 0o600);
      } catch (err) {
        throw new OpsError(`Cannot write ${this.path}: ${firstLine(err)}`, { code: 'file-unwritable', hint: 'pass --rejects / --report with a path in a writable directory', cause: err });
      }
      writeSync(this.fd, stringify([this.header]));
    }
    writeSync(this.fd, stringify([values.map((v) => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v)))]));
    this.rows += 1;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The rejects file: each bad row with its reason and every column except those that look secret. */
export class RejectsFile extends CsvFile {
  private readonly columns: string[];
  constructor(file: string, sourceColumns: string[]) {
    const columns = sourceColumns.filter((c) => !SECRET_COLUMN.test(c));
    super(file, ['row', 'line', 'reason', ...columns]);
    this.columns = columns;
  }

  add(row: SourceRow, reason: string): void {
    this.write([row.index + 1, row.line ?? '', reason, ...this.columns.map((c) => row.record?.[c])]);
  }
}

/**
 * The identity links file, `legacy_id,username,sub`: one row per user in the
 * pool, appended as each is created, so the app can join its rows to Cognito
 * identities. Re-runs read it first and never write a user twice; a line cut
 * short by kill -9 is dropped and written again.
 */
export class LinksFile {
  private fd: number | undefined;
  private readonly seen = new FingerprintSet();
  rows = 0;
  constructor(readonly path: string) {}

  open(): void {
    if (this.fd !== undefined) return;
    try {
      mkdirSync(path.dirname(this.path), { recursive: true });
      let text = '';
      try {
        text = readFileSync(this.path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
      if (complete.length !== text.length) truncateSync(this.path, Buffer.byteLength(complete));
      const lines = complete.split('\n').filter(Boolean);
      if (lines.length && lines[0] !== LINKS_HEADER) throw new OpsError(`${this.path} is not an opsctl links file (its first line is not "${LINKS_HEADER}").`, { code: 'file-unwritable', hint: 'pass --links with another path' });
      for (const row of parseCsv(lines.slice(1).join('\n'), { relax_column_count: true }) as string[][]) {
        if (row[1]) {
          this.seen.add(row[1]);
          this.rows += 1;
        }
      }
      this.fd = openSync(this.path, 'a', 0o600);
      fchmodSync(this.fd, 0o600);
      if (!lines.length) writeSync(this.fd, LINKS_HEADER + '\n');
    } catch (err) {
      if (err instanceof OpsError) throw err;
      throw new OpsError(`Cannot write the links file ${this.path}: ${firstLine(err)}`, { code: 'file-unwritable', hint: 'pass --links with a path in a writable directory', cause: err });
    }
  }

  has(username: string): boolean {
    return this.seen.has(username);
  }

  /** One write(2) per line: a kill can lose the line, never leave half of it mid-file. */
  /** `replaced`: the user was created again (--repair), so its new sub follows the old row; readers keep the last. */
  add(legacyId: string | undefined, username: string, sub: string | undefined, replaced = false): void {
    if (!sub) return;
    this.open();
    if (!this.seen.add(username) && !replaced) return;
    writeSync(this.fd!, stringify([[legacyId ?? '', username, sub]]));
    this.rows += 1;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export const LINKS_HEADER = 'legacy_id,username,sub';

/** Read a links file back: legacy_id → sub (for --write-back). */
export function* readLinks(file: string): Generator<{ legacyId: string; username: string; sub: string }> {
  const text = readFileSync(file, 'utf8');
  const rows = parseCsv(text, { relax_column_count: true, from_line: 2 }) as string[][];
  for (const [legacyId = '', username = '', sub = ''] of rows) if (sub) yield { legacyId, username, sub };
}
