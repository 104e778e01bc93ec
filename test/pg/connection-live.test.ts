/**
 * libpq's connection conventions against real servers (Debian's PostgreSQL 15
 * and the embedded 18), each listening on a Unix socket and on TCP: a password
 * file, a service file, keyword/value strings, the socket default and sslmode
 * prefer (TLS when the server has it, plain when it does not).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPg, resolveConnection, type ConnectionSpec } from '../../src/lib/postgres.js';
import { startDebianPostgres, PG15_BIN, type DebianPostgres } from '../support/pg-debian.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

interface Server {
  port: number;
  socketDir: string;
  password: string;
  stop(): Promise<void>;
}

const PASSWORD = 'pa:ss\\word';
const haveDebian = existsSync(`${PG15_BIN}/initdb`);
const dir = mkdtempSync(path.join(os.tmpdir(), 'opsctl-pgconn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Who we are connected as, where, and whether over TLS. */
async function whoami(spec: ConnectionSpec) {
  const c = await connectPg(spec);
  try {
    const { rows } = await c.query(
      `SELECT current_user AS "user", current_database() AS db, inet_server_port() AS port, current_setting('application_name') AS app,
              (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl`,
    );
    return rows[0] as { user: string; db: string; port: number | null; app: string; ssl: boolean };
  } finally {
    await c.end();
  }
}

function file(name: string, text: string, mode = 0o600): string {
  const f = path.join(dir, name);
  writeFileSync(f, text, { mode });
  return f;
}

const servers: Array<[string, () => Promise<Server>, boolean]> = [
  ['Debian PostgreSQL 15 (SSL on)', async () => {
    const s: DebianPostgres = await startDebianPostgres({ password: PASSWORD, ssl: true });
    return { port: s.port, socketDir: s.socketDir, password: PASSWORD, stop: () => s.stop() };
  }, haveDebian],
  ['embedded PostgreSQL 18 (no SSL)', async () => {
    const s: TestPostgres = await startPostgres();
    return { port: s.port, socketDir: s.socketDir, password: s.password, stop: () => s.stop() };
  }, true],
];

describe.each(servers)('%s', (name, start, available) => {
  const ssl = name.includes('SSL on');
  let server: Server;
  let pgpass: string;
  const esc = (s: string) => s.replace(/[\\:]/g, (c) => `\\${c}`);
  beforeAll(async () => {
    if (!available) return;
    server = await start();
    // Wildcards, escapes, a non-matching line first: libpq takes the first match.
    pgpass = file(`pgpass-${server.port}`, [
      '# comment line',
      `127.0.0.1:${server.port}:nosuchdb:postgres:wrong`,
      `127.0.0.1:${server.port}:*:postgres:${esc(server.password)}`,
      `${esc(server.socketDir)}:*:*:*:${esc(server.password)}`,
      '',
    ].join('\n'));
  }, 120_000);
  afterAll(async () => server?.stop());

  it.skipIf(!available)('keyword/value string over TCP, password from the password file (0600), sslmode prefer', async () => {
    const spec = resolveConnection(`host=127.0.0.1 port=${server.port} user=postgres dbname=postgres`, { PGPASSFILE: pgpass }, '--db');
    expect(spec).toMatchObject({ sslmode: 'prefer', passwordFrom: 'password file', socket: false, warnings: [] });
    const me = await whoami(spec);
    expect(me).toMatchObject({ user: 'postgres', db: 'postgres', port: server.port, app: 'opsctl' });
    // prefer: encrypted where the server offers TLS, plain where it does not.
    expect(me.ssl).toBe(ssl);
  });

  it.skipIf(!available)('a password file readable by others is ignored with libpq\'s warning, and the server then refuses', async () => {
    const open = file(`pgpass-open-${server.port}`, `*:*:*:*:${esc(server.password)}\n`, 0o644);
    const spec = resolveConnection(`postgresql://postgres@127.0.0.1:${server.port}/postgres`, { PGPASSFILE: open });
    expect(spec.warnings).toEqual([`password file "${open}" has group or world access; permissions should be u=rw (0600) or less`]);
    await expect(connectPg(spec)).rejects.toMatchObject({ code: 'pg-auth-failed', message: expect.stringMatching(/asked for a password for user "postgres" and none was given/) });
  });

  it.skipIf(!available)('Unix socket from PGHOST (a directory), PGPORT, PGUSER, PGAPPNAME', async () => {
    const spec = resolveConnection(undefined, { PGHOST: server.socketDir, PGPORT: String(server.port), PGUSER: 'postgres', PGDATABASE: 'postgres', PGAPPNAME: 'mine', PGPASSFILE: pgpass });
    expect(spec).toMatchObject({ socket: true, source: 'PG* variables', passwordFrom: 'password file' });
    const me = await whoami(spec);
    // Over a socket there is no server address or port, and never TLS.
    expect(me).toMatchObject({ port: null, app: 'mine' });
    expect(me.ssl).toBe(false);
  });

  it.skipIf(!available)('no host at all: the first socket directory that has the server socket', async () => {
    const spec = resolveConnection(undefined, { PGPORT: String(server.port), PGUSER: 'postgres', PGPASSWORD: server.password }, '--db', { socketDirs: [path.join(dir, 'none'), server.socketDir] });
    expect(spec.host).toBe(server.socketDir);
    expect((await whoami(spec)).port).toBeNull();
  });

  it.skipIf(!available)('PGSERVICE from PGSERVICEFILE; the connection string overrides the service; PGPASSWORD beats the file', async () => {
    const services = file(`services-${server.port}`, `# services\n[other]\nhost=nowhere.invalid\n\n[app]\nhost = 127.0.0.1\nport=${server.port}\nuser=postgres\ndbname=nosuchdb\nsslmode=disable\n`);
    const env = { PGSERVICE: 'app', PGSERVICEFILE: services, PGPASSWORD: server.password, PGDATABASE: 'ignored-by-service' };
    const spec = resolveConnection('dbname=postgres', env);
    expect(spec).toMatchObject({ host: '127.0.0.1', database: 'postgres', sslmode: 'disable', passwordFrom: 'PGPASSWORD', service: { name: 'app', file: services } });
    expect(await whoami(spec)).toMatchObject({ db: 'postgres', ssl: false });
    // The service's dbname beats PGDATABASE, as in libpq.
    await expect(connectPg(resolveConnection(undefined, env))).rejects.toMatchObject({ code: 'pg-unknown-database' });
    expect(() => resolveConnection('service=nope', { PGSERVICEFILE: services, PGSYSCONFDIR: dir })).toThrow(/Definition of service "nope" not found/);
  });

  it.skipIf(!available)('sslmode require: TLS where the server has it, a one-line refusal where it does not', async () => {
    const spec = resolveConnection(`postgres://postgres@127.0.0.1:${server.port}/postgres?sslmode=require`, { PGPASSFILE: pgpass });
    if (ssl) expect((await whoami(spec)).ssl).toBe(true);
    else await expect(connectPg(spec)).rejects.toMatchObject({ code: 'pg-ssl-unsupported' });
  });
});
