/**
 * Index advice for a scan: equality columns first, then the ORDER BY columns
 * in the query's direction (or a range column), INCLUDE for the few extra
 * columns an index-only scan would need, and IS NULL / boolean conditions as
 * a partial-index WHERE. Checked against the catalog so an index that exists
 * is never proposed again, and an index that would serve a differently
 * written query is named.
 */
import { findIndex, findTable, statisticsState, type Catalog, type ForeignKeyInfo, type IndexInfo, type TableInfo } from './catalog.js';
import type { PlanNode } from './plan.js';
import { parseConditions, quoteIdent, type ColumnRef, type Condition } from './predicates.js';

export type KeyRole = 'equality' | 'order' | 'range';

export interface IndexKey {
  /** Column name, or an expression such as lower((email)::text). */
  column: string;
  expression: boolean;
  direction: 'ASC' | 'DESC';
  role: KeyRole;
}

export interface IndexAdvice {
  schema?: string;
  table: string;
  keys: IndexKey[];
  include: string[];
  where?: string;
  name: string;
  /** The statement to run in production (CONCURRENTLY: no write lock). */
  sql: string;
  /** The same index built plainly, as --verify real does inside its transaction. */
  buildSql: string;
  /** What it serves, in words: "player_id = …, then ORDER BY created_at DESC". */
  serves: string;
  nodeIds: number[];
  /** An equivalent index already exists: nothing to create. */
  /** sql is absent when there is nothing to run (statistics fresh: ANALYZE would not change the choice). */
  existing?: { name: string; valid: boolean; note: string; sql?: string };
  /** Existing indexes that would serve if the query were written differently. */
  alternatives: string[];
  /** Existing plain indexes whose columns are a prefix of this one: redundant once it exists. */
  supersedes: string[];
  /** For a foreign key's referencing columns: the constraint whose checks it serves. */
  foreignKey?: string;
  /** An index on a partitioned table: the partitions whose scans it serves. */
  partitions?: string[];
}

export interface OrderKey {
  column: string;
  direction: 'ASC' | 'DESC';
}

export interface ScanContext {
  /** Columns the rows must come out ordered by (Limit over an ordered index scan). */
  orderKeys?: OrderKey[];
  /** Equality conditions from a join (the inner side of a nested loop). */
  joinConditions?: Condition[];
}

