import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildProgram, runCli, forEachCommand } from '../../src/cli.js';
import { commandTree } from '../../src/commands/completion/index.js';
import { memoryStreams, runBin } from '../support/cli.js';

const emptyEnv = () => ({ HOME: mkdtempSync(path.join(os.tmpdir(), 'home-')), PATH: process.env.PATH });

describe('argv → options', () => {
  it('registers the whole command tree', () => {
    const paths = commandTree(buildProgram()).nodes.map((n) => n.path);
    for (const p of ['ecs-ssh', 'cognito migrate', 'cognito trigger scaffold', 'cognito token verify', 'cert issue', 'cert renew', 'cert push', 'cert list', 'pg explain', 'pg slow', 'pg demo', 'pi audio setup', 'pi audio status', 'pi audio pair', 'pi audio uninstall', 'completion']) {
      expect(paths).toContain(p);
    }
  });

  it('every leaf command has an examples section in its help', () => {
    const program = buildProgram();
    forEachCommand(program, (c) => {
      if (c.commands.length === 0) {
        let help = '';
        c.configureOutput({ writeOut: (s) => (help += s) });
        c.outputHelp();
        expect(help, c.name()).toContain('Examples:');
      }
    });
  });

  it('parses global options anywhere and repeatable options into lists', async () => {
    const state: Parameters<typeof buildProgram>[0] = {};
    const program = buildProgram(state);
    await program.parseAsync(['ecs-ssh', 'web', '--json', '--cluster', 'prod', '--ssh-option', 'A=1', '--ssh-option', 'B=2', '--profile', 'p', '--', 'sh', '-c', 'echo "$HOME"'], { from: 'user' });
    expect(state.run?.args).toEqual(['web', ['sh', '-c', 'echo "$HOME"']]);
    expect(state.run?.opts).toMatchObject({ cluster: 'prod', sshOption: ['A=1', 'B=2'] });
    expect(state.run?.cmd.optsWithGlobals()).toMatchObject({ json: true, profile: 'p' });
  });

  it('a bad number is a usage error (exit 2)', async () => {
    const m = memoryStreams();
    expect(await runCli(['pg', 'explain', 'select 1', '--timeout', 'soon'], { streams: m.streams, stdin: process.stdin, env: emptyEnv() })).toBe(2);
    expect(m.stderr).toContain('--timeout must be a positive number');
  });
});

describe('run with dependencies handed in', () => {
  it('prints unknown errors as one line with a --debug hint, stack only with --debug', async () => {
    const { runCli: run } = await import('../../src/cli.js');
    const m = memoryStreams();
    // completion with a shell commander rejects → usage
    expect(await run(['completion', 'tcsh'], { streams: m.streams, stdin: process.stdin, env: emptyEnv() })).toBe(2);
    expect(m.stderr).toMatch(/'tcsh' is invalid/);
  });

});

describe('the built binary', () => {
  it('--help lists every command and exits 0', async () => {
    const r = await runBin(['--help'], { env: emptyEnv() });
    expect(r.code).toBe(0);
    for (const c of ['ecs-ssh', 'cognito', 'cert', 'pg', 'pi', 'completion']) expect(r.stdout).toContain(c);
    expect(r.stderr).toBe('');
  });
  it('--version prints the package version', async () => {
    const r = await runBin(['--version'], { env: emptyEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
  it('an unknown command exits 2 with a suggestion', async () => {
    const r = await runBin(['cert', 'isue'], { env: emptyEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'isue'");
    expect(r.stderr).toContain('issue');
    expect(r.stdout).toBe('');
  });
  it('a malformed config file exits 2 naming the file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
    writeFileSync(path.join(dir, 'config.json'), '{"ecs": {');
    const r = await runBin(['completion', 'bash'], { env: { ...emptyEnv(), OPSCTL_CONFIG: path.join(dir, 'config.json') } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(path.join(dir, 'config.json'));
    expect(r.stderr).toContain('not valid JSON');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
  it('completion bash prints a script that bash accepts', async () => {
    const r = await runBin(['completion', 'bash'], { env: emptyEnv() });
    expect(r.code).toBe(0);
    expect(spawnSync('bash', ['-n', '-c', r.stdout]).status).toBe(0);
  });
});
