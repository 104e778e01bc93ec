import pg from 'pg';
import Cursor from 'pg-cursor';
import { ExitCode, OpsError, firstLine } from '../../../lib/errors.js';
import { redactUrl, type UserSource } from './sources.js';

const BATCH = 100;

/** Quote a possibly schema-qualified table name: public.users → "public"."users". */
export function quoteTable(name: string): string {
  const parts = name.split('.');
  if (parts.length > 2 || parts.some((p) => p === '')) throw new OpsError(`--table "${name}" is not a table name.`, { exitCode: ExitCode.USAGE, code: 'usage', hint: 'e.g. --table users or --table public.users' });
  return parts.map((p) => `"${p.replace(/"/g, '""')}"`).join('.');
}

/**
 * Rows of a PostgreSQL query through a server-side cursor (pg-cursor), BATCH
 * rows at a time. The default query reads the Devise `users` table ordered
 * by id, which keeps the order stable between runs (checkpoints rely on it).
 */
export async function openPostgresSource(url: string, table?: string, query?: string): Promise<UserSource> {
  const label = redactUrl(url);
  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, application_name: 'opsctl cognito migrate' });
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw pgError(err, label);
    }
    return client;
  };
  const client = await connect();
  let sql: string;
  let columns: string[];
  try {
    const base = query ?? `SELECT * FROM ${quoteTable(table ?? 'users')}`;
    const probe = await client.query(`SELECT * FROM (${base}) AS opsctl_source LIMIT 0`);
    columns = probe.fields.map((f) => f.name);
    sql = query ?? (columns.includes('id') ? `${base} ORDER BY "id"` : base);
  } catch (err) {
    await client.end().catch(() => {});
    throw pgError(err, label, query ? '--query' : `table ${table ?? 'users'}`);
  }
  const clients = new Set<pg.Client>([client]);
  return {
    kind: 'postgres',
    label: query ? `${label} (query)` : `${label} table ${table ?? 'users'}`,
    columns: async () => columns,
    async count() {
      const r = await client.query(`SELECT count(*)::bigint AS n FROM (${sql}) AS opsctl_source`);
      return Number(r.rows[0].n);
    },
    async *rows(signal) {
      // Its own connection, so count() and a second pass can run alongside.
      const c = await connect();
      clients.add(c);
      const cursor = c.query(new Cursor(sql));
      let index = 0;
      try {
        for (;;) {
          if (signal?.aborted) return;
          const batch: Record<string, unknown>[] = await cursor.read(BATCH);
          if (batch.length === 0) return;
          for (const record of batch) yield { index: index++, record };
        }
      } catch (err) {
        throw pgError(err, label);
      } finally {
        await cursor.close().catch(() => {});
        await c.end().catch(() => {});
        clients.delete(c);
      }
    },
    async close() {
      await Promise.all([...clients].map((c) => c.end().catch(() => {})));
    },
  };
}

function pgError(err: unknown, label: string, what?: string): OpsError {
  const e = err as { code?: string; message?: string };
  const msg = firstLine(err);
  switch (e.code) {
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
      return new OpsError(`Cannot reach PostgreSQL at ${label}: ${msg}`, { hint: 'check the host and port in --from and that the server is running', code: 'pg-unreachable', cause: err });
    case '28P01':
    case '28000':
      return new OpsError(`PostgreSQL refused the login for ${label}: ${msg}`, { hint: 'check the user and password in --from', code: 'pg-auth', cause: err });
    case '3D000':
      return new OpsError(`PostgreSQL database does not exist: ${msg}`, { hint: 'check the database name in --from', code: 'pg-no-database', exitCode: ExitCode.USAGE, cause: err });
    case '42P01':
      return new OpsError(`PostgreSQL source: ${msg}.`, { hint: 'pass --table NAME or --query SQL', code: 'pg-no-table', exitCode: ExitCode.USAGE, cause: err });
    default:
      if (e.code && /^42/.test(e.code)) return new OpsError(`PostgreSQL rejected the ${what ?? 'query'}: ${msg}`, { code: 'pg-bad-query', exitCode: ExitCode.USAGE, cause: err });
      if (/timeout|terminated|ECONNRESET/i.test(msg)) return new OpsError(`Lost the PostgreSQL connection to ${label}: ${msg}`, { hint: 're-run the same command: the migration continues from its checkpoint', code: 'pg-unreachable', cause: err });
      return new OpsError(`PostgreSQL error: ${msg}`, { code: 'pg-error', cause: err });
  }
}
