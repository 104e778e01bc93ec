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

type Execa = typeof import('execa').execa;
let execaLoading: Promise<Execa> | undefined;
/**
 * execa is imported on first use, so start-up (and every command that never
 * spawns) does not pay for loading it. A command that will spawn after some
 * network calls (ecs-ssh: four AWS calls, then ssh) can start the load early
 * so it overlaps the waiting.
 */
export function preloadProcessRunner(): Promise<Execa> {
  execaLoading ??= import('execa').then((m) => m.execa);
  return execaLoading;
}

/** The real runner: execa with shell:false, argv only. */
export const processRunner: ProcessRunner = {
  which: (file) => which(file),
  async run(spec) {
    // Nothing runs once Ctrl-C came.
    if (spec.signal?.aborted) throw spawnError(spec, Object.assign(new Error('aborted'), { name: 'AbortError' }));
    const execa = await preloadProcessRunner();
    const inherit = spec.stdio === 'inherit';
    const result = await execa(spec.file, spec.args, {
      cwd: spec.cwd,
      // The environment handed in is the whole environment, as with spawn (not merged into process.env).
      env: spec.env ?? process.env,
      extendEnv: false,
      shell: false,
      stdio: inherit ? 'inherit' : 'pipe',
      // Piped stdin always gets EOF (after the input, if any), so a program reading it never waits on us.
      ...(inherit ? {} : { input: spec.input ?? '' }),
      cancelSignal: spec.signal,
      timeout: spec.timeoutMs,
      reject: false,
      stripFinalNewline: false,
      maxBuffer: Number.MAX_SAFE_INTEGER,
      encoding: 'utf8',
    });
    if (result.isCanceled) throw spawnError(spec, Object.assign(new Error('aborted'), { name: 'AbortError' }));
    // No exit code and no signal: the program never ran (not found, not executable).
    if (result.exitCode === undefined && result.signal === undefined) throw spawnError(spec, result.cause ?? result);
    const signal = result.signal;
    return {
      exitCode: result.exitCode ?? (signal ? 128 + signalNumber(signal) : 1),
      signal,
      stdout: typeof result.stdout === 'string' ? result.stdout : '',
      stderr: typeof result.stderr === 'string' ? result.stderr : '',
    };
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
