import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, runBin, runCliInProcess } from '../support/cli.js';
import { loadedSources } from '../support/loaded.js';

describe('what start-up loads', () => {
  it('--help off a terminal prints the page rendered at build time and loads nothing else', async () => {
    const { files, sources } = loadedSources(['--help']);
    expect(files).toEqual(['dist/opsctl.js']);
    expect(sources).toEqual(['src/main.ts']);
    // the static page is exactly what commander renders off a terminal (80 columns)
    const fromBin = await runBin(['--help'], { env: { NO_COLOR: '1' } });
    const fromCommander = await runCliInProcess(['--help']);
    expect(fromBin.code).toBe(0);
    expect(fromCommander.code).toBe(0);
    expect(fromBin.stdout).toBe(fromCommander.stdout);
    expect(fromBin.stdout).toBe(readFileSync(path.join(repoRoot, 'dist', 'help.txt'), 'utf8'));
    expect(fromBin.stdout).toMatch(/^Usage: opsctl \[options\] \[command\]/);
  });
  it('the help command (and --help with other words) loads the registry and commander only: no execa, SDK, prompt or command code', () => {
    const { sources } = loadedSources(['help']);
    expect(sources).toContain('src/cli.ts');
    const packages = [...new Set(sources.filter((s) => s.includes('node_modules/')).map((s) => s.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1')))].sort();
    expect(packages).toEqual(['commander']);
    expect(sources.filter((s) => s.startsWith('src/commands/') || s === 'src/lib/process.ts' || s === 'src/lib/prompt.ts' || s === 'src/lib/context.ts')).toEqual([]);
  });
  it('a command that never spawns does not load execa (imported inside run, on first use)', () => {
    const { sources } = loadedSources(['completion', 'bash']);
    expect(sources).toContain('src/lib/process.ts');
    expect(sources.filter((s) => s.includes('node_modules/execa/'))).toEqual([]);
  });
});
