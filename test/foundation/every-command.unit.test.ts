/**
 * Every leaf of the command tree, walked from the registry (so a new command is
 * covered without editing this file): an unknown option under --json is one
 * JSON document on stdout, and `opsctl help <leaf>` is that leaf's page.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { buildProgram, forEachCommand, runCli } from '../../src/cli.js';
import { commandPath } from '../../src/help-pages.js';
import { memoryStreams } from '../support/cli.js';

const emptyEnv = () => ({ HOME: mkdtempSync(path.join(os.tmpdir(), 'home-')), PATH: process.env.PATH, NO_COLOR: '1' });
async function run(argv: string[]) {
  const m = memoryStreams();
  const code = await runCli(argv, { streams: m.streams, stdin: process.stdin, env: emptyEnv() });
  return { code, stdout: m.stdout, stderr: m.stderr };
}

const all: Command[] = [];
forEachCommand(buildProgram(), (c) => {
  if (c.name() !== 'help') all.push(c);
});
const leaves = all.filter((c) => c.commands.filter((k) => k.name() !== 'help').length === 0).map(commandPath);
const groups = all.filter((c) => c.commands.some((k) => k.name() !== 'help')).map(commandPath);

describe('every leaf command', () => {
  it('the tree has the five jobs and completion', () => {
    expect(leaves).toEqual(expect.arrayContaining(['ecs-ssh', 'cert list', 'pg explain', 'cognito migrate', 'pi audio status', 'completion']));
    expect(leaves.length).toBeGreaterThan(15);
  });

  it.each(leaves)('%s: an unknown option with --json is one JSON document on stdout, exit 2', async (leaf) => {
    for (const argv of [[...leaf.split(' '), '--no-such-option', '--json'], ['--json', ...leaf.split(' '), '--no-such-option=1']]) {
      const r = await run(argv);
      expect(r.code, r.stderr).toBe(2);
      const doc = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string; exitCode: number } };
      expect(Object.keys(doc)).toEqual(['error']);
      expect(doc.error).toMatchObject({ code: 'unknown-option', exitCode: 2 });
      expect(doc.error.message).toMatch(/unknown option '--no-such-option/);
      expect(doc.error.hint).toContain(`opsctl ${leaf} --help`);
      expect(r.stderr).toMatch(/^error: unknown option/);
      expect(r.stderr.trim().split('\n')).toHaveLength(2);
    }
  });

  it.each(leaves)('opsctl help %s: exit 0, that leaf’s page on stdout', async (leaf) => {
    const r = await run(['help', ...leaf.split(' ')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: opsctl ${leaf} `));
    expect(r.stdout).toContain('Global Options:');
    expect(r.stderr).toBe('');
  });

  it.each(groups)('opsctl help %s: exit 0, a group page with its subcommands and examples', async (group) => {
    const r = await run(['help', ...group.split(' ')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: opsctl ${group} `));
    expect(r.stdout).toContain('Commands:');
    expect(r.stdout).toMatch(/Examples:\n {2}\$ (sudo )?opsctl /);
  });
});
