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

/**
 * A Devise table as production has it: bcrypt at cost 11 and 12 (and rows
 * hashed with a pepper), :lockable and :confirmable state, a legacy case
 * duplicate, a 129+ character and an IDN email, phone numbers typed by people.
 * `bcrypt` hashes are computed once and shared: cost 12 takes ~0.3 s in JS.
 */
export async function createRealisticDevise(pg: TestPostgres, db: string): Promise<{ url: string; pepper: string; password: (id: number) => string }> {
  const url = await pg.createDatabase(db);
  const { default: pgmod } = await import('pg');
  const { default: bcrypt } = await import('bcryptjs');
  const pepper = 'devise-pepper-0123456789';
  const password = (id: number) => `Devise-pw-${id}!`;
  const c = new pgmod.Client({ connectionString: url });
  await c.connect();
  await c.query(`CREATE TABLE users (
    id bigserial PRIMARY KEY, email varchar NOT NULL DEFAULT '', encrypted_password varchar NOT NULL DEFAULT '',
    confirmed_at timestamp, locked_at timestamp, failed_attempts integer NOT NULL DEFAULT 0,
    phone_number varchar, name varchar, created_at timestamp NOT NULL DEFAULT now(), updated_at timestamp NOT NULL DEFAULT now())`);
  await c.query('CREATE INDEX index_users_on_email ON users (email)');
  const rows: Array<[number, string, string, string | null, string | null, string | null, string]> = [
    [1, 'ada@example.com', bcrypt.hashSync(password(1), 11), '2020-01-01', null, '+1 415 555 0100', 'Ada'],
    [2, 'grace@example.com', bcrypt.hashSync(password(2), 12), '2020-01-01', '2024-03-01 12:00', null, 'Grace'],
    [3, 'linus@example.com', bcrypt.hashSync(password(3), 11), null, null, '(020) 7946 0958', 'Linus'],
    [4, 'peppered@example.com', bcrypt.hashSync(password(4) + pepper, 11), '2020-01-01', null, '+44 20 7946 0958', 'Pepper'],
    [5, 'anne@bücher.de', bcrypt.hashSync(password(5), 11), '2020-01-01', null, null, 'Anne'],
    [6, `${'l'.repeat(64)}@${'d'.repeat(60)}.example.com`, bcrypt.hashSync(password(6), 11), '2020-01-01', null, null, 'Long'],
    [7, 'ken@example.com', bcrypt.hashSync(password(7), 12), '2020-01-01', null, 'n/a', 'Ken'],
    [8, 'KEN@example.com', bcrypt.hashSync(password(8), 11), '2020-01-01', null, null, 'Ken twice'],
    [9, 'mia@example.com', bcrypt.hashSync(password(9), 11), '2021-06-01', '2022-01-01', '+49 30 901820', 'Mia'],
  ];
  for (const r of rows) await c.query('INSERT INTO users (id, email, encrypted_password, confirmed_at, locked_at, phone_number, name) VALUES ($1,$2,$3,$4,$5,$6,$7)', r);
  await c.query(`SELECT setval('users_id_seq', 100)`);
  await c.end();
  return { url, pepper, password };
}
