/** Where opsctl connects, and how failures read — without a server. */
import { describe, expect, it } from 'vitest';
import { redactUrl, resolveConnection, translatePgError } from '../../src/lib/postgres.js';
import { lookupService, parseConninfo, parseUri, pgpassLookup, serviceSection } from '../../src/lib/pg-conninfo.js';

describe('resolveConnection', () => {
  it('a URL wins over DATABASE_URL and the PG* variables, with sslmode understood', async () => {
    const spec = resolveConnection('postgres://app:s3cr%40t@db.internal:6432/shop?sslmode=require', { DATABASE_URL: 'postgres://other/x', PGHOST: 'nope' });
    expect(spec).toMatchObject({ host: 'db.internal', port: 6432, user: 'app', database: 'shop', display: 'app@db.internal:6432/shop', source: '--db', passwordFrom: 'connection string' });
    expect(spec.config).toMatchObject({ ssl: { rejectUnauthorized: false }, application_name: 'opsctl' });
    expect(await (spec.config.password as () => Promise<string>)()).toBe('s3cr@t');
    expect(resolveConnection('postgres://h/d?sslmode=disable', {}).config.ssl).toBe(false);
    expect(resolveConnection('postgresql://h/d?sslmode=verify-full', {}).config.ssl).toEqual({ rejectUnauthorized: true });
    // prefer is the default: TLS first (connectPg falls back to plain).
    expect(resolveConnection('postgresql://h/d', {})).toMatchObject({ sslmode: 'prefer', config: { ssl: { rejectUnauthorized: false } } });
  });
  it('falls back to DATABASE_URL, then to PG* variables', () => {
    expect(resolveConnection(undefined, { DATABASE_URL: 'postgres://u@h:5/d' })).toMatchObject({ source: 'DATABASE_URL', display: 'u@h:5/d' });
    const pg = resolveConnection(undefined, { PGHOST: 'h', PGPORT: '7', PGUSER: 'u', PGPASSWORD: 'pw', PGDATABASE: 'd', PGSSLMODE: 'require' });
    expect(pg).toMatchObject({ source: 'PG* variables', display: 'u@h:7/d' });
    expect(pg).toMatchObject({ passwordFrom: 'PGPASSWORD', config: { ssl: { rejectUnauthorized: false } } });
    // No host: the Unix socket, and never TLS over it.
    expect(resolveConnection(undefined, { PGUSER: 'u' }, '--db', { socketDirs: ['/nonexistent/a', '/nonexistent/b'] })).toMatchObject({ host: '/nonexistent/a', socket: true, port: 5432, database: 'u', config: { ssl: false } });
  });
  it('rejects what is not a postgres URL without echoing its password', () => {
    expect(() => resolveConnection('mysql://root:hunter2@h/d', {})).toThrow(/must be a postgres:\/\/ .*mysql:\/\/root:\*\*\*@h\/d/);
    expect(redactUrl('postgres://u:p@ss@h/d')).toBe('postgres://u:***@h/d');
  });
});

describe('conninfo as libpq reads it', () => {
  it('keyword/value strings with quotes and escapes; a bare word is a database name', () => {
    expect(parseConninfo(`host=db port = 6000 dbname='my app' password='it\\'s' user=a\\ b`, 'x')).toEqual({ host: 'db', port: '6000', dbname: 'my app', password: "it's", user: 'a b' });
    expect(parseConninfo('shop', 'x')).toEqual({ dbname: 'shop' });
    expect(() => parseConninfo('host=db bogus=1', '--db')).toThrow(/invalid connection option "bogus"/);
    expect(() => parseConninfo("host='db", '--db')).toThrow(/unterminated quoted string/);
  });
  it('URIs: socket directories percent-encoded, IPv6, host lists, every keyword as a parameter', () => {
    expect(parseUri('postgresql://%2Fvar%2Frun%2Fpostgresql/app', 'x')).toEqual({ host: '/var/run/postgresql', dbname: 'app' });
    expect(parseUri('postgres://u:p%40ss@[::1]:6432/d?application_name=x&ssl=true', 'x')).toEqual({ user: 'u', password: 'p@ss', host: '::1', port: '6432', dbname: 'd', application_name: 'x', sslmode: 'require' });
    expect(parseUri('postgresql:///app?host=/tmp&port=5433', 'x')).toEqual({ dbname: 'app', host: '/tmp', port: '5433' });
    expect(parseUri('postgresql://a:1,b:2/d', 'x')).toMatchObject({ host: 'a,b', port: '1,2' });
    const spec = resolveConnection('postgresql://a:1,b:2/d', {});
    expect(spec).toMatchObject({ host: 'a', port: 1 });
  });
  it('service file sections: first file with the section wins, nested services refused', () => {
    const text = '[a]\nhost=x\n# c\n[b]\n port = 7 \n';
    expect(serviceSection(text, 'b', 'f')).toEqual({ port: '7' });
    expect(serviceSection(text, 'c', 'f')).toBeUndefined();
    expect(() => serviceSection('[a]\nservice=b\n', 'a', 'f')).toThrow(/Nested service/);
    const fs = { read: (f: string) => (f === '/u' ? '[a]\nhost=user\n' : '[a]\nhost=sys\n[b]\nhost=sysb\n'), stat: () => undefined };
    expect(lookupService('a', ['/u', '/s'], fs)).toEqual({ params: { host: 'user' }, file: '/u' });
    expect(lookupService('b', ['/u', '/s'], fs)).toEqual({ params: { host: 'sysb' }, file: '/s' });
  });
  it('password file: wildcards, \\: and \\\\ escapes, first match, localhost for the default socket', () => {
    const lines = 'h:5432:d:u:first\n*:*:*:u:p\\:w\\\\d\n';
    const fs = { read: () => lines, stat: () => ({ mode: 0o600, regular: true }) };
    expect(pgpassLookup('/f', { host: 'h', port: '5432', dbname: 'd', user: 'u' }, fs).password).toBe('first');
    expect(pgpassLookup('/f', { host: 'other', port: '1', dbname: 'x', user: 'u' }, fs).password).toBe('p:w\\d');
    expect(pgpassLookup('/f', { host: 'h', port: '1', dbname: 'x', user: 'v' }, fs).password).toBeUndefined();
    const viaSocket = resolveConnection(undefined, { PGUSER: 'u', PGDATABASE: 'd', PGPASSFILE: '/f' }, '--db', { socketDirs: ['/var/run/postgresql'], files: { read: () => 'localhost:5432:d:u:sock\n', stat: () => ({ mode: 0o600, regular: true }) } });
    expect(viaSocket.passwordFrom).toBe('password file');
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
