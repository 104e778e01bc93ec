/**
 * One PostgreSQL connection for a diagnosis: every query is cancellable (Ctrl-C
 * sends a cancel for the running statement) and every piece of work runs in a
 * transaction that is always rolled back.
 */
import type pgTypes from 'pg';
import { interrupted } from '../../lib/errors.js';
import { connectPg, translatePgError, type ConnectionSpec } from '../../lib/postgres.js';

/** Marks opsctl's own queries (inside the statement: PostgreSQL 18 drops leading comments from pg_stat_statements), so `pg slow` never lists them as the database's slow queries. */
export const OWN = '/* opsctl */';

export interface TransactionOptions {
  readOnly: boolean;
  timeoutMs: number;
  lockTimeoutMs?: number;
  /** Session settings for this transaction only (SET LOCAL), e.g. work_mem. */
  settings?: Record<string, string>;
  /** PostgreSQL 14+: how often the server checks that opsctl is still there while a statement runs. */
  checkConnectionMs?: number;
}

/** How every transaction opens: read-only unless allowed, with its timeouts (user settings follow, via set_config). */
export function beginStatements(opts: TransactionOptions): string[] {
  const ms = (v: number) => Math.max(1, Math.round(v));
  return [
    opts.readOnly ? 'BEGIN TRANSACTION READ ONLY' : 'BEGIN TRANSACTION READ WRITE',
    `SET LOCAL statement_timeout = ${ms(opts.timeoutMs)}`,
    `SET LOCAL lock_timeout = ${ms(opts.lockTimeoutMs ?? opts.timeoutMs)}`,
    `SET LOCAL idle_in_transaction_session_timeout = ${Math.max(60_000, ms(opts.timeoutMs * 2))}`,
    // Without it a killed opsctl leaves the statement (and --verify real's SHARE lock) running to its end.
    ...(opts.checkConnectionMs ? [`SET LOCAL client_connection_check_interval = ${ms(opts.checkConnectionMs)}`] : []),
  ];
}

export class PgSession {
  private constructor(
    readonly client: pgTypes.Client,
    readonly spec: ConnectionSpec,
    readonly versionNum: number,
    readonly version: string,
    readonly pid: number,
    private readonly signal?: AbortSignal,
  ) {}

  static async connect(spec: ConnectionSpec, signal?: AbortSignal): Promise<PgSession> {
    if (signal?.aborted) throw interrupted();
    let client: pgTypes.Client | undefined;
    let cancelled = false;
    const abort = () => {
      cancelled = true;
      void client?.end().catch(() => {});
    };
    signal?.addEventListener('abort', abort, { once: true });
    try {
      client = await connectPg(spec);
      if (cancelled) throw interrupted();
      const { rows } = await client.query<{ num: number; v: string; pid: number }>(
        `SELECT ${OWN} current_setting('server_version_num')::int AS num, current_setting('server_version') AS v, pg_backend_pid() AS pid`,
      );
      return new PgSession(client, spec, rows[0]!.num, rows[0]!.v, rows[0]!.pid, signal);
    } catch (err) {
      await client?.end().catch(() => {});
      if (signal?.aborted) throw interrupted();
      throw translatePgError(err, spec);
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /** Run a statement; on Ctrl-C the server cancels it and this throws "Interrupted". */
  async query<T extends pgTypes.QueryResultRow = any>(text: string, values?: unknown[], opts: { sqlForErrors?: string; positionOffset?: number; extended?: boolean } = {}): Promise<pgTypes.QueryResult<T>> {
    if (this.signal?.aborted) throw interrupted();
    const onAbort = () => void this.cancelRunning();
    this.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // The extended protocol refuses a second statement in the text.
      return await this.client.query<T>({ text, values, ...(opts.extended ? { queryMode: 'extended' as const } : {}) } as pgTypes.QueryConfig);
    } catch (err) {
      if (this.signal?.aborted) throw interrupted();
      throw translatePgError(err, this.spec, opts.sqlForErrors, opts.positionOffset);
    } finally {
      this.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Cancel the statement this session is running, from a second connection. */
  async cancelRunning(): Promise<void> {
    let c: pgTypes.Client | undefined;
    try {
      c = await connectPg(this.spec, { connectionTimeoutMillis: 5000 });
      await c.query(`SELECT ${OWN} pg_cancel_backend($1)`, [this.pid]);
    } catch {
      // Closing our connection below makes the server abort the transaction anyway.
      await this.client.end().catch(() => {});
    } finally {
      await c?.end().catch(() => {});
    }
  }

  /**
   * BEGIN … ROLLBACK around `fn`, whatever happens. If this process dies, the
   * server rolls the open transaction back when the connection drops;
   * idle_in_transaction_session_timeout covers a client that hangs.
   */
  async rolledBack<T>(opts: TransactionOptions, fn: () => Promise<T>): Promise<T> {
    try {
      // One round trip: our own fixed text, so the simple protocol's multiple statements are fine here.
      const checkConnectionMs = this.versionNum >= 140000 ? (opts.checkConnectionMs ?? 500) : undefined;
      await this.query(beginStatements({ ...opts, checkConnectionMs }).join('; '));
      for (const [name, value] of Object.entries(opts.settings ?? {})) await this.query(`SELECT ${OWN} set_config($1, $2, true)`, [name, value]);
      return await fn();
    } finally {
      await this.client.query('ROLLBACK').catch(() => {});
    }
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
