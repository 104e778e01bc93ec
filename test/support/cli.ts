import { spawn } from 'node:child_process';
import path from 'node:path';
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
export function memoryStreams(isTTY = false) {
  let stdout = '';
  let stderr = '';
  const mk = (push: (s: string) => void) => ({ isTTY, write: (s: string | Uint8Array) => (push(String(s)), true) }) as unknown as NodeJS.WritableStream & { isTTY?: boolean };
  return {
    streams: { stdout: mk((s) => (stdout += s)), stderr: mk((s) => (stderr += s)) },
    get stdout() { return stdout; },
    get stderr() { return stderr; },
  };
}
