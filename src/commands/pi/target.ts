/**
 * The system `opsctl pi audio` changes, behind one small interface: this
 * machine, an alternate root directory (image builders, tests), or a Pi over
 * real OpenSSH (remote.ts). Paths are always the target's own absolute paths; the target
 * maps them (root prefix) and decides how a change is made (fs calls locally,
 * batches of shell-quoted commands remotely, through sudo when needed).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { OpsError } from '../../lib/errors.js';
import { randomBytes } from 'node:crypto';
import type { CommandResult, ProcessRunner } from '../../lib/process.js';

/** What a path is on the target right now. */
export type Entry =
  | { type: 'missing' }
  | { type: 'dir' }
  | { type: 'file'; mode: number; content: string; uid?: number; gid?: number }
  /** `resolved`: what the link leads to, followed inside the target's root (never a symlink itself). */
  | { type: 'symlink'; target: string; resolved?: Entry };

/** The text a path holds, through symlinks (resolved inside the root): /etc/os-release → ../usr/lib/os-release. */
export function contentOf(e: Entry | undefined): string | undefined {
  if (e?.type === 'file') return e.content;
  if (e?.type === 'symlink' && e.resolved?.type === 'file') return e.resolved.content;
  return undefined;
}

/** The file a path leads to (itself or a symlink's resolved file). */
export function fileOf(e: Entry | undefined): Extract<Entry, { type: 'file' }> | undefined {
  if (e?.type === 'file') return e;
  if (e?.type === 'symlink' && e.resolved?.type === 'file') return e.resolved;
  return undefined;
}

export interface TargetCommand {
  argv: string[];
  /** Environment for this command only (e.g. DEBIAN_FRONTEND). */
  env?: Record<string, string>;
  input?: string;
  /** Limit in seconds (coreutils `timeout` on the target; exit 124 when hit). */
  timeoutS?: number;
  /** What the command waits for, for messages ("bluetoothd on D-Bus"). */
  waitsFor?: string;
}

/** argv as the target runs it: under `timeout -k 1 N` when the command has a limit. */
export const limitedArgv = (cmd: TargetCommand) => (cmd.timeoutS ? ['timeout', '-k', '1', String(cmd.timeoutS), ...cmd.argv] : cmd.argv);

/** One file operation; a batch of them is one round trip on a remote target. */
export type FileOp =
  /** uid/gid: the owner to keep (a file opsctl edits keeps its group: /etc/gshadow is root:shadow). */
  | { op: 'write'; path: string; content: string; mode: number; uid?: number; gid?: number }
  | { op: 'link'; path: string; target: string }
  | { op: 'remove'; path: string; tree?: boolean };

export interface TargetSystem {
  kind: 'local' | 'root' | 'remote';
  /** "this machine", "pi@raspberrypi.local", "root /srv/image". */
  label: string;
  /** False under --root: system commands are planned but never run. */
  live: boolean;
  /** Root path prefix for file changes ("/" unless --root or a test seam). */
  root: string;
  read(paths: string[]): Promise<Map<string, Entry>>;
  /** Applies file operations in order (each write atomic; `remove` with `tree` takes a directory and its contents). */
  applyFiles(ops: FileOp[]): Promise<void>;
  /** Runs a command on the target (as root); never throws for a non-zero exit. */
  exec(cmd: TargetCommand): Promise<CommandResult>;
  /**
   * Runs commands in order in one round trip, output and errors together in
   * stdout. Stops after the first failure unless that command is `optional`.
   */
  execMany(cmds: Array<TargetCommand & { optional?: boolean }>): Promise<CommandResult[]>;
  /** The effective uid on the far side (before sudo). */
  uid(): Promise<number>;
  /** User who invoked us through sudo (local) or logged in over ssh (remote), when not root. */
  invokingUser(): Promise<string | undefined>;
  close(): Promise<void>;
  /** The same without an event loop (SIGTERM, exit): no ssh control process or temp dir left behind. */
  closeSync?(): void;
}

// ── local and --root ────────────────────────────────────────────────────────

export interface LocalTargetOptions {
  runner: ProcessRunner;
  /** Alternate root (--root); undefined for this machine. */
  root?: string;
  env?: NodeJS.ProcessEnv;
  /** Injected for tests (the suite runs as root). */
  getuid?: () => number;
  /** Ctrl-C: the running command is stopped. */
  signal?: AbortSignal;
}

