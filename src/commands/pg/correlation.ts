/**
 * CREATE STATISTICS only on the columns that actually correlate. For the
 * filter columns of a misestimated scan, a sample of the table gives the
 * distinct count of each column and of each pair: a pair whose combined
 * distinct count is far below the product of its columns' (and of the sample
 * size) depends on each other, and extended statistics help only there.
 */
import type { Finding } from './analysis/finding.js';
import { quoteIdent } from './analysis/predicates.js';
import { OWN, type PgSession } from './session.js';

const q = (id: string) => `"${id.replace(/"/g, '""')}"`;

export async function correlatedColumns(session: PgSession, schema: string | undefined, table: string, columns: string[]): Promise<string[]> {
  const rel = schema ? `${q(schema)}.${q(table)}` : q(table);
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < columns.length; i++) for (let j = i + 1; j < columns.length; j++) pairs.push([columns[i]!, columns[j]!]);
  const select = [
    'count(*) AS n',
    ...columns.map((c, i) => `count(DISTINCT ${q(c)}) AS c${i}`),
    ...pairs.map(([a, b], k) => `count(DISTINCT (${q(a)}, ${q(b)})) AS p${k}`),
  ].join(', ');
  // A bounded sample: a few thousand rows say whether two columns move together.
  const { rows } = await session.query<Record<string, string>>(`SELECT ${OWN} ${select} FROM (SELECT * FROM ${rel} TABLESAMPLE SYSTEM (5) LIMIT 30000) s`);
  const r = rows[0]!;
  const n = Number(r.n);
  const picked = new Set<string>();
  pairs.forEach(([a, b], k) => {
    const na = Number(r[`c${columns.indexOf(a)}`]);
    const nb = Number(r[`c${columns.indexOf(b)}`]);
    const expected = Math.min(n, na * nb);
    if (expected > 1 && Number(r[`p${k}`]) < 0.5 * expected) picked.add(a).add(b);
  });
  return columns.filter((c) => picked.has(c));
}

/** Narrow each CREATE STATISTICS proposal to the correlated columns, or drop it when none correlate. */
export async function refineStatistics(session: PgSession, findings: Finding[]): Promise<void> {
  for (const f of findings) {
    if (f.kind !== 'row-misestimate') continue;
    const m = /^CREATE STATISTICS \S+ \(dependencies, ndistinct, mcv\) ON (.+) FROM (.+);$/.exec(f.fix.sql[0] ?? '');
    if (!m) continue;
    const columns = m[1]!.split(', ').map((c) => c.replace(/^"|"$/g, '').replace(/""/g, '"'));
    const [schema, table] = m[2]!.includes('.') ? m[2]!.split('.').map((x) => x.replace(/^"|"$/g, '')) : [undefined, m[2]!.replace(/^"|"$/g, '')];
    const correlated = await correlatedColumns(session, schema, table!, columns);
    if (correlated.length === columns.length) continue;
    if (correlated.length < 2) {
      f.fix = { text: `${columns.join(', ')} are independent in the data (a sample's distinct counts multiply), so extended statistics would not help; the estimate goes wrong elsewhere (an expression, a skewed value: raise the statistics target).`, sql: [] };
      continue;
    }
    const name = `${table}_${correlated.join('_')}_stats`.slice(0, 63);
    f.fix = {
      text: `The planner treats ${correlated.join(' and ')} as independent; they are correlated (checked on a sample; ${columns.filter((c) => !correlated.includes(c)).join(', ')} is not), so extended statistics on them fix the estimate.`,
      sql: [`CREATE STATISTICS ${quoteIdent(name)} (dependencies, ndistinct, mcv) ON ${correlated.map(quoteIdent).join(', ')} FROM ${m[2]};`, f.fix.sql[1]!],
    };
  }
}
