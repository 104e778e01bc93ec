import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { OpsError } from './errors.js';

/**
 * Every external program runs through here, as an argv array and never a
 * shell string. A command is data first (so --dry-run can print it), then run.
 */
export interface CommandSpec {
  file: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Text to write to stdin (not with inherit). */
  input?: string;
  /** 'inherit' hands the terminal to the child (interactive ssh); 'pipe' captures output. */
  stdio?: 'inherit' | 'pipe';
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface CommandResult {
  exitCode: number;
  signal?: string;
  stdout: string;
  stderr: string;
}

export interface ProcessRunner {
  run(spec: CommandSpec): Promise<CommandResult>;
  which(file: string): string | undefined;
}

/** Quote one argument for display (and for POSIX shells on the far side of ssh). */
export function shellQuote(arg: string): string {
  if (arg === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function formatCommand(spec: Pick<CommandSpec, 'file' | 'args'>): string {
  return [spec.file, ...spec.args].map(shellQuote).join(' ');
}

export function which(file: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (file.includes('/')) return isExecutable(file) ? file : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, file);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

type ChildProcessModule = typeof import('node:child_process');
let childProcess: ChildProcessModule | undefined;
/**
 * node:child_process is taken on first use (process.getBuiltinModule: no ESM
 * facade, nothing at start-up), so `--help` and commands that never spawn do
 * not load it. execa used to sit here; loading it and its stream plumbing was
 * ~40 ms of CPU on every ecs-ssh connect (ssh -G, then ssh) for features this
 * runner does not use: spawn with argv, collect output, kill on timeout or abort.
 */
function loadChildProcess(): ChildProcessModule {
  return (childProcess ??= process.getBuiltinModule('node:child_process') as ChildProcessModule);
}

/** Kept for commands that start the load early; the runner is cheap to load now. */
export function preloadProcessRunner(): Promise<void> {
  loadChildProcess();
  return Promise.resolve();
}

/** A program still running when this process exits is stopped with it (as execa's `cleanup` did). */
const running = new Set<import('node:child_process').ChildProcess>();
let exitHookInstalled = false;
function track(child: import('node:child_process').ChildProcess): void {
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of running) c.kill('SIGTERM');
    });
  }
}

/** What a SIGTERM from a timeout or an abort gets before SIGKILL follows. */
const FORCE_KILL_AFTER_MS = 5000;

/** The real runner: node:child_process with shell:false, argv only. */
export const processRunner: ProcessRunner = {
  which: (file) => which(file),
  run(spec) {
    const interrupted = () => spawnError(spec, Object.assign(new Error('aborted'), { name: 'AbortError' }));
    // Nothing runs once Ctrl-C came.
    if (spec.signal?.aborted) return Promise.reject(interrupted());
    const inherit = spec.stdio === 'inherit';
    return new Promise<CommandResult>((resolve, reject) => {
      const child = loadChildProcess().spawn(spec.file, spec.args, {
        cwd: spec.cwd,
        // The environment handed in is the whole environment (not merged into process.env).
        env: spec.env ?? process.env,
        shell: false,
        stdio: inherit ? 'inherit' : 'pipe',
      });
      track(child);
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let spawned = false;
      let canceled = false;
      let forceKill: NodeJS.Timeout | undefined;
      const stop = () => {
        child.kill('SIGTERM');
        forceKill ??= setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS);
        forceKill.unref();
      };
      const timer = spec.timeoutMs !== undefined && spec.timeoutMs > 0 ? setTimeout(stop, spec.timeoutMs) : undefined;
      const onAbort = () => {
        canceled = true;
        stop();
      };
      spec.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        running.delete(child);
        if (timer) clearTimeout(timer);
        if (forceKill) clearTimeout(forceKill);
        spec.signal?.removeEventListener('abort', onAbort);
      };
      child.once('spawn', () => (spawned = true));
      child.once('error', (err) => {
        // Only a failure to start is the caller's error; a failed kill() of a gone child is not.
        if (spawned) return;
        done();
        reject(spawnError(spec, err));
      });
      if (!inherit) {
        child.stdout!.on('data', (d: Buffer) => stdout.push(d));
        child.stderr!.on('data', (d: Buffer) => stderr.push(d));
        // Piped stdin always gets EOF (after the input, if any), so a program reading it never waits on us;
        // one that exits without reading it must not fail the run (EPIPE).
        child.stdin!.on('error', () => undefined);
        child.stdin!.end(spec.input ?? '');
      }
      child.once('close', (code, signal) => {
        if (!spawned) return;
        done();
        if (canceled) return reject(interrupted());
        const sig = signal ?? undefined;
        resolve({
          exitCode: code ?? (sig ? 128 + signalNumber(sig) : 1),
          signal: sig,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        });
      });
    });
  },
};

function spawnError(spec: CommandSpec, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new OpsError(`${spec.file} is not installed (not found on PATH).`, { hint: `install ${path.basename(spec.file)} and try again`, code: 'missing-program' });
  }
  if ((err as Error).name === 'AbortError') return new OpsError(`${path.basename(spec.file)} was interrupted.`, { exitCode: 130, code: 'interrupted' });
  return err as Error;
}

function signalNumber(sig: string): number {
  const os = process.getBuiltinModule('node:os') as typeof import('node:os');
  return (os.constants.signals as Record<string, number>)[sig] ?? 1;
}
