import { describe, expect, it } from 'vitest';
import Module, { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flushCodeCache, requireCached as requireOnly } from '../../src/lib/code-cache.js';

// The V8 code-cache loader for bundles, on throwaway CommonJS packages.
// Entries are written when the process exits; here, right after the require.
function requireCached<T>(id: string, cacheDir: string): T {
  const m = requireOnly<T>(id, cacheDir);
  flushCodeCache();
  return m;
}

/** A fresh package under node_modules (require caches by path, so each test gets its own). */
function fakePackage(body = "exports.dep = require('./dep.js'); exports.answer = 42;"): { main: string; root: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sdk-loader-'));
  const pkg = path.join(root, 'node_modules', 'fake-sdk');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(path.join(pkg, 'index.js'), body);
  writeFileSync(path.join(pkg, 'dep.js'), 'module.exports = { name: __filename.split("/").pop(), req: typeof require.resolve };');
  return { main: path.join(pkg, 'index.js'), root };
}

/** Drop a fake package from require's cache so the next require compiles it again. */
function forget(root: string): void {
  const cache = (Module as unknown as { _cache: Record<string, unknown> })._cache;
  for (const k of Object.keys(cache)) if (k.startsWith(root)) delete cache[k];
}

const bins = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.bin'));

describe('requireCached', () => {
  it('loads the module (what it requires loads the normal way), writes one cache entry and no temp files; a second require is the same module', () => {
    const { main, root } = fakePackage();
    const cache = path.join(root, 'cache');
    const m = requireCached<{ answer: number; dep: { name: string; req: string } }>(main, cache);
    expect(m.answer).toBe(42);
    expect(m.dep).toEqual({ name: 'dep.js', req: 'function' });
    expect(readdirSync(cache).sort()).toEqual(bins(cache).sort());
    expect(bins(cache)).toHaveLength(1);
    expect(requireCached(main, cache)).toBe(m);
    expect(createRequire(main)(main)).toBe(m);
  });

  it('a corrupt cache entry is rejected by V8, the module still loads, and the entry is rewritten', () => {
    const { main, root } = fakePackage();
    const cache = path.join(root, 'cache');
    requireCached(main, cache);
    for (const f of bins(cache)) writeFileSync(path.join(cache, f), 'garbage');
    forget(root);
    const m = requireCached<{ answer: number }>(main, cache);
    expect(m.answer).toBe(42);
    expect(bins(cache).map((f) => readFileSync(path.join(cache, f), 'utf8') === 'garbage')).toEqual([false]);

    // one flipped byte keeps the length V8 checks: the entry's own hash catches it
    const entry = path.join(cache, bins(cache)[0]!);
    const bad = readFileSync(entry);
    bad[bad.length - 1] ^= 0xff;
    writeFileSync(entry, bad);
    forget(root);
    expect(requireCached<{ answer: number }>(main, cache).answer).toBe(42);
    expect(readFileSync(entry).equals(bad)).toBe(false);
  });

  it('an unusable cache dir (a regular file, or read-only) only costs speed', () => {
    const a = fakePackage();
    const asFile = path.join(a.root, 'cache-is-a-file');
    writeFileSync(asFile, '');
    expect(requireCached<{ answer: number }>(a.main, path.join(asFile, 'v8')).answer).toBe(42);

    const b = fakePackage();
    const readOnly = path.join(b.root, 'ro');
    mkdirSync(readOnly, { mode: 0o500 });
    chmodSync(readOnly, 0o500);
    expect(requireCached<{ answer: number }>(b.main, readOnly).answer).toBe(42);
    // root ignores the mode bits; when the write did fail, no temp file is left
    expect(readdirSync(readOnly).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a write that fails half-way leaves no temp file behind', () => {
    const { main, root } = fakePackage();
    const cache = path.join(root, 'cache');
    mkdirSync(cache);
    // a directory where the entry for index.js goes: the rename over it fails
    const hex = (t: string) => createHash('sha1').update(t).digest('hex').slice(0, 20);
    mkdirSync(path.join(cache, `${hex(main)}-${hex(readFileSync(main, 'utf8'))}.bin`));
    expect(requireCached<{ answer: number }>(main, cache).answer).toBe(42);
    expect(readdirSync(cache).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('reads ASCII files as one-byte strings and anything else as UTF-8, the same text either way', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'code-cache-text-'));
    const cache = path.join(root, 'cache');
    writeFileSync(path.join(root, 'ascii.cjs'), 'module.exports = "plain \\u00e9";');
    writeFileSync(path.join(root, 'utf8.cjs'), 'module.exports = "héllo ✓ 🚀";');
    expect(requireCached(path.join(root, 'ascii.cjs'), cache)).toBe('plain é');
    expect(requireCached(path.join(root, 'utf8.cjs'), cache)).toBe('héllo ✓ 🚀');
  });

  it("a module that throws: the error is the module's own, and it is not left half-loaded", () => {
    const { main, root } = fakePackage("throw new Error('boom from sdk');");
    expect(() => requireCached(main, path.join(root, 'cache'))).toThrow('boom from sdk');
    expect((Module as unknown as { _cache: Record<string, unknown> })._cache[main]).toBeUndefined();
  });

  it('caches a bundle outside node_modules (dist/bundles) at exit; the next load uses the entry; a rebuilt file replaces its old entry', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'code-cache-bundle-'));
    const file = path.join(root, 'dist', 'bundles', 'cmd.cjs');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'module.exports = { n: 7, later: () => [1, 2, 3].map((x) => x * 2) };');
    const cache = path.join(root, 'cache');
    const first = requireOnly<{ n: number; later(): number[] }>(file, cache);
    expect(first.n).toBe(7);
    // nothing is written until the process ends (or the flush it runs then)
    expect(() => readdirSync(cache)).toThrow(/ENOENT/);
    expect(first.later()).toEqual([2, 4, 6]);
    flushCodeCache();
    const [entry] = bins(cache);
    expect(bins(cache)).toHaveLength(1);
    const written = statSync(path.join(cache, entry!)).mtimeMs;

    forget(root);
    expect(requireCached<{ n: number }>(file, cache).n).toBe(7);
    // accepted, so not rewritten
    expect(statSync(path.join(cache, entry!)).mtimeMs).toBe(written);

    // a rebuild: a new entry, and the old one is gone
    writeFileSync(file, 'module.exports = { n: 8 };');
    forget(root);
    expect(requireCached<{ n: number }>(file, cache).n).toBe(8);
    expect(bins(cache)).toHaveLength(1);
    expect(bins(cache)[0]).not.toBe(entry);
    expect(bins(cache)[0]!.split('-')[0]).toBe(entry!.split('-')[0]);
  });

  it('an accepted entry is replaced when a run compiled clearly more (a --help first run does not leave a thin cache)', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'code-cache-grow-'));
    const file = path.join(root, 'cmd.cjs');
    const cache = path.join(root, 'cache');
    // a big function that is compiled only when called
    const body = Array.from({ length: 400 }, (_, i) => `  x = (x * 31 + ${i}) % 1000003;`).join('\n');
    writeFileSync(file, `module.exports = { run(x) {\n${body}\n  return x; } };`);
    requireCached(file, cache); // loaded, run() not called
    const [entry] = bins(cache);
    const thin = statSync(path.join(cache, entry!)).size;

    forget(root);
    expect(requireOnly<{ run(x: number): number }>(file, cache).run(1)).toBeGreaterThan(0);
    flushCodeCache();
    const grown = statSync(path.join(cache, entry!)).size;
    expect(grown).toBeGreaterThan(thin * 1.1);

    // the same work again: nothing new to keep, the entry stays as it is
    const mtime = statSync(path.join(cache, entry!)).mtimeMs;
    forget(root);
    requireOnly<{ run(x: number): number }>(file, cache).run(2);
    flushCodeCache();
    expect(statSync(path.join(cache, entry!)).mtimeMs).toBe(mtime);
    expect(bins(cache)).toEqual([entry]);
  });

  it('a same-size change with the mtime kept (a version bump, cp -p) runs the new code, not the cached old one', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'code-cache-same-size-'));
    const file = path.join(root, 'cmd.cjs');
    const cache = path.join(root, 'cache');
    writeFileSync(file, 'module.exports = { v: () => "0.1.0" };');
    const { mtime } = statSync(file);
    expect(requireCached<{ v(): string }>(file, cache).v()).toBe('0.1.0');
    writeFileSync(file, 'module.exports = { v: () => "0.1.1" };');
    utimesSync(file, mtime, mtime);
    forget(root);
    expect(requireCached<{ v(): string }>(file, cache).v()).toBe('0.1.1');
  });

  it('writing an entry clears entries of older opsctl versions and stale temp files, and keeps other files\' entries', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'code-cache-prune-'));
    const file = path.join(root, 'cmd.cjs');
    const cache = path.join(root, 'cache');
    mkdirSync(cache);
    writeFileSync(file, 'module.exports = 1;');
    const old = path.join(cache, `${'a'.repeat(40)}.bin`);
    const otherFile = path.join(cache, `${'b'.repeat(20)}-${'c'.repeat(20)}.bin`);
    const staleTmp = path.join(cache, 'x.bin.123.tmp');
    const freshTmp = path.join(cache, 'y.bin.456.tmp');
    for (const f of [old, otherFile, staleTmp, freshTmp]) writeFileSync(f, '');
    const hourAgo = new Date(Date.now() - 2 * 3_600_000);
    utimesSync(staleTmp, hourAgo, hourAgo);
    requireCached(file, cache);
    expect(readdirSync(cache).sort()).toEqual([...bins(cache).filter((f) => f !== path.basename(otherFile)), path.basename(otherFile), path.basename(freshTmp)].sort());
    expect(bins(cache)).toHaveLength(2);
  });
});
