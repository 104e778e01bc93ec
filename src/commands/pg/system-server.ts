/**
 * A throwaway PostgreSQL from the system's own binaries (Debian/Ubuntu's
 * /usr/lib/postgresql/N/bin, or initdb on PATH), for `pg demo`. System
 * binaries are reachable by every user, so running as root works from any
 * directory: initdb and postgres run as the `postgres` OS user with a data
 * directory it owns, listening only on a Unix socket inside that directory
 * (no TCP port, trust auth reachable only by root and that user).
 */
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OpsError } from '../../lib/errors.js';
import { processRunner, which, type ProcessRunner } from '../../lib/process.js';
import { demoDir, type EmbeddedServer } from './embedded.js';

/** The newest initdb: Debian's versioned directories first, then PATH. */
export function findInitdb(env: NodeJS.ProcessEnv = process.env, root = '/usr/lib/postgresql'): string | undefined {
  let versions: string[] = [];
  try {
    versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  } catch {
    // no Debian layout
  }
  for (const v of versions) {
    const initdb = path.join(root, v, 'bin', 'initdb');
    if (existsSync(initdb)) return initdb;
  }
  return which('initdb', env);
}

function uidOf(runner: ProcessRunner, user: string): Promise<{ uid: number; gid: number } | undefined> {
  return runner.run({ file: 'id', args: ['-u', user] }).then(async (u) => {
    if (u.exitCode !== 0) return undefined;
    const g = await runner.run({ file: 'id', args: ['-g', user] });
    return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  });
}

export async function startSystemPostgres(initdb: string, opts: { runner?: ProcessRunner; onLog?: (line: string) => void } = {}): Promise<EmbeddedServer> {
  const runner = opts.runner ?? processRunner;
  const bin = path.dirname(initdb);
  const asRoot = process.getuid?.() === 0;
  const { dir, remove: cleanup } = await demoDir();
  const data = path.join(dir, 'data');
  let owner: { uid: number; gid: number } | undefined;
  // As root, the postgres OS user runs the server (PostgreSQL refuses root) and owns its directory.
  const as = (file: string, args: string[]) => (asRoot ? { file: 'runuser', args: ['-u', 'postgres', '--', file, ...args] } : { file, args });
  if (asRoot) {
    owner = await uidOf(runner, 'postgres');
    if (!owner) {
      const made = await runner.run({ file: 'useradd', args: ['--system', '--user-group', '--no-create-home', 'postgres'] });
      owner = made.exitCode === 0 ? await uidOf(runner, 'postgres') : undefined;
    }
    if (!owner) {
      await cleanup();
      throw new OpsError('pg demo needs a "postgres" OS user to run the server as (PostgreSQL does not run as root), and could not create one.', { hint: 'create it: useradd --system postgres', code: 'pg-demo-no-user' });
    }
    await chown(dir, owner.uid, owner.gid);
  }
  await chmod(dir, 0o700);
  const log = (r: { stdout: string; stderr: string }) => opts.onLog?.(`${r.stdout}${r.stderr}`);
  const fail = async (what: string, r: { stdout: string; stderr: string }) => {
    await cleanup();
    const detail = `${r.stderr}${r.stdout}`.split('\n').filter((l) => /error|fatal|permission|denied|could not/i.test(l)).slice(-1)[0] ?? 'see --debug';
    return new OpsError(`Could not ${what} the PostgreSQL server from ${bin}: ${detail.trim()}`, { hint: `the data directory was ${dir} (removed); TMPDIR must be reachable by the postgres user`, code: 'pg-demo-failed' });
  };
  const init = await runner.run({ ...as(initdb, ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']) });
  log(init);
  if (init.exitCode !== 0) throw await fail('initialise', init);
  const settings = [`-k ${dir}`, "-c listen_addresses=''", '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off', '-c max_wal_size=2GB'];
  const start = await runner.run({ ...as(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-o', settings.join(' '), '-w', '-t', '60', 'start']) });
  log(start);
  if (start.exitCode !== 0) throw await fail('start', start);
  return {
    // A keyword/value conninfo: the Unix socket in the private directory.
    url: `host=${dir} port=5432 user=postgres dbname=postgres sslmode=disable`,
    port: 5432,
    dir,
    async stop() {
      await runner.run({ ...as(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']) }).catch(() => undefined);
      await cleanup();
    },
  };
}
