/**
 * globalSetup of the integration and e2e tiers: they run bin/opsctl.js, which
 * imports dist/. A dist/ older than any source (or missing) would test stale
 * code, so it is rebuilt first; `npx vitest run test/pg` then works without
 * remembering `npm run build`. The unit tier never needs it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './cli.js';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

export function buildIsStale(): boolean {
  let built: number;
  try {
    built = statSync(path.join(repoRoot, 'dist', 'opsctl.js')).mtimeMs;
  } catch {
    return true;
  }
  const inputs = [newestMtime(path.join(repoRoot, 'src')), statSync(path.join(repoRoot, 'scripts', 'build.mjs')).mtimeMs, statSync(path.join(repoRoot, 'package-lock.json')).mtimeMs];
  return Math.max(...inputs) > built;
}

export default function setup(): void {
  if (!buildIsStale()) return;
  process.stderr.write('dist/ is missing or older than src/: building it first\n');
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build.mjs')], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed before the tests:\n${r.stdout}${r.stderr}`);
}
