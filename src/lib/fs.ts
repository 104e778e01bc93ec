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
  const mode = options.mode ?? 0o644;
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true, mode: options.dirMode ?? ((mode & 0o077) === 0 ? 0o700 : 0o755) });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fsp.open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fsp.chmod(tmp, mode); // umask may have narrowed or widened it
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  // Make the rename durable.
  try {
    const dh = await fsp.open(dir, 'r');
    try { await dh.sync(); } finally { await dh.close(); }
  } catch { /* some filesystems do not allow fsync on directories */ }
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
