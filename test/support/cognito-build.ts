import { existsSync, statSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './cli.js';

/** The cognito tests run the built binary: build when dist/ is missing or older than src/commands/cognito. */
export function ensureCognitoBuild(): void {
  const built = path.join(repoRoot, 'dist', 'commands', 'cognito', 'migrate', 'index.js');
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs), 0);
  const srcTime = Math.max(newest(path.join(repoRoot, 'src', 'commands', 'cognito')), newest(path.join(repoRoot, 'src', 'lib', 'cognito')), statSync(path.join(repoRoot, 'src', 'cli.ts')).mtimeMs);
  if (existsSync(built) && statSync(built).mtimeMs >= srcTime) return;
  // tsc emits even when another command's folder has type errors.
  spawnSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: repoRoot, stdio: 'ignore' });
  if (!existsSync(built)) throw new Error('build failed: dist/commands/cognito/migrate/index.js missing');
}
