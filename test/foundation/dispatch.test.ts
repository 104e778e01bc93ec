import { describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { commandName } from '../../src/lib/dispatch.js';
import { BUNDLED } from '../../src/launch.js';
import { memoryStreams, repoRoot } from '../support/cli.js';

describe('commandName (which command launch.ts loads)', () => {
  it('is the first word that is not a global option or its value', () => {
    expect(commandName(['ecs-ssh', 'web'])).toBe('ecs-ssh');
    expect(commandName(['--profile', 'prod', '--region', 'eu-west-1', 'ecs-ssh', 'web'])).toBe('ecs-ssh');
    expect(commandName(['--json', '--dry-run', '-v', '--verbose', '--debug', '--no-color', '--config', 'c.json', 'ecs-ssh'])).toBe('ecs-ssh');
    expect(commandName(['--profile=prod', '--region=eu-west-1', 'pg', 'explain'])).toBe('pg');
    // a global option's value is not the command
    expect(commandName(['--config', 'ecs-ssh', 'pg'])).toBe('pg');
  });

  it('undefined when it cannot tell: the caller takes the general path', () => {
    expect(commandName([])).toBeUndefined();
    expect(commandName(['--help'])).toBeUndefined();
    expect(commandName(['-V'])).toBeUndefined();
    expect(commandName(['--unknown', 'ecs-ssh'])).toBeUndefined();
    expect(commandName(['--profile'])).toBeUndefined();
  });
});

// What `npm run build` produced (npm test builds first).
describe('the ecs-ssh bundle (dist/bundles/ecs-ssh.cjs)', () => {
  const file = path.join(repoRoot, 'dist', 'bundles', 'ecs-ssh.cjs');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';

  it('exists, has no import() (it runs under the V8 code cache), and carries only the SDK operations ecs-ssh calls', () => {
    // every command launch.ts sends to a bundle has one
    for (const command of BUNDLED) expect(existsSync(path.join(repoRoot, 'dist', 'bundles', `${command}.cjs`)), command).toBe(true);
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/\bimport\(\s*["'`]/);
    for (const used of ['ListTasksCommand', 'DescribeTasksCommand', 'DescribeContainerInstancesCommand', 'DescribeInstancesCommand', 'ExecuteCommandCommand']) expect(text).toContain(`var ${used} = `);
    // the rest of EC2's ~700 operations and their schemas are trimmed away
    expect(text).not.toContain('RunInstancesCommand');
    expect(text).not.toContain('RunInstancesRequest$');
    expect(statSync(file).size).toBeLessThan(1.5 * 1024 * 1024);
  });

  it('is the full registry: ecs-ssh help comes from it; another command says it does not belong there', async () => {
    const { runCli } = createRequire(import.meta.url)(file) as { runCli: (argv: string[], io: unknown) => Promise<number> };
    let out = memoryStreams();
    expect(await runCli(['ecs-ssh', '--help'], { streams: out.streams, stdin: { isTTY: false }, env: {} })).toBe(0);
    expect(out.stdout).toContain('Usage: opsctl ecs-ssh [options] [service] [command...]');
    out = memoryStreams();
    expect(await runCli(['pg', 'slow'], { streams: out.streams, stdin: { isTTY: false }, env: {} })).toBe(1);
    expect(out.stderr).toContain('internal: ./commands/pg/slow.js is not in the ecs-ssh bundle; run with OPSCTL_NO_BUNDLE=1 and report this');
  });

  it('a bundle that does not load costs a warning, not the command: the ES modules run it', () => {
    const copy = mkdtempSync(path.join(os.tmpdir(), 'opsctl-damaged-'));
    for (const d of ['bin', 'dist', 'package.json']) cpSync(path.join(repoRoot, d), path.join(copy, d), { recursive: true });
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(copy, 'node_modules'));
    writeFileSync(path.join(copy, 'dist', 'bundles', 'ecs-ssh.cjs'), 'throw new Error("truncated download");');
    const r = spawnSync(process.execPath, [path.join(copy, 'bin', 'opsctl.cjs'), 'ecs-ssh', '--help'], { encoding: 'utf8', env: { ...process.env, HOME: copy, NO_COLOR: '1' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: opsctl ecs-ssh [options] [service] [command...]');
    expect(r.stderr).toBe(`warning: ${path.join(copy, 'dist', 'bundles', 'ecs-ssh.cjs')} did not load (truncated download); using the ES modules. Rebuild with \`npm run build\`.\n`);

    // and a CLI that cannot load at all is one line and a hint, exit 1
    rmSync(path.join(copy, 'dist', 'cli.js'));
    const broken = spawnSync(process.execPath, [path.join(copy, 'bin', 'opsctl.cjs'), 'cert', 'list'], { encoding: 'utf8', env: { ...process.env, HOME: copy, NO_COLOR: '1' } });
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/^error: opsctl could not start: Cannot find module '.*cli\.js' imported from .*\nhint: in a checkout, run `npm ci`/);
    expect(broken.stderr.trim().split('\n')).toHaveLength(2);
    const debug = spawnSync(process.execPath, [path.join(copy, 'bin', 'opsctl.cjs'), '--debug', 'cert', 'list'], { encoding: 'utf8', env: { ...process.env, HOME: copy } });
    expect(debug.status).toBe(1);
    expect(debug.stderr).toMatch(/^error: opsctl could not start: .*\nError \[ERR_MODULE_NOT_FOUND\]: .*\n +at /);

    // a command that stops without finishing (its promise never settles) is a failure, not a silent 0
    writeFileSync(path.join(copy, 'dist', 'cli.js'), 'export async function runCli() { return new Promise(() => {}); }\n');
    const stuck = spawnSync(process.execPath, [path.join(copy, 'bin', 'opsctl.cjs'), 'cert', 'list'], { encoding: 'utf8', env: { ...process.env, HOME: copy } });
    expect({ status: stuck.status, stderr: stuck.stderr }).toEqual({ status: 1, stderr: 'error: opsctl stopped before the command finished (a bug: please report it, with --debug output)\n' });

    // no build at all: the bin says so in one line
    rmSync(path.join(copy, 'dist', 'launch.cjs'));
    const unbuilt = spawnSync(process.execPath, [path.join(copy, 'bin', 'opsctl.cjs'), '--help'], { encoding: 'utf8', env: { ...process.env, HOME: copy } });
    expect(unbuilt.status).toBe(1);
    expect(unbuilt.stderr).toMatch(/^error: opsctl could not start: Cannot find module '.*launch\.cjs'\nhint: in a checkout, run `npm ci` \(it builds dist\/\)/);
    expect(unbuilt.stderr.trim().split('\n')).toHaveLength(2);
  });
});

describe('commandName knows every global option the registry declares', () => {
  it('skips each of them (and its value) to find the command', async () => {
    const { buildProgram } = await import('../../src/cli.js');
    const options = buildProgram().options.filter((o) => !['--version', '--help'].includes(o.long ?? ''));
    expect(options.length).toBeGreaterThan(5);
    for (const o of options) {
      const words = o.required || o.optional ? [o.long!, 'value'] : [o.long!];
      expect(commandName([...words, 'ecs-ssh']), o.flags).toBe('ecs-ssh');
      if (o.short) expect(commandName([o.short, ...words.slice(1), 'ecs-ssh']), o.flags).toBe('ecs-ssh');
    }
  });
});

describe('bin/opsctl.js (the old entry name)', () => {
  it('runs the same entry as bin/opsctl.cjs, so links made to the old name keep working', () => {
    for (const args of [['--version'], ['ecs-ssh', '--help'], ['no-such-command']]) {
      const viaOld = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'opsctl.js'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      const viaNew = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'opsctl.cjs'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      expect({ status: viaOld.status, stdout: viaOld.stdout, stderr: viaOld.stderr }).toEqual({ status: viaNew.status, stdout: viaNew.stdout, stderr: viaNew.stderr });
    }
  });
});
