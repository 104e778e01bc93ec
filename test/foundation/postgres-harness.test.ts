import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

describe('test harness: real PostgreSQL', () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.stop();
  });
  it('starts a real server on a free port and creates databases', async () => {
    const { rows } = await pg.query('select version() as v');
    expect(rows[0].v).toMatch(/PostgreSQL \d+/);
    const url = await pg.createDatabase('harness_check');
    expect(url).toContain(`:${pg.port}/harness_check`);
  });
});
