import type { TestPostgres } from './postgres.js';

/**
 * A Devise-shaped `users` table with n rows, some bad on purpose:
 *  id % 50 = 0 → invalid email; id % 97 = 0 → NULL email; id % 71 = 0 → the
 *  previous row's email in upper case (a duplicate). Returns the emails that
 *  must end up in the pool, in source order.
 */
export async function createDeviseUsers(pg: TestPostgres, db: string, n: number, opts: { passwordHash?: (id: number) => string } = {}): Promise<{ url: string; valid: string[] }> {
  const url = await pg.createDatabase(db);
  const { default: pgmod } = await import('pg');
  const c = new pgmod.Client({ connectionString: url });
  await c.connect();
  await c.query(`CREATE TABLE users (
    id bigserial PRIMARY KEY,
    email varchar DEFAULT '' ,
    encrypted_password varchar NOT NULL DEFAULT '',
    reset_password_token varchar,
    confirmed_at timestamp,
    created_at timestamp NOT NULL DEFAULT now(),
    updated_at timestamp NOT NULL DEFAULT now()
  )`);
  await c.query(
    `INSERT INTO users (id, email, encrypted_password, confirmed_at, created_at)
     SELECT g,
       CASE WHEN g % 50 = 0 THEN 'not-an-email-' || g
            WHEN g % 97 = 0 THEN NULL
            WHEN g % 71 = 0 THEN 'USER' || (g - 1) || '@EXAMPLE.COM'
            ELSE 'user' || g || '@example.com' END,
       '$2a$11$K3ZbTq1bR6CKu0m9Vb0m7eU3yWw0Kk8M6q0eYlQnO9jv0J6b1m2Xy',
       CASE WHEN g % 3 = 0 THEN NULL ELSE timestamp '2020-01-01' + g * interval '1 minute' END,
       timestamp '2019-01-01' + g * interval '1 minute'
     FROM generate_series(1, $1::int) g`,
    [n],
  );
  await c.query(`SELECT setval('users_id_seq', $1::int)`, [n]);
  if (opts.passwordHash) {
    for (let id = 1; id <= Math.min(n, 5); id++) await c.query('UPDATE users SET encrypted_password = $1 WHERE id = $2', [opts.passwordHash(id), id]);
  }
  await c.end();
  const valid: string[] = [];
  const seen = new Set<string>();
  for (let g = 1; g <= n; g++) {
    if (g % 50 === 0 || g % 97 === 0) continue;
    const email = g % 71 === 0 ? `user${g - 1}@example.com` : `user${g}@example.com`;
    if (seen.has(email)) continue;
    seen.add(email);
    valid.push(email);
  }
  return { url, valid };
}
