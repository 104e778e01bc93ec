import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBin } from '../support/cli.js';
import { loadedSources } from '../support/loaded.js';

const emptyEnv = () => ({ HOME: mkdtempSync(path.join(os.tmpdir(), 'home-')), PATH: process.env.PATH });

describe('the built binary', () => {
  it('--help lists every command and exits 0', async () => {
    const r = await runBin(['--help'], { env: emptyEnv() });
    expect(r.code).toBe(0);
    for (const c of ['ecs-ssh', 'cognito', 'cert', 'pg', 'pi', 'completion']) expect(r.stdout).toContain(c);
    expect(r.stderr).toBe('');
  });
  it('--version prints the package version', async () => {
    const r = await runBin(['--version'], { env: emptyEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
  it('an unknown command exits 2 with a suggestion', async () => {
    const r = await runBin(['cert', 'isue'], { env: emptyEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'isue'");
    expect(r.stderr).toContain('issue');
    expect(r.stdout).toBe('');
  });
  it('a malformed config file exits 2 naming the file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    writeFileSync(path.join(dir, 'config.json'), '{"ecs": {');
    const r = await runBin(['completion', 'bash'], { env: { ...emptyEnv(), OPSCTL_CONFIG: path.join(dir, 'config.json') } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(path.join(dir, 'config.json'));
    expect(r.stderr).toContain('not valid JSON');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
  it('completion bash prints a script that bash accepts', async () => {
    const r = await runBin(['completion', 'bash'], { env: emptyEnv() });
    expect(r.code).toBe(0);
    expect(spawnSync('bash', ['-n', '-c', r.stdout]).status).toBe(0);
  });
});

describe('what start-up loads', () => {
  it('--help loads the registry, commander and picocolors only: no execa, SDK, prompt or command code', () => {
    const { sources } = loadedSources(['--help']);
    expect(sources).toContain('src/cli.ts');
    const packages = [...new Set(sources.filter((s) => s.includes('node_modules/')).map((s) => s.replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '$1')))].sort();
    expect(packages).toEqual(['commander', 'picocolors']);
    expect(sources.filter((s) => s.startsWith('src/commands/') || s === 'src/lib/process.ts' || s === 'src/lib/prompt.ts' || s === 'src/lib/context.ts')).toEqual([]);
  });
  it('a command that never spawns does not load execa (imported inside run, on first use)', () => {
    const { sources } = loadedSources(['completion', 'bash']);
    expect(sources).toContain('src/lib/process.ts');
    expect(sources.filter((s) => s.includes('node_modules/execa/'))).toEqual([]);
  });
});
