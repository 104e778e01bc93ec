import pg from 'pg';
import Cursor from 'pg-cursor';
import { ExitCode, OpsError } from '../../../lib/errors.js';
import { redactUrl, connectPg, resolveConnection, translatePgError } from '../../../lib/postgres.js';
import type { UserSource } from './sources.js';

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
export async function openPostgresSource(url: string, table?: string, query?: string, env: NodeJS.ProcessEnv = process.env): Promise<UserSource> {
  const spec = resolveConnection(url, env, '--from');
  const label = redactUrl(url);
  const connect = async (): Promise<pg.Client> => {
    // connectPg: libpq's sslmode (default prefer: TLS when the server offers it, else plain).
    return connectPg(spec, { application_name: 'opsctl cognito migrate' });
  };
  const client = await connect();
  let sql: string;
  let columns: string[];
  const base = query ?? `SELECT * FROM ${quoteTable(table ?? 'users')}`;
  try {
    const probe = await client.query(`SELECT * FROM (${base}) AS opsctl_source LIMIT 0`);
    columns = probe.fields.map((f) => f.name);
    sql = query ?? (columns.includes('id') ? `${base} ORDER BY "id"` : base);
  } catch (err) {
    await client.end().catch(() => {});
    const e = translatePgError(err, spec);
    throw new OpsError(`${query ? '--query' : `--table ${table ?? 'users'}`}: ${e.message}`, { exitCode: e.exitCode, code: e.code, hint: e.hint, cause: err });
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
        const e = translatePgError(err, spec);
        throw new OpsError(e.message, { exitCode: e.exitCode, code: e.code, hint: e.code.startsWith('pg-conn') ? 're-run the same command: the migration continues from its checkpoint' : e.hint, cause: err });
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