export function localTarget(opts: LocalTargetOptions): TargetSystem {
  const root = opts.root ? path.resolve(opts.root) : '/';
  // Parent directories resolved inside the root: a link like /lib → /usr/lib must not lead to this machine's /usr/lib.
  const at = (p: string) => resolveInRoot(root, p, false);
  const env = opts.env ?? process.env;
  return {
    kind: opts.root ? 'root' : 'local',
    label: opts.root ? `root ${root}` : 'this machine',
    live: !opts.root,
    root,
    async read(paths) {
      const out = new Map<string, Entry>();
      await Promise.all(paths.map(async (p) => out.set(p, await readInRoot(root, p))));
      return out;
    },
    async applyFiles(ops) {
      for (const o of ops) {
        const full = await at(o.path);
        if (o.op === 'write') await writeOwned(full, o.content, o.mode, o.uid, o.gid);
        else if (o.op === 'link') {
          // A new link renamed over the old one: never a moment without it.
          await fsp.mkdir(path.dirname(full), { recursive: true, mode: 0o755 });
          const tmp = `${full}.opsctl-tmp`;
          await fsp.rm(tmp, { force: true });
          await fsp.symlink(o.target, tmp);
          await fsp.rename(tmp, full);
        } else await fsp.rm(full, { force: true, recursive: Boolean(o.tree) });
      }
    },
    async exec(cmd) {
      if (opts.root) throw new OpsError(`refusing to run ${cmd.argv[0]} under --root`, { code: 'internal' });
      const argv = limitedArgv(cmd);
      return opts.runner.run({ file: argv[0]!, args: argv.slice(1), env: cmd.env ? { ...env, ...cmd.env } : env, input: cmd.input, signal: opts.signal });
    },
    async execMany(cmds) {
      const out: CommandResult[] = [];
      for (const c of cmds) {
        const r = await this.exec(c).catch((err: Error & { exitCode?: number }) => {
          if (err.exitCode === 130) throw err; // interrupted: not a failed command
          return { exitCode: 127, stdout: '', stderr: err.message + '\n' };
        });
        out.push({ exitCode: r.exitCode, stdout: r.stdout + r.stderr, stderr: '' });
        if (r.exitCode !== 0 && !c.optional) break;
      }
      return out;
    },
    async uid() {
      return (opts.getuid ?? process.getuid ?? (() => 0))();
    },
    async invokingUser() {
      const u = env.SUDO_USER;
      return u && u !== 'root' ? u : undefined;
    },
    async close() {},
  };
}

const MAX_LINKS = 40;

/**
 * Where `p` (an absolute path on the target) is under `root`, following
 * symlinks the way the target's kernel would if `root` were `/`: relative
 * targets from the link's directory, absolute ones from the root, `..` never
 * above the root. The last component is followed only with `followLast`.
 * Throws ELOOP past 40 links.
 */
export async function resolveInRoot(root: string, p: string, followLast: boolean): Promise<string> {
  const todo = p.split('/');
  const done: string[] = [];
  let links = 0;
  while (todo.length) {
    const c = todo.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      done.pop();
      continue;
    }
    const last = todo.every((x) => x === '' || x === '.');
    if (last && !followLast) {
      done.push(c);
      break;
    }
    const here = path.join(root, ...done, c);
    let target: string | undefined;
    try {
      target = await fsp.readlink(here);
    } catch {
      target = undefined; // not a link (or missing): a plain component
    }
    if (target === undefined) {
      done.push(c);
      continue;
    }
    if (++links > MAX_LINKS) throw Object.assign(new Error(`too many levels of symbolic links: ${p}`), { code: 'ELOOP' });
    if (target.startsWith('/')) done.length = 0;
    todo.unshift(...target.split('/'));
  }
  return path.join(root, ...done);
}

async function readInRoot(root: string, p: string): Promise<Entry> {
  try {
    const e = await readLocal(await resolveInRoot(root, p, false));
    if (e.type !== 'symlink') return e;
    const resolved = await resolveInRoot(root, p, true).then(readLocal, (err: NodeJS.ErrnoException) => {
      if (err.code === 'ELOOP') return { type: 'missing' } as const;
      throw err;
    });
    return { ...e, resolved: resolved.type === 'symlink' ? { type: 'missing' } : resolved };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return { type: 'missing' };
    throw err;
  }
}

/**
 * Atomic write that keeps an owner: temp file next to the target, contents
 * synced, owner and mode set, then renamed over it. Never a moment in which
 * /etc/gshadow exists without its shadow group.
 */
async function writeOwned(full: string, content: string, mode: number, uid?: number, gid?: number): Promise<void> {
  const dir = path.dirname(full);
  await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = path.join(dir, `.${path.basename(full)}.opsctl-${randomBytes(6).toString('hex')}`);
  const h = await fsp.open(tmp, 'wx', 0o600);
  try {
    await h.writeFile(content);
    await h.sync();
    // Only root can give a file away; as anyone else the file is ours anyway.
    if ((uid !== undefined || gid !== undefined) && process.getuid?.() === 0) await h.chown(uid ?? -1, gid ?? -1);
    await h.chmod(mode);
  } catch (err) {
    await h.close();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await h.close();
  await fsp.rename(tmp, full);
}

async function readLocal(full: string): Promise<Entry> {
  try {
    const st = await fsp.lstat(full);
    if (st.isSymbolicLink()) return { type: 'symlink', target: await fsp.readlink(full) };
    if (st.isDirectory()) return { type: 'dir' };
    return { type: 'file', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, content: await fsp.readFile(full, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return { type: 'missing' };
    if (code === 'EACCES' || code === 'EPERM') {
      throw new OpsError(`Cannot read ${full}: permission denied.`, { code: 'not-root', hint: 'run it with sudo: sudo opsctl pi audio …' });
    }
    throw err;
  }
}
