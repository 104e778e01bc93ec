import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processRunner } from '../../src/lib/process.js';
import { isOpsError } from '../../src/lib/errors.js';

const sh = (script: string, extra: Partial<Parameters<typeof processRunner.run>[0]> = {}) => processRunner.run({ file: 'sh', args: ['-c', script], ...extra });

describe('the process runner (node:child_process behind ProcessRunner)', () => {
  it('captures stdout and stderr whole (final newline kept) and the exit code', async () => {
    expect(await sh('printf "out\\n\\n"; printf err >&2; exit 3')).toEqual({ exitCode: 3, signal: undefined, stdout: 'out\n\n', stderr: 'err' });
  });

  it('writes input to stdin, and without input stdin is at EOF at once', async () => {
    expect((await sh('cat', { input: 'a\nb' })).stdout).toBe('a\nb');
    const started = Date.now();
    expect((await sh('cat; echo done')).stdout).toBe('done\n');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('the env handed in is the whole environment (not merged into this process’s)', async () => {
    const r = await processRunner.run({ file: '/usr/bin/env', args: [], env: { ONLY: 'this' } });
    expect(r.stdout).toBe('ONLY=this\n');
  });

  it('a program that is not installed is one OpsError naming it, with a hint', async () => {
    const err = await processRunner.run({ file: 'definitely-not-a-program-xyz', args: [] }).catch((e) => e);
    expect(isOpsError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'missing-program', exitCode: 1, message: 'definitely-not-a-program-xyz is not installed (not found on PATH).', hint: 'install definitely-not-a-program-xyz and try again' });
  });

  it('a timeout kills the program: exit 128+SIGTERM, signal named', async () => {
    const started = Date.now();
    const r = await sh('exec sleep 10', { timeoutMs: 200 });
    expect(r).toMatchObject({ exitCode: 143, signal: 'SIGTERM' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a program killed by a signal reports 128+N', async () => {
    expect(await sh('kill -9 $$')).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
  });

  it('an AbortSignal (Ctrl-C) stops it: OpsError interrupted, exit 130 — also when already aborted', async () => {
    const controller = new AbortController();
    const running = sh('exec sleep 10', { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await expect(running).rejects.toMatchObject({ code: 'interrupted', exitCode: 130, message: 'sh was interrupted.' });
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(sh('exit 0', { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'interrupted', exitCode: 130 });
  });

  it("'inherit' hands the child this process's stdio and captures nothing", () => {
    // In a child node so the inherited stdout is a pipe we can read.
    const script = `import('${new URL('../../src/lib/process.ts', import.meta.url).pathname}').then(async ({ processRunner }) => {
      const r = await processRunner.run({ file: 'sh', args: ['-c', 'echo to-terminal; exit 4'], stdio: 'inherit' });
      process.stderr.write(JSON.stringify(r));
    })`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
    expect(r.stdout).toBe('to-terminal\n');
    expect(JSON.parse(r.stderr)).toEqual({ exitCode: 4, stdout: '', stderr: '' });
  });
  it('a program still running when opsctl exits is stopped with it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'runner-exit-'));
    const pidFile = path.join(dir, 'pid');
    const script = `import('${new URL('../../src/lib/process.ts', import.meta.url).pathname}').then(({ processRunner }) => {
      void processRunner.run({ file: 'sh', args: ['-c', 'echo $$ > ${pidFile}; exec sleep 30'] });
      const wait = setInterval(() => { if (require('node:fs').existsSync('${pidFile}')) { clearInterval(wait); process.exit(0); } }, 20);
    })`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // Gone, or a zombie waiting for a PID 1 that does not reap (containers): either way it no longer runs.
    const alive = () => {
      try {
        return !/^\S+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await new Promise((res) => setTimeout(res, 20));
    expect(alive()).toBe(false);
  });
});
