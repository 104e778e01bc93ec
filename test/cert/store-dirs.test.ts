import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCliInProcess } from '../support/cli.js';
import { makeDirs } from '../../src/commands/cert/store-fs.js';

// Node's mkdir({ recursive: true }) loops forever under /proc; an unwritable --cert-dir must fail in one line instead.
const withinSeconds = <T>(p: Promise<T>, s = 10) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running after ${s} s`)), s * 1000))]);

describe('cert store directories that cannot be made', () => {
  it.skipIf(!existsSync('/proc/self'))('cert renew --cert-dir under /proc fails with one line, not a hang', async () => {
    const r = await withinSeconds(runCliInProcess(['cert', 'renew', '--cert-dir', '/proc/opsctl-no-such/certs']));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: Cannot write to the certificate store \/proc\/opsctl-no-such\/certs: \w+\.\nhint: .*--cert-dir\n$/);
  });

  it.skipIf(!existsSync('/proc/self'))('cert issue --cert-dir under /proc fails before the CA is asked', async () => {
    const r = await withinSeconds(runCliInProcess(['cert', 'issue', '-d', 'example.com', '--email', 'ops@example.com', '--standalone', '--http-port', '1', '--directory', 'https://127.0.0.1:1/dir', '--cert-dir', '/proc/opsctl-no-such', '--json']));
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe('cert-store-unwritable');
  });

  it('cert renew --cert-dir below a file says ENOTDIR', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'opsctl-certdirs-'));
    await writeFile(path.join(dir, 'file'), '');
    const r = await runCliInProcess(['cert', 'renew', '--cert-dir', path.join(dir, 'file', 'certs')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ENOTDIR');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('makeDirs creates every missing level with the mode asked for', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'opsctl-certdirs-'));
    const deep = path.join(dir, 'a', 'b', 'c');
    await makeDirs(deep, 0o700);
    await makeDirs(deep, 0o700); // already there: fine
    expect((await stat(deep)).isDirectory()).toBe(true);
    expect((await stat(path.join(dir, 'a'))).mode & 0o777).toBe(0o700 & ~process.umask());
  });
});
