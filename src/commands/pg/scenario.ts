/**
 * The write-up's slow LIMIT 1 ("Slow Query with LIMIT 1 in Postgresql"): an
 * activity log with an index on created_at only, and one player whose rows
 * are all among the oldest. `WHERE player_id = 42 ORDER BY created_at DESC
 * LIMIT 1` then walks the created_at index backwards through almost the whole
 * table. Used by `pg demo`, the benchmark and the tests.
 */
export const SCENARIO_PLAYER = 42;
export const SCENARIO_QUERY = `SELECT * FROM activity_logs WHERE player_id = ${SCENARIO_PLAYER} ORDER BY created_at DESC LIMIT 1`;

type Query = (sql: string, params?: unknown[]) => Promise<unknown>;

export async function buildScenario(query: Query, rows: number, onProgress?: (loaded: number, total: number) => void, signal?: AbortSignal): Promise<void> {
  await query('DROP TABLE IF EXISTS activity_logs');
  await query(`CREATE TABLE activity_logs (
    id bigint NOT NULL,
    player_id integer NOT NULL,
    action text NOT NULL,
    created_at timestamptz NOT NULL
  )`);
  const chunk = 100_000;
  const playerRows = Math.max(10, Math.min(100, Math.floor(rows / 1000)));
  for (let start = 1; start <= rows; start += chunk) {
    if (signal?.aborted) return;
    const end = Math.min(rows, start + chunk - 1);
    // The player's rows come first (the oldest); everyone else is spread over 10,000 players.
    await query(
      `INSERT INTO activity_logs (id, player_id, action, created_at)
       SELECT i,
              CASE WHEN i <= $3 THEN ${SCENARIO_PLAYER} ELSE 1 + ((i * 7919) % 10000) + CASE WHEN 1 + ((i * 7919) % 10000) >= ${SCENARIO_PLAYER} THEN 1 ELSE 0 END END,
              (ARRAY['login','logout','purchase','level_up','chat'])[1 + i % 5],
              timestamptz '2020-01-01 00:00:00+00' + i * interval '1 second'
         FROM generate_series($1::bigint, $2::bigint) AS i`,
      [start, end, playerRows],
    );
    onProgress?.(end, rows);
  }
  await query('ALTER TABLE activity_logs ADD PRIMARY KEY (id)');
  await query('CREATE INDEX activity_logs_created_at_idx ON activity_logs (created_at)');
  await query('VACUUM ANALYZE activity_logs');
}
