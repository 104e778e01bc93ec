import { spawn } from 'node:child_process';
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

/** The real runner: node's spawn with shell:false. */
export const processRunner: ProcessRunner = {
  which: (file) => which(file),
  run(spec) {
    return new Promise((resolve, reject) => {
      const inherit = spec.stdio === 'inherit';
      let child;
      try {
        child = spawn(spec.file, spec.args, {
          cwd: spec.cwd,
          env: spec.env ?? process.env,
          stdio: inherit ? 'inherit' : ['pipe', 'pipe', 'pipe'],
          shell: false,
          signal: spec.signal,
          timeout: spec.timeoutMs,
        });
      } catch (err) {
        reject(spawnError(spec, err));
        return;
      }
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', (err) => reject(spawnError(spec, err)));
      child.on('close', (code, signal) => {
        resolve({ exitCode: code ?? (signal ? 128 + signalNumber(signal) : 1), signal: signal ?? undefined, stdout, stderr });
      });
      if (!inherit) {
        if (spec.input !== undefined) child.stdin?.end(spec.input);
        else child.stdin?.end();
      }
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

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 };
function signalNumber(sig: string): number {
  return SIGNALS[sig] ?? 1;
}
