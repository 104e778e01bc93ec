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
import { writeFileAtomic } from '../../lib/fs.js';
import type { CommandResult, ProcessRunner } from '../../lib/process.js';

/** What a path is on the target right now. */
export type Entry =
  | { type: 'missing' }
  | { type: 'dir' }
  | { type: 'file'; mode: number; content: string }
  | { type: 'symlink'; target: string };

export interface TargetCommand {
  argv: string[];
  /** Environment for this command only (e.g. DEBIAN_FRONTEND). */
  env?: Record<string, string>;
  input?: string;
}

/** One file operation; a batch of them is one round trip on a remote target. */
export type FileOp =
  | { op: 'write'; path: string; content: string; mode: number }
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
}

// ── local and --root ────────────────────────────────────────────────────────

export interface LocalTargetOptions {
  runner: ProcessRunner;
  /** Alternate root (--root); undefined for this machine. */
  root?: string;
  env?: NodeJS.ProcessEnv;
  /** Injected for tests (the suite runs as root). */
  getuid?: () => number;
}

export function localTarget(opts: LocalTargetOptions): TargetSystem {
  const root = opts.root ? path.resolve(opts.root) : '/';
  const at = (p: string) => path.join(root, p);
  const env = opts.env ?? process.env;
  return {
    kind: opts.root ? 'root' : 'local',
    label: opts.root ? `root ${root}` : 'this machine',
    live: !opts.root,
    root,
    async read(paths) {
      const out = new Map<string, Entry>();
      await Promise.all(paths.map(async (p) => out.set(p, await readLocal(at(p)))));
      return out;
    },
    async applyFiles(ops) {
      for (const o of ops) {
        const full = at(o.path);
        if (o.op === 'write') await writeFileAtomic(full, o.content, { mode: o.mode, dirMode: 0o755 });
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
      return opts.runner.run({ file: cmd.argv[0]!, args: cmd.argv.slice(1), env: cmd.env ? { ...env, ...cmd.env } : env, input: cmd.input });
    },
    async execMany(cmds) {
      const out: CommandResult[] = [];
      for (const c of cmds) {
        const r = await this.exec(c).catch((err: Error) => ({ exitCode: 127, stdout: '', stderr: err.message + '\n' }));
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

async function readLocal(full: string): Promise<Entry> {
  try {
    const st = await fsp.lstat(full);
    if (st.isSymbolicLink()) return { type: 'symlink', target: await fsp.readlink(full) };
    if (st.isDirectory()) return { type: 'dir' };
    return { type: 'file', mode: st.mode & 0o7777, content: await fsp.readFile(full, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { type: 'missing' };
    if (code === 'EACCES' || code === 'EPERM') {
      throw new OpsError(`Cannot read ${full}: permission denied.`, { code: 'not-root', hint: 'run it with sudo: sudo opsctl pi audio …' });
    }
    throw err;
  }
}
