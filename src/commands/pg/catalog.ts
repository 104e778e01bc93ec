/** Reads the catalog facts the analysis needs for the tables a plan touches. */
import type { Catalog, ForeignKeyInfo, TableInfo } from './analysis/catalog.js';
import { OWN, type PgSession } from './session.js';

const SETTINGS = ['work_mem', 'hash_mem_multiplier', 'max_parallel_workers', 'max_parallel_workers_per_gather', 'max_worker_processes', 'jit', 'jit_above_cost', 'random_page_cost', 'effective_cache_size'];

export async function fetchCatalog(session: PgSession, relations: Array<{ schema?: string; name: string }>, foreignKeyNames: string[] = []): Promise<Catalog> {
  let foreignKeys: ForeignKeyInfo[] = [];
  if (foreignKeyNames.length) {
    ({ rows: foreignKeys } = await session.query<ForeignKeyInfo>(
      `SELECT ${OWN} c.conname AS name, n.nspname AS schema, r.relname AS table, f.relname AS "referencedTable",
              (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns
         FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
         JOIN pg_class f ON f.oid = c.confrelid
        WHERE c.contype = 'f' AND c.conname = ANY($1)`,
      [foreignKeyNames],
    ));
    relations = [...relations, ...foreignKeys.map((k) => ({ schema: k.schema, name: k.table }))];
  }
  const settingsRes = await session.query<{ name: string; setting: string }>(
    `SELECT ${OWN} name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1)
     UNION ALL SELECT 'database', current_database()
     UNION ALL SELECT 'database_collate', datcollate::text FROM pg_database WHERE datname = current_database()`,
    [SETTINGS],
  );
  const settings = Object.fromEntries(settingsRes.rows.map((r) => [r.name, r.setting]));
  const unique = [...new Map(relations.map((r) => [`${r.schema ?? ''}.${r.name}`, r])).values()];
  if (unique.length === 0) return { tables: [], foreignKeys, settings, serverVersionNum: session.versionNum };
  const include = session.versionNum >= 110000 ? 'i.indnkeyatts' : 'i.indnatts';
  const { rows } = await session.query<TableInfo>(
    `SELECT ${OWN} n.nspname AS schema, c.relname AS name, c.reltuples::float8 AS rows, c.relpages::int AS pages,
        COALESCE((SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns,
        COALESCE((SELECT json_agg(json_build_object(
                    'name', ic.relname, 'schema', n.nspname, 'table', c.relname,
                    'unique', i.indisunique, 'valid', i.indisvalid, 'method', am.amname,
                    'predicate', pg_get_expr(i.indpred, i.indrelid, true),
                    'definition', pg_get_indexdef(i.indexrelid),
                    'keys', (SELECT COALESCE(json_agg(json_build_object('expr', pg_get_indexdef(i.indexrelid, k.n, true), 'desc', (i.indoption[k.n - 1] & 1) = 1) ORDER BY k.n), '[]')
                             FROM generate_series(1, ${include}) AS k(n)),
                    'include', (SELECT COALESCE(json_agg(pg_get_indexdef(i.indexrelid, k.n, true) ORDER BY k.n), '[]')
                                FROM generate_series(${include} + 1, i.indnatts) AS k(n))) ORDER BY ic.relname)
                  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
                  WHERE i.indrelid = c.oid), '[]') AS indexes,
        COALESCE((SELECT json_object_agg(a.attname, COALESCE(co.collname, 'default')) FROM pg_attribute a LEFT JOIN pg_collation co ON co.oid = a.attcollation
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attcollation <> 0), '{}') AS collations,
        (SELECT json_build_object('schema', pn.nspname, 'name', p.relname) FROM pg_inherits ih JOIN pg_class p ON p.oid = ih.inhparent
           JOIN pg_namespace pn ON pn.oid = p.relnamespace WHERE ih.inhrelid = c.oid AND p.relkind = 'p' LIMIT 1) AS parent,
        (SELECT json_build_object('modSinceAnalyze', st.n_mod_since_analyze, 'analyzed', COALESCE(st.last_analyze, st.last_autoanalyze) IS NOT NULL)
           FROM pg_stat_all_tables st WHERE st.relid = c.oid) AS stats
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'm') AND (n.nspname, c.relname) IN (
            SELECT COALESCE(r.schema, (SELECT nspname FROM pg_namespace WHERE oid = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass(quote_ident(r.name))))), r.name
              FROM json_to_recordset($1::json) AS r(schema text, name text))`,
    [JSON.stringify(unique)],
  );
  for (const t of rows) for (const i of t.indexes) if (i.predicate === null) delete i.predicate;
  return { tables: rows, foreignKeys, settings, serverVersionNum: session.versionNum };
}

/** Whether a relation exists now (after a rollback, a verified index must not). */
export async function relationExists(session: PgSession, schema: string | undefined, name: string): Promise<boolean> {
  const { rows } = await session.query<{ oid: string | null }>(`SELECT ${OWN} to_regclass($1)::text AS oid`, [schema ? `${quote(schema)}.${quote(name)}` : quote(name)]);
  return rows[0]?.oid !== null;
}

const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;
