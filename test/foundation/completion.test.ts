/**
 * The completion scripts, installed the README way and driven in the real
 * shells: bash (the registered function called with COMP_WORDS/COMP_CWORD),
 * zsh (a fresh `zsh -f` on a pseudo-terminal, _opsctl on $fpath, compinit, TAB)
 * and fish (its completions directory, `complete -C`). Expected candidates are
 * read from the commander program, so a command added to cli.ts is checked too.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildProgram, forEachCommand, runCli } from '../../src/cli.js';
import { listProfiles } from '../../src/lib/aws-config.js';
import { memoryStreams } from '../support/cli.js';
import { hasTool, inCI } from '../support/tools.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const program = buildProgram();

// ── what the program says should complete ─────────────────────────────────────
const pathOf = (c: Command): string => (c.parent ? [pathOf(c.parent), c.name()].filter(Boolean).join(' ') : '');
const commands: Command[] = [];
forEachCommand(program, (c) => commands.push(c));
const groups = [program, ...commands.filter((c) => c.commands.length > 0)];
const leaves = commands.filter((c) => c.commands.length === 0 && c.name() !== 'help');
const globalLongs = [...program.options.map((o) => o.long!), '--help'];

interface Case {
  line: string;
  expected: string[];
}
const cases: Case[] = [
  ...groups.map((g) => ({ line: `opsctl ${pathOf(g)} `.replace(/  +/, ' '), expected: g.commands.map((c) => c.name()) })),
  ...leaves.map((l) => ({ line: `opsctl ${pathOf(l)} --`, expected: [...l.options.map((o) => o.long!), ...globalLongs] })),
  ...leaves.flatMap((l) => l.options.filter((o) => o.argChoices).map((o) => ({ line: `opsctl ${pathOf(l)} ${o.long} `, expected: o.argChoices! }))),
  // Option values are skipped while finding the command path; globals work before the command.
  { line: 'opsctl --region eu-west-1 pi audio s', expected: ['setup', 'status'] },
  { line: 'opsctl --profile dev pg explain --verify r', expected: ['real'] },
  { line: 'opsctl pg explain --ver', expected: ['--verify', '--version', '--verbose'] },
  { line: 'opsctl completion ', expected: ['bash', 'zsh', 'fish'] },
  { line: 'opsctl pg help ', expected: ['explain', 'slow', 'demo'] },
  { line: 'opsctl help ', expected: ['ecs-ssh', 'cognito', 'cert', 'pg', 'pi', 'completion'] },
  { line: 'opsctl help pi audio ', expected: ['setup', 'status', 'pair', 'uninstall'] },
  { line: 'opsctl cognito help trigger ', expected: ['scaffold'] },
];
// --profile from the AWS config files as they are when TAB is pressed.
const profileCases: Case[] = [
  { line: 'opsctl --profile ', expected: ['default', 'dev-admin', 'prod', 'ci'] },
  { line: 'opsctl cert issue --profile d', expected: ['default', 'dev-admin'] },
];

const norm = (xs: string[]) => [...new Set(xs)].sort();

// ── the environment a new shell would have ────────────────────────────────────
let home: string;
let env: NodeJS.ProcessEnv;
const scripts: Record<string, string> = {};

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'completion-home-'));
  mkdirSync(path.join(home, '.aws'));
  writeFileSync(path.join(home, '.aws', 'config'), '[default]\nregion = eu-west-1\n\n[profile dev-admin]\nregion = eu-west-2\n\n[sso-session corp]\nsso_region = eu-west-1\n\n[profile prod]\nsso_session = corp\n');
  writeFileSync(path.join(home, '.aws', 'credentials'), '[ci]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n');
  // fish autoloads a command's completions only when the command exists on PATH.
  mkdirSync(path.join(home, 'bin'));
  writeFileSync(path.join(home, 'bin', 'opsctl'), '#!/bin/sh\nexit 0\n');
  chmodSync(path.join(home, 'bin', 'opsctl'), 0o755);
  env = { HOME: home, PATH: `${path.join(home, 'bin')}:${process.env.PATH}`, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local', 'share'), TERM: 'xterm', LANG: 'C.UTF-8' };
  for (const shell of ['bash', 'zsh', 'fish']) {
    const m = memoryStreams();
    expect(await runCli(['completion', shell], { streams: m.streams, stdin: process.stdin, env })).toBe(0);
    scripts[shell] = m.stdout;
  }
  return () => rmSync(home, { recursive: true, force: true });
});

// ── shell drivers: each runs every line in one shell process ───────────────────
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(lines: string[], extraEnv: NodeJS.ProcessEnv = {}): string[][] {
  // Installed the README way: the script saved to a file that ~/.bashrc sources.
  const file = path.join(home, '.local', 'share', 'opsctl', 'completion.bash');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, scripts.bash!);
  writeFileSync(path.join(home, '.bashrc'), `source ${sq(file)}\n`);
  const calls = lines.map((line) => {
    const words = line.split(' ');
    return `COMP_WORDS=(${words.map(sq).join(' ')}); COMP_CWORD=${words.length - 1}; COMP_LINE=${sq(line)}; COMP_POINT=${line.length}; COMPREPLY=(); "$fn" opsctl ${sq(words.at(-1)!)} ${sq(words.at(-2) ?? '')}; printf '%s\\n' "\${COMPREPLY[@]}" __done__`;
  });
  const program = `source ~/.bashrc
spec="$(complete -p opsctl)" || exit 7
fn="\${spec#*-F }"; fn="\${fn%% *}"
${calls.join('\n')}`;
  const res = spawnSync('bash', ['--norc', '--noprofile', '-c', program], { encoding: 'utf8', env: { ...env, ...extraEnv } });
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
  return split(res.stdout);
}

function zsh(lines: string[], extraEnv: NodeJS.ProcessEnv = {}): string[][] {
  // Installed the README way: _opsctl in a directory on $fpath, compinit in a new shell.
  const dir = path.join(home, '.zfunc');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, '_opsctl'), scripts.zsh!);
  const out = path.join(mkdtempSync(path.join(home, 'zsh-')), 'candidates');
  const res = spawnSync('zsh', ['-f', path.join(here, 'shells', 'zsh-complete.zsh'), dir, out, ...lines], { encoding: 'utf8', env: { ...env, ...extraEnv }, timeout: 60_000 });
  expect(res.status, res.stderr).toBe(0);
  return split(readFileSync(out, 'utf8')).map((c) => c.map((w) => w.replace(/\\(.)/g, '$1')));
}

function fish(lines: string[], extraEnv: NodeJS.ProcessEnv = {}): string[][] {
  // Installed the README way: ~/.config/fish/completions/opsctl.fish, autoloaded.
  const dir = path.join(home, '.config', 'fish', 'completions');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'opsctl.fish'), scripts.fish!);
  const res = spawnSync('fish', ['-c', 'for l in $argv; complete -C "$l"; echo __done__; end', ...lines], { encoding: 'utf8', env: { ...env, ...extraEnv } });
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
  return split(res.stdout).map((c) => c.map((w) => w.split('\t')[0]!));
}

function split(output: string): string[][] {
  const groups: string[][] = [[]];
  for (const line of output.split('\n')) {
    if (line === '__done__') groups.push([]);
    else if (line !== '') groups.at(-1)!.push(line);
  }
  return groups.slice(0, -1);
}

const shells = { bash, zsh, fish } as const;

describe.each(Object.keys(shells) as Array<keyof typeof shells>)('%s completion', (shell) => {
  const missing = !hasTool(shell) && !inCI;
  it.skipIf(missing)("completes every group's subcommands, every leaf's options and every option's choices", () => {
    const got = shells[shell](cases.map((c) => c.line));
    expect(got).toHaveLength(cases.length);
    cases.forEach((c, i) => expect(norm(got[i]!), `${shell}: ${c.line}`).toEqual(norm(c.expected)));
  });

  it.skipIf(missing)('completes --profile from the AWS config and credentials files, honouring AWS_CONFIG_FILE', () => {
    const got = shells[shell](profileCases.map((c) => c.line));
    profileCases.forEach((c, i) => expect(norm(got[i]!), `${shell}: ${c.line}`).toEqual(norm(c.expected)));
    // The same names opsctl itself knows (the unknown-profile hint lists these).
    expect(norm(got[0]!)).toEqual(listProfiles(env));

    const other = path.join(home, 'other-config');
    writeFileSync(other, '[profile staging]\nregion = us-east-1\n[profile stage-two]\n');
    const [moved] = shells[shell](['opsctl --profile st'], { AWS_CONFIG_FILE: other, AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none') });
    expect(norm(moved!)).toEqual(['stage-two', 'staging']);
  });
});

describe('the scripts', () => {
  it('bash registers a completion function for opsctl', () => {
    const res = spawnSync('bash', ['--norc', '--noprofile', '-c', `${scripts.bash}\ncomplete -p opsctl`], { encoding: 'utf8' });
    expect(res.stdout.trim()).toBe('complete -F _opsctl opsctl');
  });

  it('zsh: can also be sourced after compinit (registers with compdef)', () => {
    if (!hasTool('zsh') && !inCI) return;
    const file = path.join(home, 'opsctl.zsh');
    writeFileSync(file, scripts.zsh!);
    const res = spawnSync('zsh', ['-f', '-c', `autoload -Uz compinit && compinit -u -D && source ${sq(file)} && print -r -- $_comps[opsctl]`], { encoding: 'utf8', env });
    expect(res.stdout.trim()).toBe('_opsctl');
  });

  it('--json prints the script inside the result document', async () => {
    const m = memoryStreams();
    expect(await runCli(['completion', 'fish', '--json'], { streams: m.streams, stdin: process.stdin, env })).toBe(0);
    expect(JSON.parse(m.stdout)).toEqual({ shell: 'fish', script: scripts.fish });
  });

  it('an unknown shell is a usage error naming the choices', async () => {
    const m = memoryStreams();
    expect(await runCli(['completion', 'tcsh'], { streams: m.streams, stdin: process.stdin, env })).toBe(2);
    expect(m.stderr).toMatch(/'tcsh' is invalid.*bash, zsh, fish/);
  });
});