/** Conditions that constrain the node's own relation. */
export function conditionsOf(node: PlanNode, extra: Condition[] = []): Condition[] {
  const raw = node.raw;
  // Conditions the existing index already serves come first, so the proposal extends it.
  const texts = [raw['Index Cond'], raw['Recheck Cond'], raw['Filter']].filter((t): t is string => typeof t === 'string');
  const conds = [...texts.flatMap((t) => parseConditions(t)), ...extra];
  const mine = (c?: ColumnRef) => c && (!c.alias || c.alias === node.alias || c.alias === node.relation);
  const seen = new Set<string>();
  // A join condition written the other way round (other.col = mine.col).
  const oriented = conds.map((c) =>
    c.kind === 'eq' && c.column && !mine(c.column) && c.otherColumn && mine(c.otherColumn) ? { ...c, column: c.otherColumn, otherColumn: c.column } : c,
  );
  return oriented.filter((c) => {
    const ok = mine(c.column) || mine(c.expressionColumn);
    const key = `${c.column?.column ?? c.expression}|${c.kind}|${c.op}`;
    if (!ok || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function proposeIndex(node: PlanNode, catalog: Catalog, ctx: ScanContext = {}): IndexAdvice | undefined {
  if (!node.relation) return undefined;
  const conds = conditionsOf(node, ctx.joinConditions);
  const keys: IndexKey[] = [];
  const has = (col: string) => keys.some((k) => k.column === col);
  const eqColumns = new Set<string>();
  for (const c of conds) {
    if (c.kind !== 'eq' || c.other === 'expression') continue;
    const col = c.column?.column ?? c.expression!;
    if (has(col)) continue;
    keys.push({ column: col, expression: !c.column, direction: 'ASC', role: 'equality' });
    eqColumns.add(col);
  }
  for (const o of ctx.orderKeys ?? []) {
    if (eqColumns.has(o.column) || has(o.column)) continue;
    keys.push({ column: o.column, expression: false, direction: o.direction, role: 'order' });
  }
  for (const c of conds) {
    if (c.kind !== 'range' || c.other === 'expression' || c.other === 'column') continue;
    const col = c.column?.column ?? c.expression!;
    if (has(col)) continue;
    keys.push({ column: col, expression: !c.column, direction: 'ASC', role: 'range' });
  }
  const partial = conds.filter((c) => (c.kind === 'null' || c.kind === 'bool') && c.predicate);
  if (keys.length === 0) {
    // Only IS NULL / boolean conditions: a btree on that column is the index.
    const nullCond = partial.find((c) => c.kind === 'null');
    if (!nullCond?.column) return undefined;
    keys.push({ column: nullCond.column.column, expression: false, direction: 'ASC', role: 'equality' });
    partial.splice(partial.indexOf(nullCond), 1);
  }
  const where = partial.length ? partial.map((c) => c.predicate!).join(' AND ') : undefined;

  const table = findTable(catalog, node.schema, node.relation);
  const include = includeColumns(node, keys, table?.columns);
  const name = freeName(indexName(node.relation, keys, where !== undefined), (table?.indexes ?? []).filter((i) => !serves(i, { keys, where })));
  const qualified = `${node.schema ? `${quoteIdent(node.schema)}.` : ''}${quoteIdent(node.relation)}`;
  const keySql = keys.map((k) => `${k.expression ? `(${k.column})` : quoteIdent(k.column)}${k.direction === 'DESC' ? ' DESC' : ''}`).join(', ');
  const tail = `${include.length ? ` INCLUDE (${include.map(quoteIdent).join(', ')})` : ''}${where ? ` WHERE ${where}` : ''}`;
  const advice: IndexAdvice = {
    schema: node.schema,
    table: node.relation,
    keys,
    include,
    where,
    name,
    sql: `CREATE INDEX CONCURRENTLY ${quoteIdent(name)} ON ${qualified} (${keySql})${tail};`,
    buildSql: `CREATE INDEX ${quoteIdent(name)} ON ${qualified} (${keySql})${tail}`,
    serves: servesText(keys, where),
    nodeIds: [node.id],
    alternatives: [],
    supersedes: [],
  };
  if (table) {
    const existing = table.indexes.find((i) => serves(i, advice));
    if (existing) {
      const idx = `${quoteIdent(existing.schema)}.${quoteIdent(existing.name)}`;
      advice.existing = existing.valid
        ? existingNotChosen(existing.name, table, qualified, 'already has these columns; the planner did not choose it')
        : { name: existing.name, valid: false, sql: `REINDEX INDEX CONCURRENTLY ${idx};`, note: `${existing.name} has these columns but is INVALID (a failed CREATE INDEX CONCURRENTLY?): rebuild it.` };
    }
    advice.alternatives = alternativesFor(conds, table.indexes, node);
    if (!advice.existing && !where) {
      advice.supersedes = table.indexes
        .filter((i) => i.valid && !i.unique && !i.predicate && i.method === 'btree' && i.include.length === 0 && i.keys.length < keys.length)
        .filter((i) => i.keys.every((k, n) => norm(k.expr) === norm(keys[n]!.column)))
        .map((i) => i.name);
    }
  }
  return advice;
}

/**
 * An existing index the planner passed over: ANALYZE only when
 * pg_stat_user_tables says the statistics are stale; on fresh statistics the
 * planner judged it costlier (settings, selectivity), which ANALYZE would not change.
 */
export function existingNotChosen(name: string, table: TableInfo | undefined, qualified: string, what: string): NonNullable<IndexAdvice['existing']> {
  const state = statisticsState(table);
  if (state === 'fresh') {
    return { name, valid: true, note: `${name} ${what}. Its statistics are fresh (pg_stat_user_tables: few rows changed since the last ANALYZE), so ANALYZE would not change that: the planner judged the index costlier here — check planner settings (enable_*, random_page_cost) and how selective the condition really is.` };
  }
  const why = state === 'stale' ? 'its statistics are stale (many rows changed since the last ANALYZE, or never analyzed)' : 'if its statistics are stale (pg_stat_user_tables was not read)';
  return { name, valid: true, sql: `ANALYZE ${qualified};`, note: `${name} ${what}; ${why}: ANALYZE ${qualified}.` };
}

function servesText(keys: IndexKey[], where?: string): string {
  const eq = keys.filter((k) => k.role === 'equality').map((k) => `${k.column} = …`);
  const order = keys.filter((k) => k.role === 'order').map((k) => `${k.column}${k.direction === 'DESC' ? ' DESC' : ''}`);
  const range = keys.filter((k) => k.role === 'range').map((k) => `${k.column} range`);
  const parts = [eq.join(' AND '), order.length ? `ORDER BY ${order.join(', ')}` : '', range.join(', ')].filter(Boolean);
  return parts.join(', then ') + (where ? ` (only rows WHERE ${where})` : '');
}

function includeColumns(node: PlanNode, keys: IndexKey[], tableColumns: string[] | undefined): string[] {
  const output = node.raw['Output'];
  if (!Array.isArray(output) || !tableColumns) return [];
  const alias = node.alias ?? node.relation;
  const cols: string[] = [];
  for (const o of output as string[]) {
    const m = /^(?:"?([^".]+)"?\.)?"?([^".]+)"?$/.exec(o.trim());
    if (!m || (m[1] && m[1] !== alias) || !tableColumns.includes(m[2]!)) return [];
    if (!keys.some((k) => k.column === m[2]) && !cols.includes(m[2]!)) cols.push(m[2]!);
  }
  const remaining = tableColumns.length - keys.filter((k) => !k.expression).length;
  // INCLUDE pays off only when it makes a narrow index-only scan possible.
  if (cols.length === 0 || cols.length > 3 || cols.length >= remaining) return [];
  return cols;
}

function indexName(table: string, keys: IndexKey[], partial: boolean): string {
  const parts = keys.map((k) => (k.expression ? k.column.replace(/::\w+/g, '').replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_|_$/g, '') : k.column));
  let name = `${table}_${parts.join('_')}${partial ? '_partial' : ''}_idx`.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/_+/g, '_');
  if (name.length > 63) name = name.slice(0, 59).replace(/_$/, '') + '_idx';
  return name;
}

/** The name, or name_2, name_3 … when an index with a different definition already has it (CREATE INDEX would fail). */
function freeName(name: string, indexes: IndexInfo[]): string {
  const taken = new Set(indexes.map((i) => i.name));
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = `${name.slice(0, 63 - String(n).length - 1)}_${n}`;
  return candidate;
}

const norm = (e: string) => e.toLowerCase().replace(/::[a-z ]+/g, '').replace(/[\s()"]/g, '');

/** Whether an existing index serves the proposal: same equality set first, then the same columns in a compatible direction. */
export function serves(index: IndexInfo, advice: Pick<IndexAdvice, 'keys' | 'where'>): boolean {
  if (index.method !== 'btree' || index.keys.length < advice.keys.length) return false;
  if (advice.where ? !index.predicate || norm(index.predicate) !== norm(advice.where) : Boolean(index.predicate)) return false;
  const eq = advice.keys.filter((k) => k.role === 'equality');
  const eqSet = new Set(eq.map((k) => norm(k.column)));
  for (let i = 0; i < eq.length; i++) if (!eqSet.has(norm(index.keys[i]!.expr))) return false;
  let flipped: boolean | undefined;
  for (let i = eq.length; i < advice.keys.length; i++) {
    const want = advice.keys[i]!;
    const have = index.keys[i]!;
    if (norm(have.expr) !== norm(want.column)) return false;
    if (want.role === 'order') {
      const f = have.desc !== (want.direction === 'DESC');
      if (flipped !== undefined && f !== flipped) return false;
      flipped = f;
    }
  }
  return true;
}

function alternativesFor(conds: Condition[], indexes: IndexInfo[], node: PlanNode): string[] {
  const out: string[] = [];
  const lead = (i: IndexInfo) => norm(i.keys[0]?.expr ?? '');
  for (const c of conds) {
    if (c.kind !== 'eq' && c.kind !== 'range') continue;
    if (c.expression && c.expressionColumn) {
      const plain = indexes.find((i) => i.valid && lead(i) === norm(c.expressionColumn!.column));
      if (plain) out.push(`${plain.name} on (${plain.keys.map((k) => k.expr).join(', ')}) would serve if the query compared ${c.expressionColumn.column} directly instead of ${c.expression}.`);
    } else if (c.column) {
      const expr = indexes.find((i) => i.valid && i.keys[0] && /\(/.test(i.keys[0].expr) && norm(i.keys[0].expr).includes(norm(c.column!.column)) && lead(i) !== norm(c.column!.column));
      if (expr) out.push(`${expr.name} on (${expr.keys[0]!.expr}) would serve if the query compared ${expr.keys[0]!.expr} instead of ${c.column.column}.`);
    }
  }
  const eqCols = new Set(conds.filter((c) => c.kind === 'eq' && c.column).map((c) => norm(c.column!.column)));
  for (const i of indexes) {
    if (!i.valid || i.keys.length < 2 || node.index === i.name) continue;
    const first = norm(i.keys[0]!.expr);
    if (!eqCols.has(first) && eqCols.has(norm(i.keys[1]!.expr))) {
      out.push(`${i.name} on (${i.keys.map((k) => k.expr).join(', ')}) would serve if the query also filtered on ${i.keys[0]!.expr} (it is the index's leading column).`);
    }
  }
  return [...new Set(out)];
}

/** The order an ordered index scan delivers rows in: the index's keys not pinned by equality, flipped for a backward scan. */
export function scanOrder(node: PlanNode, catalog: Catalog): OrderKey[] | undefined {
  if (!node.index) return undefined;
  const index = findIndex(catalog, node.schema, node.index);
  if (!index) return undefined;
  const pinned = new Set(parseConditions(node.raw['Index Cond'] as string | undefined).filter((c) => c.kind === 'eq' && c.column).map((c) => c.column!.column));
  const backward = node.raw['Scan Direction'] === 'Backward';
  const keys: OrderKey[] = [];
  for (const k of index.keys) {
    if (pinned.has(k.expr)) continue;
    if (/[()]/.test(k.expr)) break;
    keys.push({ column: k.expr.replace(/^"|"$/g, ''), direction: k.desc !== backward ? 'DESC' : 'ASC' });
  }
  return keys;
}

/** ORDER BY columns read from the statement text (plain columns only), when the catalog cannot tell. */
export function orderByFromSql(sql: string | undefined): OrderKey[] | undefined {
  if (!sql) return undefined;
  const matches = [...sql.matchAll(/\border\s+by\s+([\s\S]+?)(?=\s+limit\b|\s+offset\b|\s+fetch\b|\s+for\b|\)|;|$)/gi)];
  const last = matches.at(-1);
  if (!last) return undefined;
  const keys: OrderKey[] = [];
  for (const item of last[1]!.split(',')) {
    const m = /^\s*(?:"?[A-Za-z_][\w$]*"?\.)?"?([A-Za-z_][\w$]*)"?(?:\s+(asc|desc))?(?:\s+nulls\s+(?:first|last))?\s*$/i.exec(item);
    if (!m) return keys.length ? keys : undefined;
    keys.push({ column: m[1]!, direction: m[2]?.toUpperCase() === 'DESC' ? 'DESC' : 'ASC' });
  }
  return keys;
}

/**
 * The index a foreign key's referencing side needs: every DELETE/UPDATE of a
 * referenced row looks up the referencing rows by these columns. Undefined when
 * an index already leads with them.
 */
export function proposeForeignKeyIndex(fk: ForeignKeyInfo, catalog: Catalog): IndexAdvice | undefined {
  const table = findTable(catalog, fk.schema, fk.table);
  const wanted = new Set(fk.columns.map(norm));
  const covered = table?.indexes.some((i) => i.valid && i.method === 'btree' && !i.predicate && i.keys.length >= wanted.size && i.keys.slice(0, wanted.size).every((k) => wanted.has(norm(k.expr))));
  if (covered) return undefined;
  const keys: IndexKey[] = fk.columns.map((c) => ({ column: c, expression: false, direction: 'ASC', role: 'equality' }));
  const name = indexName(fk.table, keys, false);
  const qualified = `${quoteIdent(fk.schema)}.${quoteIdent(fk.table)}`;
  const cols = fk.columns.map(quoteIdent).join(', ');
  return {
    schema: fk.schema,
    table: fk.table,
    keys,
    include: [],
    name,
    sql: `CREATE INDEX CONCURRENTLY ${quoteIdent(name)} ON ${qualified} (${cols});`,
    buildSql: `CREATE INDEX ${quoteIdent(name)} ON ${qualified} (${cols})`,
    serves: `the ${fk.name} checks (${fk.columns.join(', ')} = …) when ${fk.referencedTable} rows are deleted or their keys updated`,
    nodeIds: [],
    alternatives: [],
    supersedes: [],
    foreignKey: fk.name,
  };
}
