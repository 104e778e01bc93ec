/** Append-only CSV files (rejects, failures), opened lazily with mode 0600: they hold email addresses. */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';

export class CsvFile {
  private fd: number | undefined;
  rows = 0;
  constructor(
    readonly path: string,
    private readonly header: string[],
  ) {}

  write(values: unknown[]): void {
    if (this.fd === undefined) {
      mkdirSync(path.dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, 'w', 0o600);
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
