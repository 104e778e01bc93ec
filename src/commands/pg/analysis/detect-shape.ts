/**
 * Detectors where the way the query is written (or the collation, or the
 * partitioning) is the cause, so a plain index on the filtered column is
 * not the fix: LIKE under a non-C collation, casts on the column, OR across
 * columns, NOT IN run as a SubPlan, deep OFFSET, a hash join probing an
 * unindexed foreign key, GROUP BY/ORDER BY + LIMIT sorting everything.
 * Each claims its node before the generic index detectors see it.
 */
import { findTable, type Catalog } from './catalog.js';
import { existingNotChosen, type IndexAdvice, type IndexKey } from './advice.js';
import { fmtInt, n0, round, severityOf, type Detector, type Finding } from './finding.js';
import { ancestors, type Plan, type PlanNode } from './plan.js';
import { quoteIdent, splitTop, stripParens } from './predicates.js';

const qualifiedName = (schema: string | undefined, table: string) => `${schema ? `${quoteIdent(schema)}.` : ''}${quoteIdent(table)}`;

/** An index proposal built from key SQL (opclasses, expressions) rather than from conditions. */
export function makeAdvice(o: { schema?: string; table: string; keys: Array<{ column: string; sql?: string; direction?: 'ASC' | 'DESC'; role: IndexKey['role'] }>; nameHint?: string; serves: string; nodeIds: number[]; catalog: Catalog; online?: boolean }): IndexAdvice {
  const keys: IndexKey[] = o.keys.map((k) => ({ column: k.column, expression: false, direction: k.direction ?? 'ASC', role: k.role }));
  const keySql = o.keys.map((k) => `${k.sql ?? quoteIdent(k.column)}${k.direction === 'DESC' ? ' DESC' : ''}`).join(', ');
  let name = `${o.table}_${o.keys.map((k) => k.column).join('_')}${o.nameHint ? `_${o.nameHint}` : ''}_idx`.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/_+/g, '_');
  if (name.length > 63) name = name.slice(0, 59).replace(/_$/, '') + '_idx';
  const q = qualifiedName(o.schema, o.table);
  const table = findTable(o.catalog, o.schema, o.table);
  const norm = (e: string) => e.toLowerCase().replace(/[\s"]/g, '');
  const wanted = norm(`(${keySql})`);
  const existing = table?.indexes.find((i) => i.valid && norm(i.definition).includes(wanted));
  return {
    schema: o.schema,
    table: o.table,
    keys,
    include: [],
    name,
    sql: `CREATE INDEX${o.online === false ? '' : ' CONCURRENTLY'} ${quoteIdent(name)} ON ${q} (${keySql});`,
    buildSql: `CREATE INDEX ${quoteIdent(name)} ON ${q} (${keySql})`,
    serves: o.serves,
    nodeIds: o.nodeIds,
    alternatives: [],
    supersedes: [],
    ...(existing ? { existing: existingNotChosen(existing.name, table, q, 'already is this index') } : {}),
  };
}

const hasIndexOn = (catalog: Catalog, schema: string | undefined, table: string, column: string) =>
  (findTable(catalog, schema, table)?.indexes ?? []).some((i) => i.valid && !i.predicate && i.method === 'btree' && i.keys[0] && i.keys[0].expr.replace(/"/g, '') === column);

function scanned(node: PlanNode) {
  const removed = n0(node.raw['Rows Removed by Filter']) * node.loops;
  const kept = node.totalRows ?? 0;
  return { removed, kept, total: removed + kept };
}

const bare = (col: string) => col.replace(/^.*\./, '').replace(/"/g, '');
const isScan = (n: PlanNode) => /Seq Scan$|^Bitmap Heap Scan$|^Index Scan$/.test(n.type);

/** LIKE 'abc%' on a column whose collation is not C: a default btree cannot serve a prefix search. */
export const likePrefixCollation: Detector = (plan, node, catalog) => {
  if (!isScan(node) || typeof node.raw.Filter !== 'string' || !node.relation) return;
  const m = /\(?\(?([\w."]+)\)?(?:::text)?\s+(~~\*?)\s+'((?:[^'%_\\]|'')+)%'(?:::text)?\)?/.exec(node.raw.Filter as string);
  if (!m) return;
  const column = bare(m[1]!);
  const ilike = m[2] === '~~*';
  const table = findTable(catalog, node.schema, node.relation);
  const coll = table?.collations?.[column];
  const effective = !coll || coll === 'default' ? catalog.settings.database_collate ?? 'default' : coll;
  if (!ilike && /^(C|POSIX|ucs_basic)$/i.test(effective)) return;
  const s = scanned(node);
  if (plan.analyzed && (s.total < 1000 || s.kept > 0.2 * s.total)) return;
  const advice = ilike
    ? makeAdvice({ schema: node.schema, table: node.relation, keys: [{ column, sql: `lower(${quoteIdent(column)}) text_pattern_ops`, role: 'range' }], nameHint: 'lower_pattern', serves: `lower(${column}) LIKE 'prefix%'`, nodeIds: [node.id], catalog })
    : makeAdvice({ schema: node.schema, table: node.relation, keys: [{ column, sql: `${quoteIdent(column)} text_pattern_ops`, role: 'range' }], nameHint: 'pattern', serves: `${column} LIKE 'prefix%'`, nodeIds: [node.id], catalog });
  return {
    kind: 'like-prefix-collation',
    severity: severityOf(plan, node),
    nodeId: node.id,
    node: node.label,
    title: `${column} ${ilike ? 'ILIKE' : 'LIKE'} '${m[3]}%' cannot use a btree index under collation "${effective}"`,
    explanation: ilike
      ? `ILIKE compares case-insensitively, which no plain btree serves. Write it as lower(${column}) LIKE lower('${m[3]}%') and index lower(${column}) with text_pattern_ops.`
      : `A prefix LIKE turns into a range scan only when the index compares bytes: under the collation "${effective}" a default btree on ${column} sorts by language rules and cannot. ` +
        `An index with the text_pattern_ops operator class (or on ${column} COLLATE "C") serves it.`,
    evidence: (plan.analyzed ? { rowsScanned: s.total, rowsKept: s.kept, collation: effective, nodeMs: round(node.totalMs ?? 0), shareOfQuery: round(node.totalShare ?? 0) } : { collation: effective }) as Finding['evidence'],
    fix: { text: `Index ${column} with text_pattern_ops (or COLLATE "C") so the prefix becomes a range scan.`, sql: advice.existing ? (advice.existing.sql ? [advice.existing.sql] : []) : [advice.sql] },
    advice,
    impactMs: node.totalMs,
  };
};

/** (col)::date = '…', (col)::numeric = 42.0: a cast on the column hides it from its index. */
export const castOnColumn: Detector = (plan, node, catalog) => {
  if (!isScan(node) || typeof node.raw.Filter !== 'string' || !node.relation) return;
  const text = node.raw.Filter as string;
  const m = /\(\(?([\w."]+)\)?::(date|numeric|text|character varying|double precision|timestamp without time zone)\s*(=|<|>|<=|>=)\s*'?([^'()]+?)'?(?:::[\w ]+)?\)/.exec(text);
  if (!m) return;
  const column = bare(m[1]!);
  const type = m[2]!;
  const literal = m[4]!;
  const s = scanned(node);
  if (plan.analyzed && (s.total < 1000 || s.kept > 0.2 * s.total)) return;
  let rewrite: string;
  let why: string;
  if (type === 'date' && m[3] === '=') {
    rewrite = `${column} >= DATE '${literal}' AND ${column} < DATE '${literal}' + 1`;
    why = `Casting ${column} to date for each row hides it from any index on ${column}; the same day as a range on the bare column can use one.`;
  } else if (type === 'numeric' && /^-?\d+(\.0*)?$/.test(literal)) {
    rewrite = `${column} = ${literal.replace(/\.0*$/, '')}`;
    why = `The literal ${literal} is numeric, so PostgreSQL casts every ${column} to numeric to compare (no index on ${column} applies). Write the literal as an integer (or cast the literal: ${literal}::bigint).`;
  } else {
    rewrite = `${column} ${m[3]} ${literal}::<the column's type>`;
    why = `The cast applies to the column, so its index cannot be used; cast the literal instead.`;
  }
  const indexed = hasIndexOn(catalog, node.schema, node.relation, column);
  const advice = indexed ? undefined : makeAdvice({ schema: node.schema, table: node.relation, keys: [{ column, role: 'range' }], serves: `the rewritten ${column} condition`, nodeIds: [node.id], catalog });
  return {
    kind: 'cast-on-column',
    severity: severityOf(plan, node),
    nodeId: node.id,
    node: node.label,
    title: `A cast on ${column} (${column}::${type}) keeps the index out`,
    explanation: `${why}${indexed ? '' : ` ${column} has no index yet: create it with the rewrite.`}`,
    evidence: (plan.analyzed ? { rowsScanned: s.total, rowsKept: s.kept, nodeMs: round(node.totalMs ?? 0), shareOfQuery: round(node.totalShare ?? 0) } : { estimatedRows: node.estRows }) as Finding['evidence'],
    fix: { text: `Rewrite the condition: ${rewrite}`, sql: advice ? [advice.sql] : [] },
    rewrite: { from: m[0], to: rewrite },
    ...(advice ? { advice } : {}),
    impactMs: node.totalMs,
  };
};

/** a = … OR b = …: no single index serves both; one index per column lets a BitmapOr combine them. */
export const orAcrossColumns: Detector = (plan, node, catalog) => {
  if (!/Seq Scan$/.test(node.type) || typeof node.raw.Filter !== 'string' || !node.relation) return;
  const parts = splitTop(stripParens(node.raw.Filter as string), ' OR ');
  if (parts.length < 2) return;
  const cols: string[] = [];
  for (const p of parts) {
    const m = /^\(?\(?([\w."]+)\)?\s*=\s*.+\)?$/.exec(stripParens(p));
    if (!m) return;
    cols.push(bare(m[1]!));
  }
  if (new Set(cols).size < 2) return;
  const s = scanned(node);
  if (plan.analyzed && (s.total < 1000 || s.kept > 0.1 * s.total)) return;
  const missing = [...new Set(cols)].filter((c) => !hasIndexOn(catalog, node.schema, node.relation!, c));
  if (missing.length === 0) return;
  const advices = missing.map((c) => makeAdvice({ schema: node.schema, table: node.relation!, keys: [{ column: c, role: 'equality' }], serves: `${c} = … (one arm of the OR)`, nodeIds: [node.id], catalog }));
  return {
    kind: 'or-across-columns',
    severity: severityOf(plan, node),
    nodeId: node.id,
    node: node.label,
    title: `OR across ${[...new Set(cols)].join(', ')} forces a full scan of ${node.relation}`,
    explanation: `No single index serves "${cols.join(' = … OR ')} = …". With one index per column the planner combines them (BitmapOr); or write the query as a UNION of one query per column.`,
    evidence: (plan.analyzed ? { rowsScanned: s.total, rowsKept: s.kept, nodeMs: round(node.totalMs ?? 0), shareOfQuery: round(node.totalShare ?? 0) } : { estimatedRows: node.estRows }) as Finding['evidence'],
    fix: { text: `One index per column of the OR (${missing.join(', ')}), so a BitmapOr replaces the scan.`, sql: advices.map((a) => a.sql) },
    advice: advices[0],
    extraAdvice: advices.slice(1),
    impactMs: node.totalMs,
  };
};

/** NOT IN (subquery) that did not fit work_mem: a SubPlan re-run for each outer row. */
export const notInSubplan: Detector = (plan, node) => {
  const f = String(node.raw.Filter ?? '');
  if (!/NOT \(/.test(f) || !/SubPlan \d+/.test(f) || /hashed SubPlan/.test(f)) return;
  const sub = node.children.find((c) => c.parentRelationship === 'SubPlan');
  if (!sub) return;
  if (plan.analyzed && sub.loops < 100) return;
  return {
    kind: 'not-in-subplan',
    severity: plan.analyzed ? severityOf(plan, node) : 'medium',
    nodeId: node.id,
    node: node.label,
    title: `NOT IN (subquery) runs its subquery ${plan.analyzed ? `${fmtInt(sub.loops)} times` : 'once per row'} (not hashed)`,
    explanation:
      'The subquery result did not fit in work_mem, so PostgreSQL cannot hash it and re-scans it for every outer row. ' +
      'NOT EXISTS is planned as an anti-join (hashed or merged). Note: NOT IN returns no rows at all when the subquery yields a NULL; NOT EXISTS ignores NULLs — they agree when the subquery column is NOT NULL.',
    evidence: (plan.analyzed ? { subplanLoops: sub.loops, subplanMs: round(sub.totalMs ?? 0), shareOfQuery: round(node.totalShare ?? 0) } : { estimatedRows: node.estRows }) as Finding['evidence'],
    fix: { text: 'Rewrite NOT IN (SELECT col FROM t …) as NOT EXISTS (SELECT 1 FROM t WHERE t.col = outer.col …).', sql: [] },
    rewrite: { from: 'NOT IN (subquery)', to: 'NOT EXISTS (correlated subquery)' },
    impactMs: node.totalMs,
  };
};

/** OFFSET N reads and throws away N rows for every page. */
export const deepOffset: Detector = (plan, node, _catalog, opts) => {
  if (node.type !== 'Limit' || !opts.sql) return;
  const m = /\bOFFSET\s+(\d+)/i.exec(opts.sql);
  if (!m || Number(m[1]) < 1000) return;
  const offset = Number(m[1]);
  const child = node.children[0];
  const read = child?.totalRows ?? child?.estRows ?? 0;
  if (plan.analyzed && read < offset) return;
  const order = /\bORDER\s+BY\s+([\w.", ]+?)(?:\s+(?:ASC|DESC))?\s+(?:LIMIT|OFFSET)/i.exec(opts.sql)?.[1]?.trim() ?? 'the ORDER BY columns';
  return {
    kind: 'deep-offset',
    severity: severityOf(plan, node),
    nodeId: node.id,
    node: node.label,
    title: `OFFSET ${fmtInt(offset)} reads and discards ${fmtInt(offset)} rows to return ${fmtInt(node.totalRows ?? node.estRows)}`,
    explanation: `Every page with OFFSET reads all the rows before it, so page N costs N times page 1. Keyset pagination remembers the last row's ${order} and asks for what comes after it; with an index on ${order} every page costs the same.`,
    evidence: (plan.analyzed ? { offset, rowsRead: read, nodeMs: round(node.totalMs ?? 0), shareOfQuery: round(node.totalShare ?? 0) } : { offset }) as Finding['evidence'],
    fix: { text: `Keyset pagination: WHERE ${order} > :last_seen ORDER BY ${order} LIMIT n (needs the previous page's last ${order}).`, sql: [] },
    rewrite: { from: `OFFSET ${offset}`, to: `WHERE ${order} > :last_seen` },
    impactMs: node.totalMs,
  };
};

/** Hash Join whose probe side reads a whole table to match a handful of hashed rows: its join column has no index. */
export const hashJoinUnindexedProbe: Detector = (plan, node, catalog) => {
  if (node.type !== 'Hash Join' || !plan.analyzed || node.children.length < 2) return;
  const [probe, hash] = node.children as [PlanNode, PlanNode];
  const scan = /Seq Scan$/.test(probe.type) ? probe : probe.type === 'Gather' && probe.children[0] && /Seq Scan$/.test(probe.children[0].type) ? probe.children[0] : undefined;
  if (!scan?.relation) return;
  const hashed = hash.totalRows ?? 0;
  const probed = scanned(scan).total || (scan.totalRows ?? 0);
  if (probed < 10_000 || hashed > 1000 || (node.totalRows ?? 0) > 0.05 * probed) return;
  const cond = String(node.raw['Hash Cond'] ?? '');
  const alias = scan.alias ?? scan.relation;
  const m = new RegExp(`\\(?"?${alias}"?\\.("?[\\w]+"?)\\s*=|=\\s*"?${alias}"?\\.("?[\\w]+"?)\\)`).exec(cond);
  if (!m) return;
  const column = bare(m[1] ?? m[2]!);
  if (hasIndexOn(catalog, scan.schema, scan.relation, column)) return;
  const fk = catalog.foreignKeys?.find((k) => k.table === scan.relation && k.columns[0] === column);
  const advice = makeAdvice({ schema: scan.schema, table: scan.relation, keys: [{ column, role: 'equality' }], serves: `the join on ${column}`, nodeIds: [scan.id], catalog });
  return {
    kind: 'hash-join-unindexed-probe',
    severity: severityOf(plan, node),
    nodeId: scan.id,
    node: scan.label,
    title: `Join reads all ${fmtInt(probed)} rows of ${scan.relation} to match ${fmtInt(hashed)} row(s): ${scan.relation}.${column} has no index`,
    explanation: `The join looks up ${scan.relation} by ${column}${fk ? ` (a foreign key)` : ''}, but without an index on it the only way is to read the whole table and probe a hash of the ${fmtInt(hashed)} row(s) on the other side. With an index the planner loops over those rows and fetches only the matches.`,
    evidence: { rowsScanned: probed, hashedRows: hashed, joinRows: node.totalRows ?? 0, nodeMs: round(node.totalMs ?? 0), shareOfQuery: round(node.totalShare ?? 0) },
    fix: { text: `Index ${scan.relation}.${column} (foreign keys are not indexed automatically).`, sql: [advice.sql] },
    advice,
    impactMs: node.totalMs,
  };
};

/** ORDER BY / GROUP BY … LIMIT n answered by sorting (or hashing) the whole input: an index in that order streams the first n. */
export const sortedLimitWithoutIndex: Detector = (plan, node, catalog) => {
  if (node.type !== 'Sort' || !plan.analyzed) return;
  const limit = ancestors(plan, node).find((a) => a.type !== 'Gather Merge');
  if (limit?.type !== 'Limit') return;
  const keys = (node.raw['Sort Key'] as string[] | undefined) ?? [];
  if (keys.length === 0) return;
  let below = node.children[0];
  let group = false;
  if (below && /Aggregate/.test(below.type)) {
    group = true;
    below = below.children[0];
    while (below && (below.type === 'Gather' || /Aggregate/.test(below.type))) below = below.children[0];
  }
  if (!below?.relation || !/Seq Scan$/.test(below.type)) return;
  const input = below.totalRows ?? 0;
  if (input < 10_000) return;
  const cols: Array<{ column: string; direction: 'ASC' | 'DESC' }> = [];
  for (const k of keys) {
    const m = /^\(?([\w."]+)\)?(\s+DESC)?$/.exec(k.trim());
    if (!m) return;
    cols.push({ column: bare(m[1]!), direction: m[2] ? 'DESC' : 'ASC' });
  }
  const table = findTable(catalog, below.schema, below.relation);
  if (!table || cols.some((c) => !table.columns.includes(c.column))) return;
  const advice = makeAdvice({ schema: below.schema, table: below.relation, keys: cols.map((c) => ({ column: c.column, direction: c.direction, role: 'order' as const })), serves: `${group ? 'GROUP BY' : 'ORDER BY'} ${cols.map((c) => c.column + (c.direction === 'DESC' ? ' DESC' : '')).join(', ')} … LIMIT`, nodeIds: [node.id], catalog });
  return {
    kind: 'sorted-limit-without-index',
    severity: severityOf(plan, node),
    nodeId: node.id,
    node: node.label,
    title: `LIMIT ${fmtInt(limit.totalRows ?? 0)} ${group ? 'groups' : 'rows'} after ${group ? 'aggregating and sorting' : 'sorting'} all ${fmtInt(input)} rows of ${below.relation}`,
    explanation: `To return the first rows, PostgreSQL reads and ${group ? 'groups' : 'sorts'} all of ${below.relation}. An index in ${cols.map((c) => c.column).join(', ')} order lets it ${group ? 'aggregate group by group in index order' : 'read rows already in order'} and stop after the LIMIT. More work_mem would not help: the problem is reading everything, not the sort's memory.`,
    evidence: { inputRows: input, limitRows: limit.totalRows ?? 0, nodeMs: round(limit.totalMs ?? 0), shareOfQuery: round(limit.totalShare ?? 0) },
    fix: { text: `An index in the ${group ? 'GROUP BY' : 'ORDER BY'} order streams the first rows.`, sql: advice.existing ? (advice.existing.sql ? [advice.existing.sql] : []) : [advice.sql] },
    advice,
    impactMs: limit.totalMs,
  };
};

/** A node taking most of the time is always named, with what is known, even when no detector has a fix. */
export function dominantNode(plan: Plan, claimed: Set<number>): Finding | undefined {
  if (!plan.analyzed) return;
  const top = [...plan.nodes].sort((a, b) => (b.selfMs ?? 0) - (a.selfMs ?? 0))[0];
  // Only for a query slow enough to be worth a look: on a millisecond query some node always dominates.
  if (!top || (top.selfShare ?? 0) < 0.5 || (plan.executionMs ?? 0) < 50 || (top.selfMs ?? 0) < 25 || claimed.has(top.id)) return;
  return {
    kind: 'dominant-node',
    severity: (top.selfShare ?? 0) >= 0.8 ? 'medium' : 'low',
    nodeId: top.id,
    node: top.label,
    title: `${top.label} takes ${Math.round((top.selfShare ?? 0) * 100)}% of the time`,
    explanation: `No known pattern explains it, but this node is where the time goes: ${fmtInt(top.totalRows ?? 0)} rows over ${fmtInt(top.loops)} loop(s)${top.buffers.hit + top.buffers.read ? `, ${fmtInt(top.buffers.hit + top.buffers.read)} buffers` : ''}. Start there.`,
    evidence: { nodeMs: round(top.selfMs ?? 0), shareOfQuery: round(top.selfShare ?? 0), rows: top.totalRows ?? 0, loops: top.loops },
    fix: { text: 'No automatic fix: look at what this node reads and why it needs all of it.', sql: [] },
    impactMs: top.selfMs,
  };
}

/** Per-partition index advice on one partitioned table becomes one index on the parent. */
export function mergePartitionAdvice(advice: IndexAdvice[], catalog: Catalog): IndexAdvice[] {
  const out: IndexAdvice[] = [];
  const byParent = new Map<string, IndexAdvice[]>();
  for (const a of advice) {
    const parent = findTable(catalog, a.schema, a.table)?.parent;
    if (!parent || a.existing) {
      out.push(a);
      continue;
    }
    const key = `${parent.schema}.${parent.name}|${a.keys.map((k) => `${k.column} ${k.direction}`).join(',')}|${a.where ?? ''}`;
    byParent.set(key, [...(byParent.get(key) ?? []), a]);
  }
  for (const [key, group] of byParent) {
    const [parentName] = key.split('|');
    const [schema, name] = [parentName!.slice(0, parentName!.indexOf('.')), parentName!.slice(parentName!.indexOf('.') + 1)];
    const first = group[0]!;
    const rename = (sql: string) => sql.replace(first.name, `${name}_${first.name.slice(first.table.length + 1)}`.slice(0, 63)).replace(/ ON .*? \(/, ` ON ${qualifiedName(schema, name)} (`);
    const merged: IndexAdvice = {
      ...first,
      schema,
      table: name,
      name: `${name}_${first.name.slice(first.table.length + 1)}`.slice(0, 63),
      // CONCURRENTLY is not supported on a partitioned table: one CREATE INDEX on the parent builds every partition's.
      sql: rename(first.sql).replace('CREATE INDEX CONCURRENTLY', 'CREATE INDEX'),
      buildSql: rename(first.buildSql),
      serves: `${first.serves} on every partition of ${name} (one index on the parent; it also covers partitions added later)`,
      nodeIds: group.flatMap((g) => g.nodeIds),
      partitions: group.map((g) => g.table),
    };
    out.push(merged);
  }
  return out;
}
