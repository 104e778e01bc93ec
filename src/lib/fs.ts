import { promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** File mode, e.g. 0o600 for private keys and state files. */
  mode?: number;
  /** Mode for directories created on the way (default 0o700 when mode is private, else 0o755). */
  dirMode?: number;
}

/**
 * Write a file atomically: write a temp file next to it, fsync, rename over the
 * target. A crash leaves either the old file or the new one, never half of one.
 * The temp file is created with the final mode so secrets are never readable.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  await writeFilesAtomic([{ file, data, ...options }]);
}

export interface AtomicFile extends AtomicWriteOptions {
  file: string;
  data: string | Uint8Array;
}

/**
 * Write several files that belong together (a key and its certificate): every
 * temp file is written and fsynced first, and only then are they renamed into
 * place one after another, so the old set stays whole until the new set is
 * entirely on disk, and the moment in which they differ is a few renames long.
 * If any write fails, no target is touched.
 */
export async function writeFilesAtomic(files: AtomicFile[]): Promise<void> {
  const staged: Array<{ tmp: string; file: string }> = [];
  try {
    for (const f of files) {
      const mode = f.mode ?? 0o644;
      const dir = path.dirname(f.file);
      await makeDirs(dir, f.dirMode ?? ((mode & 0o077) === 0 ? 0o700 : 0o755));
      const tmp = path.join(dir, `.${path.basename(f.file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
      const handle = await fsp.open(tmp, 'wx', mode);
      staged.push({ tmp, file: f.file });
      try {
        await handle.writeFile(f.data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.chmod(tmp, mode); // umask may have narrowed or widened it
    }
    for (const s of staged) await fsp.rename(s.tmp, s.file);
  } catch (err) {
    await Promise.all(staged.map((s) => fsp.rm(s.tmp, { force: true })));
    throw err;
  }
  // Make the renames durable.
  for (const dir of new Set(files.map((f) => path.dirname(f.file)))) {
    try {
      const dh = await fsp.open(dir, 'r');
      try { await dh.sync(); } finally { await dh.close(); }
    } catch { /* some filesystems do not allow fsync on directories */ }
  }
}

export async function readFileIfExists(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * `mkdir -p` one level at a time. Node's `mkdir({ recursive: true })` never
 * returns under /proc (each level answers ENOENT and it retries forever), so
 * `--cert-dir /proc/x` hung instead of failing.
 */
export async function makeDirs(dir: string, mode: number): Promise<void> {
  const missing: string[] = [];
  let d = path.resolve(dir);
  for (;;) {
    const st = await fsp.stat(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' });
      break;
    }
    missing.unshift(d);
    const parent = path.dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (const m of missing) {
    try {
      await fsp.mkdir(m, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
