/**
 * The classic slow-query patterns, each a table of ≥ 200,000 rows built once
 * with CREATE TABLE … AS SELECT generate_series, with the query that shows it,
 * the finding an expert names, the advice an expert gives and how it is
 * proven; plus already-fast controls that must get no advice. Shared by
 * test/pg/patterns.test.ts and bench/pg.ts (npm run bench:pg).
 */
export interface Scenario {
  name: string;
  query: string;
  /** The finding kind that names the cause. */
  kind: string | null;
  /** Every advised index's SQL must match one of these, in order (empty: no index advice). */
  advice: RegExp[];
  /** The rewrite opsctl must verify (same rows, faster). */
  rewrite?: RegExp;
  /** Extra pg explain flags (e.g. --set work_mem=64kB). */
  flags?: string[];
  /** How the fix is proven: an index used by the new plan and faster, a rewrite, or nothing to prove (controls). */
  proof: 'index' | 'rewrite' | 'statistics' | 'setting' | 'none';
  /** For proof 'statistics': the finding's CREATE STATISTICS. */
  statistics?: RegExp;
}

export const ROWS = 200_000;

/** One round trip per statement; tables built with CTAS (fast), then indexed and analyzed. */
export function setupSql(rows = ROWS): string[] {
  const r = rows;
  return [
    // LIKE 'abc%' under a non-C collation, with a default-opclass index that cannot serve it.
    `CREATE TABLE people AS SELECT i AS id, (md5(i::text) COLLATE "und-x-icu") AS name FROM generate_series(1, ${r}) i`,
    `CREATE INDEX people_name_idx ON people (name)`,
    // A join whose probe side reads an unindexed foreign key.
    `CREATE TABLE customers AS SELECT i AS id, 'c' || i || '@example.com' AS email FROM generate_series(1, ${r}) i`,
    `ALTER TABLE customers ADD PRIMARY KEY (id)`,
    `CREATE UNIQUE INDEX customers_email_idx ON customers (email)`,
    `CREATE TABLE orders AS SELECT i AS id, 1 + (i * 7) % ${r} AS customer_id, (i % 1000)::numeric AS total FROM generate_series(1, ${r}) i`,
    `ALTER TABLE orders ADD PRIMARY KEY (id), ADD FOREIGN KEY (customer_id) REFERENCES customers (id)`,
    // a = … OR b = …
    `CREATE TABLE contacts AS SELECT i AS id, i % 50000 AS a, (i * 13) % 50000 AS b, md5(i::text) AS note FROM generate_series(1, ${r}) i`,
    // Deep OFFSET.
    `CREATE TABLE posts AS SELECT i AS id, md5(i::text) AS title FROM generate_series(1, ${r}) i`,
    `ALTER TABLE posts ADD PRIMARY KEY (id)`,
    // NOT IN (subquery) that does not fit work_mem.
    `CREATE TABLE authors AS SELECT i AS id, 'a' || i AS name FROM generate_series(1, 2000) i`,
    `CREATE TABLE books AS SELECT i AS id, 1 + i % 1990 AS author_id FROM generate_series(1, ${r}) i`,
    `ALTER TABLE books ALTER author_id SET NOT NULL`,
    // Casts on the column.
    `CREATE TABLE visits AS SELECT i AS id, timestamp '2024-01-01' + i * interval '1 minute' AS created_at FROM generate_series(1, ${r}) i`,
    `CREATE INDEX visits_created_at_idx ON visits (created_at)`,
    `CREATE TABLE ledger AS SELECT i::bigint AS id, (i % 100)::int AS kind FROM generate_series(1, ${r}) i`,
    `ALTER TABLE ledger ADD PRIMARY KEY (id)`,
    // GROUP BY / ORDER BY + LIMIT.
    `CREATE TABLE metrics AS SELECT i AS id, i % 20000 AS k, timestamp '2024-01-01' + i * interval '1 second' AS ts, random() AS v FROM generate_series(1, ${r}) i`,
    // Correlated columns.
    `CREATE TABLE cities AS SELECT i AS id, i % 100 AS zip, i % 100 AS city, (i * 7) % 13 AS kind FROM generate_series(1, ${r}) i`,
    // Partitioned table.
    `CREATE TABLE measurements (id int, device_id int, reading float8) PARTITION BY RANGE (id)`,
    ...Array.from({ length: 10 }, (_, p) => `CREATE TABLE measurements_p${p} PARTITION OF measurements FOR VALUES FROM (${(p * r) / 10 + 1}) TO (${((p + 1) * r) / 10 + 1})`),
    `INSERT INTO measurements SELECT i, i % 5000, random() FROM generate_series(1, ${r}) i`,
    // The classic: a selective filter on an unindexed column.
    `CREATE TABLE accounts AS SELECT i AS id, 'u' || i || '@example.com' AS email, i % 7 AS plan FROM generate_series(1, ${r}) i`,
    `ALTER TABLE accounts ADD PRIMARY KEY (id)`,
    // An index that finds rows a Filter then discards.
    `CREATE TABLE tickets AS SELECT i AS id, i % 10 AS status, i % 20000 AS assignee FROM generate_series(1, ${r}) i`,
    `CREATE INDEX tickets_status_idx ON tickets (status)`,
    // Lossy bitmaps: wide rows, so the bitmap of a broad range outgrows a small work_mem.
    `CREATE TABLE wide AS SELECT i AS id, i % 100 AS g, repeat('x', 200) AS pad FROM generate_series(1, ${r}) i`,
    `CREATE INDEX wide_g_idx ON wide (g)`,
    'VACUUM ANALYZE',
  ];
}

