import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCliInProcess } from '../support/cli.js';

const home = () => mkdtempSync(path.join(os.tmpdir(), 'home-'));

describe('runCliInProcess: the real CLI in this process, with memory streams', () => {
  it('a usage error: exit 2, the message and hint on stderr, nothing on stdout', async () => {
    const r = await runCliInProcess(['cert', 'isue'], { env: { HOME: home(), PATH: process.env.PATH } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("unknown command 'isue'");
  });

  it('a command result: --json prints one document on stdout', async () => {
    const h = home();
    const r = await runCliInProcess(['--json', 'cert', 'list', '--cert-dir', path.join(h, 'certs')], { env: { HOME: h, PATH: process.env.PATH } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toBeTypeOf('object');
  });
});
