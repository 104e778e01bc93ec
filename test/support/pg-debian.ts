import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';

/** Debian's PostgreSQL 15 (with HypoPG and LLVM JIT), for what the embedded PG 18 cannot show. */
export const PG15_BIN = '/usr/lib/postgresql/15/bin';

export interface DebianPostgres {
  url: string;
  port: number;
  /** unix_socket_directories: connect with host=<this dir>. */
  socketDir: string;
  /** The postgres role's password when started with `password` (scram-sha-256 auth), else trust. */
  password?: string;
  urlFor(database: string): string;
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

function runAsPostgres(args: string[]): { status: number | null; out: string } {
  const asRoot = process.getuid?.() === 0;
  const r = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', ...args], { encoding: 'utf8' }) : spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/**
 * initdb + pg_ctl start on a free port in a temp dir (as the `postgres` OS
 * user when running as root), trust auth on 127.0.0.1, pg_stat_statements
 * preloaded. Stopped with -m immediate and removed.
 */
export async function startDebianPostgres(opts: { settings?: string[]; password?: string; ssl?: boolean } = {}): Promise<DebianPostgres> {
  if (process.getuid?.() === 0 && spawnSync('id', ['postgres']).status !== 0) {
    spawnSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'opsctl-pg15-'));
  await chmod(dir, 0o777);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const auth = opts.password ? ['-A', 'scram-sha-256', `--pwfile=${path.join(dir, 'pw')}`] : ['-A', 'trust'];
  if (opts.password) await writeFile(path.join(dir, 'pw'), opts.password + '\n', { mode: 0o644 });
  const init = runAsPostgres([`${PG15_BIN}/initdb`, '-D', data, ...auth, '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.out}`);
  const ssl: string[] = [];
  if (opts.ssl) {
    // A throwaway self-signed certificate; the key must belong to the server's user with mode 0600.
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', path.join(dir, 'server.key'), '-out', path.join(dir, 'server.crt')], { encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`openssl failed: ${gen.stderr}`);
    if (process.getuid?.() === 0) spawnSync('chown', ['postgres', path.join(dir, 'server.key'), path.join(dir, 'server.crt')]);
    await chmod(path.join(dir, 'server.key'), 0o600);
    ssl.push('-c ssl=on', `-c ssl_cert_file=${path.join(dir, 'server.crt')}`, `-c ssl_key_file=${path.join(dir, 'server.key')}`);
  }
  const settings = [...ssl, '-c listen_addresses=127.0.0.1', `-c unix_socket_directories=${dir}`, '-c shared_preload_libraries=pg_stat_statements', '-c fsync=off', ...(opts.settings ?? []).map((s) => `-c ${s}`)];
  const start = runAsPostgres([`${PG15_BIN}/pg_ctl`, '-D', data, '-l', path.join(dir, 'log'), '-o', `-p ${port} ${settings.join(' ')}`, '-w', '-t', '30', 'start']);
  if (start.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`pg_ctl start failed: ${start.out}`);
  }
  const cred = opts.password ? `:${encodeURIComponent(opts.password)}` : '';
  const urlFor = (db: string) => `postgres://postgres${cred}@127.0.0.1:${port}/${db}`;
  const admin = new pg.Pool({ connectionString: urlFor('postgres'), max: 2 });
  return {
    url: urlFor('postgres'),
    port,
    socketDir: dir,
    password: opts.password,
    urlFor,
    query: (sql, params) => admin.query(sql, params as unknown[]),
    async stop() {
      await admin.end().catch(() => {});
      runAsPostgres([`${PG15_BIN}/pg_ctl`, '-D', data, '-m', 'immediate', '-w', 'stop']);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
