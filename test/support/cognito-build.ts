import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './cli.js';

/** Tests that run the built binary: build once when dist/ is missing (`npm test` builds first). */
export function ensureCognitoBuild(): void {
  const built = path.join(repoRoot, 'dist', 'opsctl.js');
  if (existsSync(built)) return;
  spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build.mjs')], { cwd: repoRoot, stdio: 'ignore' });
  if (!existsSync(built)) throw new Error('build failed: dist/opsctl.js missing');
}
