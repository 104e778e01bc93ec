/** Append-only CSV files (rejects, failures), opened lazily with mode 0600: they hold email addresses. */
import { closeSync, fchmodSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
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
