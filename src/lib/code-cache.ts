import Module, { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { isAscii } from 'node:buffer';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';

/**
 * Require one self-contained CommonJS file (a prebuilt command bundle, see
 * src/launch.ts) with a persistent V8 code cache.
 *
 * A bundle is ~1 MB; compiling it costs tens of ms on every run. Node 22 has
 * module.enableCompileCache() for this; Node 20 does not, so the file is read
 * and compiled here with its cached data when V8 accepts it, and fresh data
 * is written when it was missing, rejected or grew. Anything the file
 * require()s loads the normal way. Code compiled like this cannot use
 * import() (Node gives vm scripts no loader for it): bundles have none.
 */
type ModuleInternals = typeof Module & {
  _cache: Record<string, Module>;
  _nodeModulePaths(dir: string): string[];
  wrap(src: string): string;
};
const M = Module as ModuleInternals;

export function codeCacheDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OPSCTL_NO_CODE_CACHE) return undefined;
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'opsctl', 'v8', `${process.version}-${process.arch}`);
}

/** Cache dirs that refused a write this run: not tried again. */
const unwritable = new Set<string>();

/** `file`: an absolute path. */
export function requireCached<T>(file: string, cacheDir: string | undefined): T {
  const loaded = M._cache[file];
  if (loaded) return loaded.exports as T;
  if (!cacheDir) return createRequire(file)(file) as T;
  let bytes: Buffer;
  let source: string;
  let cachePath: string;
  let cached: Buffer | undefined;
  let script: vm.Script;
  try {
    bytes = readFileSync(file);
    // esbuild writes ASCII: a one-byte string, no UTF-8 decoding.
    source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
    // <file>-<content>.bin. The content, not size and mtime: V8 accepts a
    // cache for any source of the same length, so a same-size rebuild (a
    // version bump) with a kept mtime would run the old code. A changed file
    // gets a new entry, and writing it removes the file's old ones.
    cachePath = path.join(cacheDir, `${hex(file)}-${hex(bytes)}.bin`);
    cached = readCache(cachePath);
    script = new vm.Script(M.wrap(source), { filename: file, cachedData: cached });
  } catch {
    // Anything unusual (unreadable, syntax Node's own loader reports better): the normal path.
    return createRequire(file)(file) as T;
  }
  const mod = new Module(file, undefined);
  mod.filename = file;
  mod.paths = M._nodeModulePaths(path.dirname(file));
  M._cache[file] = mod;
  try {
    const fn = script.runInThisContext({ displayErrors: true }) as (...a: unknown[]) => unknown;
    fn.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
  } catch (err) {
    delete M._cache[file];
    throw err;
  }
  mod.loaded = true;
  // Written when the process ends, not now: V8 then includes every function
  // compiled during the run (request signing, parsing, ...), not just the
  // top level, and the next run compiles almost nothing. An accepted entry is
  // replaced when this run compiled clearly more (a first run that only
  // printed --help must not leave the connecting runs a thin cache).
  const hit = cached !== undefined && !script.cachedDataRejected;
  if (!flushOnExit) process.once('exit', flushCodeCache);
  flushOnExit = true;
  pendingWrites.push({ cacheDir, cachePath, script, minBytes: hit ? Math.ceil(cached!.length * GROWTH) : 0 });
  return mod.exports as T;
}

/** How much bigger a run's code cache must be to replace the accepted entry. */
const GROWTH = 1.1;

const hex = (data: string | Buffer) => createHash('sha1').update(data).digest('hex').slice(0, 20);
const pendingWrites: Array<{ cacheDir: string; cachePath: string; script: vm.Script; minBytes: number }> = [];
let flushOnExit = false;

/** Write the entries this process owes (at exit; tests call it directly). */
export function flushCodeCache(): void {
  for (const { cacheDir, cachePath, script, minBytes } of pendingWrites.splice(0)) if (!unwritable.has(cacheDir)) writeCache(cacheDir, cachePath, script, minBytes);
}

/**
 * An entry is sha1(data) + data. V8 release builds check a code cache's
 * version, flags and length but not its bytes, so a damaged entry could
 * crash the process; one that fails the hash is treated as missing.
 */
function readCache(cachePath: string): Buffer | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(cachePath);
  } catch {
    return undefined;
  }
  const data = buf.subarray(DIGEST_BYTES);
  return buf.length > DIGEST_BYTES && digest(data).equals(buf.subarray(0, DIGEST_BYTES)) ? data : undefined;
}

const DIGEST_BYTES = 20;
const digest = (data: Buffer) => createHash('sha1').update(data).digest();

/** Temp file + rename, so a reader never sees half an entry; a cache dir that refuses one write is not tried again. */
function writeCache(cacheDir: string, cachePath: string, script: vm.Script, minBytes: number): void {
  const tmp = `${cachePath}.${process.pid}.tmp`;
  try {
    const data = script.createCachedData();
    if (data.length < minBytes) return;
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    writeFileSync(tmp, Buffer.concat([digest(data), data]), { mode: 0o600 });
    renameSync(tmp, cachePath);
    pruneCache(cacheDir, path.basename(cachePath));
  } catch {
    // A read-only home only costs speed; leave no temp file behind.
    unwritable.add(cacheDir);
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* e.g. ENOTDIR: there is no temp file */
    }
  }
}

/**
 * Remove what `entry` replaces: older entries of the same file, entries in
 * the format of earlier opsctl versions (no `-`), and temp files an
 * interrupted writer left more than an hour ago.
 */
function pruneCache(cacheDir: string, entry: string): void {
  const sameFile = entry.slice(0, entry.indexOf('-') + 1);
  for (const name of readdirSync(cacheDir)) {
    const file = path.join(cacheDir, name);
    try {
      const stale = name.endsWith('.bin')
        ? name !== entry && (name.startsWith(sameFile) || !name.includes('-'))
        : name.endsWith('.tmp') && Date.now() - statSync(file).mtimeMs > 3_600_000;
      if (stale) rmSync(file, { force: true });
    } catch {
      /* gone already (another opsctl pruned it) */
    }
  }
}

