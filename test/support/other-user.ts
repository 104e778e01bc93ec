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
import { chmodSync, copyFileSync, linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
