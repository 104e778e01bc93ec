import { spawn } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const binPath = path.join(repoRoot, 'bin', 'opsctl.js');

export interface BinResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the built binary as a user would, with a clean, controllable environment. */
export function runBin(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number } = {}): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Captures what a command prints, for run-level tests without a process. */
export function memoryStreams(isTTY = false, columns?: number) {
  let stdout = '';
  let stderr = '';
  const mk = (push: (s: string) => void) =>
    ({ isTTY, columns: isTTY ? columns : undefined, write: (s: string | Uint8Array) => (push(typeof s === 'string' ? s : Buffer.from(s).toString('utf8')), true), on: () => undefined, once: () => undefined, off: () => undefined, removeListener: () => undefined }) as unknown as NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  return {
    streams: { stdout: mk((s) => (stdout += s)), stderr: mk((s) => (stderr += s)) },
    get stdout() { return stdout; },
    get stderr() { return stderr; },
  };
}

export interface InProcessOptions {
  /** The whole environment the command sees (default: an empty HOME-less one with PATH). */
  env?: NodeJS.ProcessEnv;
  /** What the command reads on stdin (default: nothing, at EOF). */
  stdin?: string | NodeJS.ReadableStream;
  /** Pretend stdin, stdout and stderr are a terminal (pickers, spinners, colour, table width). */
  isTTY?: boolean;
  /** Terminal width when isTTY. */
  columns?: number;
  runner?: import('../../src/lib/process.js').ProcessRunner;
}

/**
 * runCli (the real argv parsing, --json branch and error reporting) in this
 * process with memory streams: the argv/options tier's way to see exactly what
 * a user would, without a build or a child process.
 */
export async function runCliInProcess(argv: string[], opts: InProcessOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const { runCli } = await import('../../src/cli.js');
  const m = memoryStreams(Boolean(opts.isTTY), opts.columns);
  const stdin = (typeof opts.stdin === 'string' || opts.stdin === undefined ? Readable.from(opts.stdin === undefined ? [] : [opts.stdin]) : opts.stdin) as NodeJS.ReadableStream & { isTTY?: boolean };
  if (opts.isTTY) stdin.isTTY = true;
  const env = opts.env ?? { PATH: process.env.PATH, NO_COLOR: '1' };
  const code = await runCli(argv, { streams: m.streams, stdin, env, runner: opts.runner });
  return { code, stdout: m.stdout, stderr: m.stderr };
}
