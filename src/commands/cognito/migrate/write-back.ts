/**
 * `--write-back TABLE.COLUMN`: store each user's Cognito sub in the source
 * table, from the links file. Only when asked; idempotent (a row already
 * holding its sub is not touched, so a re-run writes nothing); in batches,
 * one transaction each, so a failure leaves whole batches done or not.
 */
import pg from 'pg';
import { ExitCode, OpsError } from '../../../lib/errors.js';
import { connectPg, resolveConnection, translatePgError } from '../../../lib/postgres.js';
import { quoteTable } from './source-postgres.js';
import { readLinks } from './writer.js';

export interface WriteBackTarget {
  table: string;
  column: string;
}

export interface WriteBackResult {
  table: string;
  column: string;
  keyColumn: string;
  links: number;
  updated: number;
  batches: number;
}

const BATCH = 1000;

/** "users.cognito_sub", "public.users.cognito_sub" or just "cognito_sub" (in --table / users). */
export function parseWriteBack(value: string, defaultTable = 'users'): WriteBackTarget {
  const parts = value.split('.');
  if (parts.some((p) => p === '') || parts.length > 3) throw new OpsError(`--write-back "${value}" is not TABLE.COLUMN.`, { exitCode: ExitCode.USAGE, code: 'usage', hint: 'e.g. --write-back users.cognito_sub' });
  const column = parts.pop()!;
  return { table: parts.length ? parts.join('.') : defaultTable, column };
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Checks the --write-back table and columns exist, before any user is created
 * (and in the dry run): a typo found only after the run leaves a migrated pool
 * and no subs stored. Reads the catalog only.
 */
export async function checkWriteBack(url: string, target: WriteBackTarget, keyColumn: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const spec = resolveConnection(url, env, '--from');
  let client: pg.Client | undefined;
  try {
    client = await connectPg(spec, { application_name: 'opsctl cognito migrate --write-back' });
    await columnTypes(client, target, keyColumn);
  } catch (err) {
    throw writeBackError(err, target, spec);
  } finally {
    await client?.end().catch(() => {});
  }
}

async function columnTypes(client: pg.Client, target: WriteBackTarget, keyColumn: string): Promise<Map<string, string>> {
  // Cast to the columns' own types, so the key comparison can use the table's index.
  const types = await client.query<{ attname: string; type: string }>(
    `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attname = ANY($2) AND NOT attisdropped`,
    [quoteTable(target.table), [keyColumn, target.column]],
  );
  const typeOf = new Map(types.rows.map((r) => [r.attname, r.type]));
  if (!typeOf.has(target.column)) throw new OpsError(`--write-back: table ${target.table} has no column "${target.column}".`, { exitCode: ExitCode.USAGE, code: 'usage', hint: `add it first, e.g. ALTER TABLE ${target.table} ADD COLUMN ${ident(target.column)} uuid` });
  if (!typeOf.has(keyColumn)) throw new OpsError(`--write-back: table ${target.table} has no column "${keyColumn}" to match users by.`, { exitCode: ExitCode.USAGE, code: 'usage', hint: 'the links file is matched on the source id column (id, or --map COLUMN=custom:legacy_id)' });
  return typeOf;
}

function writeBackError(err: unknown, target: WriteBackTarget, spec: ReturnType<typeof resolveConnection>): OpsError {
  if (err instanceof OpsError) return err;
  const e = translatePgError(err, spec);
  return new OpsError(`--write-back ${target.table}.${target.column}: ${e.message}`, { exitCode: e.exitCode, code: e.code, hint: e.hint ?? 'the users are in the pool and in the links file; fix this and re-run the same command (rows already written are skipped)', cause: err });
}

export async function writeBack(url: string, target: WriteBackTarget, keyColumn: string, linksPath: string, env: NodeJS.ProcessEnv = process.env): Promise<WriteBackResult> {
  const spec = resolveConnection(url, env, '--from');
  const client = await connectPg(spec, { application_name: 'opsctl cognito migrate --write-back' });
  const table = quoteTable(target.table);
  let updated = 0;
  let batches = 0;
  let links = 0;
  try {
    const typeOf = await columnTypes(client, target, keyColumn);
    const sql = `UPDATE ${table} AS t SET ${ident(target.column)} = v.sub::${typeOf.get(target.column)}
      FROM unnest($1::text[], $2::text[]) AS v(id, sub)
      WHERE t.${ident(keyColumn)} = v.id::${typeOf.get(keyColumn)} AND t.${ident(target.column)} IS DISTINCT FROM v.sub::${typeOf.get(target.column)}`;
    let ids: string[] = [];
    let subs: string[] = [];
    const flush = async () => {
      if (!ids.length) return;
      await client.query('BEGIN');
      try {
        const r = await client.query(sql, [ids, subs]);
        await client.query('COMMIT');
        updated += r.rowCount ?? 0;
        batches += 1;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
      ids = [];
      subs = [];
    };
    for (const l of readLinks(linksPath)) {
      if (!l.legacyId) continue;
      links += 1;
      ids.push(l.legacyId);
      subs.push(l.sub);
      if (ids.length >= BATCH) await flush();
    }
    await flush();
  } catch (err) {
    throw writeBackError(err, target, spec);
  } finally {
    await client.end().catch(() => {});
  }
  return { table: target.table, column: target.column, keyColumn, links, updated, batches };
}