export const SCENARIOS: Scenario[] = [
  { name: 'LIKE prefix, non-C collation', query: "SELECT * FROM people WHERE name LIKE 'abcd%'", kind: 'like-prefix-collation', advice: [/\(name text_pattern_ops\)/], proof: 'index' },
  { name: 'unindexed FK join probe', query: "SELECT o.* FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.email = 'c4242@example.com'", kind: 'hash-join-unindexed-probe', advice: [/ON (public\.)?orders \(customer_id\);$/], proof: 'index' },
  { name: 'a = … OR b = …', query: 'SELECT * FROM contacts WHERE a = 4242 OR b = 777', kind: 'or-across-columns', advice: [/ON (public\.)?contacts \(a\);$/, /ON (public\.)?contacts \(b\);$/], proof: 'index' },
  { name: 'deep OFFSET', query: 'SELECT * FROM posts ORDER BY id LIMIT 20 OFFSET 150000', kind: 'deep-offset', advice: [], rewrite: /WHERE id > 150000 ORDER BY id LIMIT 20/, proof: 'rewrite' },
  { name: 'NOT IN (subquery), unhashed', query: 'SELECT count(*) FROM authors a WHERE a.id NOT IN (SELECT author_id FROM books)', kind: 'not-in-subplan', advice: [], rewrite: /NOT EXISTS \(SELECT 1 FROM books opsctl_sub WHERE opsctl_sub\.author_id = a\.id\)/, flags: ['--set', 'work_mem=64kB'], proof: 'rewrite' },
  { name: 'cast on column (::date)', query: "SELECT * FROM visits WHERE created_at::date = '2024-03-01'", kind: 'cast-on-column', advice: [], rewrite: /created_at >= DATE '2024-03-01' AND created_at < DATE '2024-03-01' \+ 1/, proof: 'rewrite' },
  { name: 'bigint vs numeric literal', query: 'SELECT * FROM ledger WHERE id = 4242.0', kind: 'cast-on-column', advice: [], rewrite: /WHERE id = 4242$/, proof: 'rewrite' },
  { name: 'GROUP BY … ORDER BY … LIMIT', query: 'SELECT k, count(*) FROM metrics GROUP BY k ORDER BY k LIMIT 10', kind: 'sorted-limit-without-index', advice: [/ON (public\.)?metrics \(k\);$/], proof: 'index' },
  { name: 'ORDER BY … LIMIT (top-N sort)', query: 'SELECT * FROM metrics ORDER BY ts DESC LIMIT 10', kind: 'sorted-limit-without-index', advice: [/ON (public\.)?metrics \(ts DESC\);$/], proof: 'index' },
  { name: 'correlated columns', query: 'SELECT * FROM cities WHERE zip = 42 AND city = 42', kind: 'row-misestimate', advice: [/ON (public\.)?cities \((zip, city|city, zip)\);$/], statistics: /^CREATE STATISTICS \S+ \(dependencies, ndistinct, mcv\) ON zip, city FROM (public\.)?cities;$/, proof: 'statistics' },
  { name: 'partitioned table', query: 'SELECT * FROM measurements WHERE device_id = 42', kind: 'seq-scan-selective-filter', advice: [/^CREATE INDEX measurements_device_id_idx ON (public\.)?measurements \(device_id\);$/], proof: 'index' },
  { name: 'selective filter, no index', query: "SELECT * FROM accounts WHERE email = 'u4242@example.com'", kind: 'seq-scan-selective-filter', advice: [/ON (public\.)?accounts \(email\);$/], proof: 'index' },
  { name: 'index + discarding Filter', query: 'SELECT * FROM tickets WHERE status = 3 AND assignee = 4243', kind: 'index-filter-leftover', advice: [/ON (public\.)?tickets \((status, assignee|assignee, status)\);$/], proof: 'index' },
  { name: 'sort spill (work_mem)', query: 'SELECT * FROM contacts ORDER BY note', kind: 'sort-spill', advice: [], flags: ['--set', 'work_mem=64kB'], proof: 'setting' },
  { name: 'hash aggregate spill', query: 'SELECT note, count(*) FROM contacts GROUP BY note', kind: 'hashagg-spill', advice: [], flags: ['--set', 'work_mem=64kB', '--set', 'enable_sort=off'], proof: 'setting' },
  { name: 'lossy bitmap', query: 'SELECT count(*) FROM wide WHERE g < 50', kind: 'lossy-bitmap', advice: [], flags: ['--set', 'work_mem=64kB', '--set', 'enable_seqscan=off', '--set', 'enable_indexscan=off', '--set', 'enable_indexonlyscan=off'], proof: 'setting' },
];

/** Already fast: no finding worth advice, and no index proposed. */
export const CONTROLS: Scenario[] = [
  { name: 'primary-key lookup', query: 'SELECT * FROM accounts WHERE id = 4242', kind: null, advice: [], proof: 'none' },
  { name: 'indexed range, few rows', query: "SELECT * FROM visits WHERE created_at >= '2024-03-01' AND created_at < '2024-03-01 01:00'", kind: null, advice: [], proof: 'none' },
  { name: 'keyset page', query: 'SELECT * FROM posts WHERE id > 150000 ORDER BY id LIMIT 20', kind: null, advice: [], proof: 'none' },
  { name: 'indexed join', query: "SELECT c.* FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = 42", kind: null, advice: [], proof: 'none' },
];
