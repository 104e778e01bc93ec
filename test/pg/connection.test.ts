/** Where opsctl connects, and how failures read — without a server. */
import { describe, expect, it } from 'vitest';
import { redactUrl, resolveConnection, translatePgError } from '../../src/lib/postgres.js';

describe('resolveConnection', () => {
  it('a URL wins over DATABASE_URL and the PG* variables, with sslmode understood', () => {
    const spec = resolveConnection('postgres://app:s3cr%40t@db.internal:6432/shop?sslmode=require', { DATABASE_URL: 'postgres://other/x', PGHOST: 'nope' });
    expect(spec).toMatchObject({ host: 'db.internal', port: 6432, user: 'app', database: 'shop', display: 'app@db.internal:6432/shop', source: '--db' });
    expect(spec.config).toMatchObject({ password: 's3cr@t', ssl: { rejectUnauthorized: false }, application_name: 'opsctl' });
    expect(resolveConnection('postgres://h/d?sslmode=disable', {}).config.ssl).toBe(false);
    expect(resolveConnection('postgresql://h/d?sslmode=verify-full', {}).config.ssl).toEqual({ rejectUnauthorized: true });
  });
  it('falls back to DATABASE_URL, then to PG* variables', () => {
    expect(resolveConnection(undefined, { DATABASE_URL: 'postgres://u@h:5/d' })).toMatchObject({ source: 'DATABASE_URL', display: 'u@h:5/d' });
    const pg = resolveConnection(undefined, { PGHOST: 'h', PGPORT: '7', PGUSER: 'u', PGPASSWORD: 'pw', PGDATABASE: 'd', PGSSLMODE: 'require' });
    expect(pg).toMatchObject({ source: 'PG* variables', display: 'u@h:7/d' });
    expect(pg.config).toMatchObject({ password: 'pw', ssl: { rejectUnauthorized: false } });
    expect(resolveConnection(undefined, { PGUSER: 'u' })).toMatchObject({ host: 'localhost', port: 5432, database: 'u' });
  });
  it('rejects what is not a postgres URL without echoing its password', () => {
    expect(() => resolveConnection('mysql://root:hunter2@h/d', {})).toThrow(/must be a postgres:\/\/ .*mysql:\/\/root:\*\*\*@h\/d/);
    expect(redactUrl('postgres://u:p@ss@h/d')).toBe('postgres://u:***@h/d');
  });
});

describe('translatePgError', () => {
  const spec = { host: 'h', port: 5432, user: 'u', database: 'd', source: '--db' };
  it.each([
    [{ code: 'ECONNREFUSED' }, 'pg-connection-refused', 1, /connection refused/],
    [Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })], ''), {}), 'pg-connection-refused', 1, /connection refused/],
    [{ code: '28P01', message: 'password authentication failed for user "u"' }, 'pg-auth-failed', 1, /Password authentication failed/],
    [{ code: '28000', message: 'no pg_hba.conf entry for host "1.2.3.4", user "u", database "d", no encryption' }, 'pg-ssl-required', 1, /requires SSL/],
    [{ code: '3D000', message: 'database "d" does not exist' }, 'pg-unknown-database', 1, /Database "d" does not exist/],
    [{ code: '42601', message: 'syntax error at or near "SELEC"', position: '1' }, 'pg-syntax-error', 2, /Syntax error/],
    [{ code: '57014', message: 'canceling statement due to statement timeout' }, 'pg-timeout', 1, /statement timeout/],
    [{ code: '25006', message: 'cannot execute DELETE in a read-only transaction' }, 'pg-read-only', 2, /READ ONLY/],
    [{ code: '55P03', message: 'canceling statement due to lock timeout' }, 'pg-lock-timeout', 1, /lock_timeout/],
    [new Error('The server does not support SSL connections'), 'pg-ssl-unsupported', 1, /does not accept SSL/],
  ])('%#: %o → %s', (err, code, exitCode, message) => {
    const e = translatePgError(err, spec, 'SELEC 1');
    expect(e).toMatchObject({ code, exitCode });
    expect(e.message).toMatch(message);
    expect(e.message.split('\n')).toHaveLength(1);
  });
});

describe('what pg explain will run, decided before connecting', () => {
  it('drops a pasted EXPLAIN, also after a leading comment', async () => {
    const { planExplain } = await import('../../src/commands/pg/explain.js');
    const base = { params: [], connection: resolveConnection('postgres://h/d', {}), timeoutMs: 1000, lockTimeoutMs: 1000, allowWrites: false, analyze: true };
    const { spec, notes } = planExplain({ ...base, sql: '-- the slow one\n/* from the log */ EXPLAIN (ANALYZE, BUFFERS) SELECT 1' });
    expect(spec).toMatchObject({ sql: 'SELECT 1', kind: 'analyze' });
    expect(notes.join(' ')).toMatch(/leading EXPLAIN was dropped/);
  });
});
