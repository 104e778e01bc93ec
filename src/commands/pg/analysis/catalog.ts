/**
 * What the analysis needs to know about the tables in a plan, beyond the plan
 * itself: their columns and existing indexes (so advice never proposes an
 * index that exists) and a few settings. Fetched by src/lib/pg/catalog.ts;
 * tests build it by hand.
 */
export interface IndexInfo {
  name: string;
  schema: string;
  table: string;
  /** Key columns (names, or expressions as pg_get_indexdef prints them). */
  keys: Array<{ expr: string; desc: boolean }>;
  include: string[];
  unique: boolean;
  valid: boolean;
  method: string;
  predicate?: string;
  definition: string;
}

export interface TableInfo {
  schema: string;
  name: string;
  columns: string[];
  /** pg_class.reltuples (estimate; -1 or 0 when never analyzed). */
  rows: number;
  pages: number;
  indexes: IndexInfo[];
  /** Column → collation name ('default' = the database's); only collatable columns. */
  collations?: Record<string, string>;
  /** The partitioned table this one is a partition of. */
  parent?: { schema: string; name: string } | null;
  /** pg_stat_all_tables: rows changed since the last ANALYZE, and whether it was ever analyzed. */
  stats?: { modSinceAnalyze: number; analyzed: boolean } | null;
}

/** A foreign key whose checks ran as triggers in the explained statement. */
export interface ForeignKeyInfo {
  name: string;
  /** The referencing table and columns (where the lookups happen). */
  schema: string;
  table: string;
  columns: string[];
  /** The referenced table (where the trigger fires). */
  referencedTable: string;
}

export interface Catalog {
  tables: TableInfo[];
  foreignKeys?: ForeignKeyInfo[];
  /** Current values of settings the advice mentions (work_mem, max_parallel_workers, …). */
  settings: Record<string, string>;
  serverVersionNum?: number;
}

/**
 * Whether a table's planner statistics are stale, by the one rule every
 * ANALYZE suggestion follows (never ANALYZE as a reflex): never analyzed
 * (last_analyze and last_autoanalyze both null), or more than 10% of its rows
 * changed since (n_mod_since_analyze vs reltuples). 'unknown' when
 * pg_stat_user_tables was not read (a plan from a file).
 */
export function statisticsState(table: TableInfo | undefined): 'stale' | 'fresh' | 'unknown' {
  if (!table?.stats) return 'unknown';
  return !table.stats.analyzed || table.stats.modSinceAnalyze > 0.1 * Math.max(1, table.rows) ? 'stale' : 'fresh';
}

/** The ANALYZE to suggest for a table, or nothing when its statistics are fresh. */
export function analyzeIfStale(table: TableInfo | undefined, qualifiedName: string): string | undefined {
  return statisticsState(table) === 'fresh' ? undefined : `ANALYZE ${qualifiedName};`;
}

export const emptyCatalog = (): Catalog => ({ tables: [], settings: {} });

export function findTable(catalog: Catalog, schema: string | undefined, name: string): TableInfo | undefined {
  return catalog.tables.find((t) => t.name === name && (!schema || t.schema === schema));
}

export function findIndex(catalog: Catalog, schema: string | undefined, name: string): IndexInfo | undefined {
  for (const t of catalog.tables) for (const i of t.indexes) if (i.name === name && (!schema || i.schema === schema)) return i;
  return undefined;
}

/** "64MB" / "4096kB" / "1GB" → kB. */
export function memoryKb(setting: string | undefined): number | undefined {
  if (!setting) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(kB|MB|GB|TB|B)?$/i.exec(setting.trim());
  if (!m) return undefined;
  const v = Number(m[1]);
  const unit = (m[2] ?? 'kB').toUpperCase();
  return unit === 'B' ? v / 1024 : unit === 'KB' ? v : unit === 'MB' ? v * 1024 : unit === 'GB' ? v * 1024 * 1024 : v * 1024 * 1024 * 1024;
}

/** A work_mem value that fits `neededKb`, rounded up to a readable size. */
export function suggestMemory(neededKb: number): string {
  const mb = Math.max(1, neededKb / 1024);
  const steps = [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
  const pick = steps.find((s) => s >= mb) ?? Math.ceil(mb / 1024) * 1024;
  return pick >= 1024 && pick % 1024 === 0 ? `${pick / 1024}GB` : `${pick}MB`;
}
