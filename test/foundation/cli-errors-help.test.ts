import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram, forEachCommand, runCli } from '../../src/cli.js';
import { suggest } from '../../src/help-pages.js';
import { jsonRequested } from '../../src/usage-errors.js';
import { memoryStreams, runBin } from '../support/cli.js';

const emptyEnv = () => ({ HOME: mkdtempSync(path.join(os.tmpdir(), 'home-')), PATH: process.env.PATH });
async function run(argv: string[]) {
  const m = memoryStreams();
  const code = await runCli(argv, { streams: m.streams, stdin: process.stdin, env: emptyEnv() });
  return { code, stdout: m.stdout, stderr: m.stderr };
}

/** The one JSON document a --json failure prints: nothing before or after it on stdout. */
function errorDocument(stdout: string) {
  const doc = JSON.parse(stdout) as { error: Record<string, unknown> };
  expect(Object.keys(doc)).toEqual(['error']);
  expect(Object.keys(doc.error).sort()).toEqual(['code', 'exitCode', 'hint', 'message']);
  expect(String(doc.error.message)).not.toContain('\n');
  return doc.error;
}

describe('--json: every failure is one JSON document on stdout', () => {
  it.each([
    [['--json', 'cert', 'isue'], 'unknown-command', "unknown command 'isue'", /did you mean `opsctl cert issue`\? see `opsctl cert --help`/],
    [['nope', '--json'], 'unknown-command', "unknown command 'nope'", /^the commands are ecs-ssh, cognito, cert, pg, pi, completion; see `opsctl --help`$/],
    [['pg', 'explain', 'select 1', '--verfy', 'hypo', '--json'], 'unknown-option', "unknown option '--verfy'", /did you mean `--verify`\? see `opsctl pg explain --help`/],
    [['--json', '--bogus'], 'unknown-option', "unknown option '--bogus'", /see `opsctl --help`/],
    [['pg', 'explain', '--verify', 'maybe', '--json'], 'invalid-value', /argument 'maybe' is invalid\. Allowed choices are hypo, real/, /opsctl pg explain --help/],
    [['--json', 'completion'], 'missing-argument', "missing required argument 'shell'", /opsctl completion --help/],
    [['--json', 'completion', 'tcsh'], 'invalid-value', /'tcsh' is invalid/, /opsctl completion --help/],
    [['--json', 'cognito', 'token', 'verify', 'x', '--user-pool-id'], 'missing-option-value', /option '--user-pool-id <id>' argument missing/, /opsctl cognito token verify --help/],
    [['--json', 'cert', 'list', 'extra'], 'too-many-arguments', /too many arguments for 'list'/, /opsctl cert list --help/],
    [['--json', 'pi', 'audio'], 'missing-command', 'opsctl pi audio needs a subcommand: setup, status, pair, uninstall.', /opsctl pi audio --help/],
    [['--json', 'pg', 'explain', 'select 1', '--timeout', 'soon'], 'usage', /--timeout must be a positive number, got "soon"/, /^see `opsctl pg explain --help`$/],
    [['--json', 'help', 'pg', 'explian'], 'unknown-command', "unknown command 'explian'", /did you mean `opsctl pg explain`\?/],
  ] as const)('%j', async (argv, code, message, hint) => {
    const r = await run([...argv]);
    expect(r.code).toBe(2);
    const error = errorDocument(r.stdout);
    expect(error.code).toBe(code);
    expect(error.exitCode).toBe(2);
    if (typeof message === 'string') expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
    expect(error.hint).toMatch(hint);
    // Still one line + hint on stderr for the human watching, never commander's raw text or a stack.
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).not.toMatch(/\n\s+at |Usage:/);
  });

  it('a command failure has the same shape', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'certs-'));
    const r = await run(['--json', 'cert', 'push', 'heroku', '-d', 'nothing.example', '--cert-dir', dir]);
    expect(r.code).not.toBe(0);
    expect(errorDocument(r.stdout).exitCode).toBe(r.code);
  });

  it('--json after -- belongs to the command, not to opsctl', () => {
    expect(jsonRequested(['ecs-ssh', 'web', '--', 'aws', 'sts', '--json'])).toBe(false);
    expect(jsonRequested(['ecs-ssh', '--json', 'web', '--', 'x'])).toBe(true);
  });

  it('without --json a usage error is one line and a hint on stderr, nothing on stdout', async () => {
    const r = await run(['cert', 'isue']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("error: unknown command 'isue'\nhint: did you mean `opsctl cert issue`? see `opsctl cert --help`\n");
  });

  it('--help and --version are unaffected by --json', async () => {
    const help = await run(['--json', 'pg', 'explain', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: opsctl pg explain');
    const version = await run(['--version', '--json']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('help', () => {
  const helpOf = async (argv: string[]) => {
    const r = await run(argv);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    return r.stdout;
  };

  it('`opsctl help pg explain`, `opsctl pg help explain` and `opsctl pg explain --help` are the same page', async () => {
    const page = await helpOf(['pg', 'explain', '--help']);
    expect(page).toMatch(/^Usage: opsctl pg explain/);
    expect(await helpOf(['help', 'pg', 'explain'])).toBe(page);
    expect(await helpOf(['pg', 'help', 'explain'])).toBe(page);
  });

  it('help for groups at any depth', async () => {
    expect(await helpOf(['help', 'cert'])).toBe(await helpOf(['cert', '--help']));
    expect(await helpOf(['help', 'pi', 'audio'])).toBe(await helpOf(['pi', 'audio', '--help']));
    expect(await helpOf(['cognito', 'help', 'trigger', 'scaffold'])).toBe(await helpOf(['cognito', 'trigger', 'scaffold', '--help']));
    expect(await helpOf(['help'])).toBe(await helpOf(['--help']));
  });

  it('an unknown command after help is a usage error with a suggestion', async () => {
    const r = await run(['help', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("error: unknown command 'nope'\nhint: the commands are ecs-ssh, cognito, cert, pg, pi, completion; see `opsctl --help`\n");
    const typo = await run(['help', 'cert', 'isue']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean `opsctl cert issue`?');
    const tooDeep = await run(['help', 'cert', 'list', 'more']);
    expect(tooDeep.code).toBe(2);
    expect(tooDeep.stderr).toContain('opsctl cert list has no subcommands');
  });

  const pages: Array<[string, Command]> = [];
  forEachCommand(buildProgram(), (c) => {
    const names: string[] = [];
    for (let x: Command | null = c; x?.parent; x = x.parent) names.unshift(x.name());
    pages.push([names.join(' '), c]);
  });
  const render = (c: Command) => {
    let text = '';
    c.configureOutput({ writeOut: (s) => (text += s) });
    c.outputHelp();
    return text;
  };

  it('every group page has an Examples block, and lists help', () => {
    const groups = pages.filter(([, c]) => c.commands.length > 0);
    expect(groups.map(([p]) => p)).toEqual(expect.arrayContaining(['cognito', 'cognito trigger', 'cognito token', 'cert', 'pg', 'pi', 'pi audio']));
    for (const [p, c] of groups) {
      const page = render(c);
      expect(page, p).toMatch(/\nExamples:\n {2}\$ (sudo )?opsctl /);
      expect(page, p).toMatch(/\n {2}help \[command\.\.\.\]/);
    }
  });

  it('leaf pages list the global options that apply there', () => {
    const section = (page: string) => page.split('Global Options:\n')[1]?.split('\n\n')[0] ?? '';
    const globals = (p: string) => section(render(pages.find(([q]) => q === p)![1]));
    for (const [p] of pages.filter(([, c]) => c.commands.length === 0 && c.name() !== 'help')) {
      const g = globals(p);
      for (const always of ['--json', '--verbose', '--debug', '--no-color', '--config']) expect(g, p).toContain(always);
      expect(g, p).not.toContain('--version');
    }
    // AWS options only where AWS is called; --dry-run only where something would change.
    for (const p of ['ecs-ssh', 'cognito migrate', 'cert issue', 'cert push']) expect(globals(p), p).toMatch(/--profile <name>[\s\S]*--region <region>/);
    for (const p of ['pg explain', 'pi audio setup', 'cert list']) expect(globals(p), p).not.toContain('--profile');
    expect(globals('cert list')).not.toContain('--dry-run');
    expect(globals('pi audio status')).not.toContain('--dry-run');
    expect(globals('pi audio setup')).toContain('--dry-run');
  });

  it('suggests the nearest name only when it is close', () => {
    expect(suggest('isue', ['issue', 'renew'])).toBe('issue');
    expect(suggest('explian', ['explain', 'slow', 'demo'])).toBe('explain');
    expect(suggest('xyz', ['issue', 'renew'])).toBeUndefined();
  });
});

describe('the built binary', () => {
  it('a usage error with --json: one JSON document on stdout, exit 2', async () => {
    const r = await runBin(['--json', 'cert', 'isue'], { env: emptyEnv() });
    expect(r.code).toBe(2);
    expect(errorDocument(r.stdout)).toMatchObject({ code: 'unknown-command', exitCode: 2 });
  });
  it('an unknown option with --json anywhere', async () => {
    const r = await runBin(['pg', 'explain', '--verfy', 'hypo', '--json'], { env: emptyEnv() });
    expect(r.code).toBe(2);
    expect(errorDocument(r.stdout)).toMatchObject({ code: 'unknown-option', message: "unknown option '--verfy'" });
  });
  it('`opsctl help pg explain` exits 0 with the leaf page', async () => {
    const r = await runBin(['help', 'pg', 'explain'], { env: emptyEnv() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: opsctl pg explain/);
    expect(r.stdout).toContain('Global Options:');
  });
});
