import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createEcsApi } from '../../src/commands/ecs-ssh/aws.js';
import type { EcsSshOptions } from '../../src/commands/ecs-ssh/options.js';
import { run, type EcsSshDeps } from '../../src/commands/ecs-ssh/run.js';
import { scanSshConfig, SshResolver } from '../../src/commands/ecs-ssh/ssh-hosts.js';
import { ResolutionCache } from '../../src/commands/ecs-ssh/cache.js';
import { processRunner, type CommandSpec, type ProcessRunner } from '../../src/lib/process.js';
import type { Prompter } from '../../src/lib/prompt.js';
import { createPrompter } from '../../src/lib/prompt.js';
import type { EcsStandin } from '../support/ecs-standin.js';

/** A home with no ~/.ssh: only configs a test writes are read. */
export const testHome = mkdtempSync(path.join(os.tmpdir(), 'ecs-ssh-test-home-'));
const configDir = mkdtempSync(path.join(os.tmpdir(), 'ecs-ssh-test-cfg-'));
let n = 0;

/** Write an ssh_config; `entries` are Host blocks (HostName, User, anything else as extra lines). */
export function sshConfig(entries: Array<{ host: string; hostName?: string; user?: string; extra?: string[] }> | string): string {
  const file = path.join(configDir, `ssh_config_${++n}`);
  const text =
    typeof entries === 'string'
      ? entries
      : entries.map((e) => [`Host ${e.host}`, ...(e.hostName ? [`  HostName ${e.hostName}`] : []), ...(e.user ? [`  User ${e.user}`] : []), ...(e.extra ?? []).map((l) => `  ${l}`)].join('\n')).join('\n\n') + '\n';
  writeFileSync(file, text);
  chmodSync(file, 0o600);
  return file;
}

export const EMPTY_SSH_CONFIG = sshConfig('');

export function options(o: Partial<EcsSshOptions> = {}): EcsSshOptions {
  return { service: 'web', command: [], cluster: 'prod', all: false, list: false, print: false, sshConfig: EMPTY_SSH_CONFIG, fallbackUser: 'ec2-user', public: false, sshOptions: [], via: 'auto', cache: false, ...o };
}

/**
 * A runner that records what would run and answers with set exit codes;
 * `ssh -G` (asking OpenSSH about its config, connecting nowhere) really runs.
 */
export function recordingRunner(opts: { exitCodes?: number[]; missing?: string[] } = {}) {
  const specs: CommandSpec[] = [];
  const codes = [...(opts.exitCodes ?? [])];
  const runner: ProcessRunner = {
    which: (f) => (opts.missing?.includes(f) ? undefined : `/usr/bin/${f}`),
    run: async (spec) => {
      if (spec.file === 'ssh' && spec.args.includes('-G')) return processRunner.run(spec);
      specs.push(spec);
      return { exitCode: codes.length ? codes.shift()! : 0, stdout: spec.stdio === 'pipe' ? `out of ${spec.args.at(-1)}` : '', stderr: '' };
    },
  };
  return { runner, specs };
}

/** A terminal user who picks the answer `choose` returns, recording each question and its labels. */
export function ttyPrompter(choose: (labels: string[]) => number = () => 0) {
  const asked: Array<{ question: string; labels: string[] }> = [];
  const prompt: Prompter = {
    interactive: true,
    confirm: async () => true,
    pick: async (question, choices) => {
      const labels = choices.map((c) => c.label);
      asked.push({ question, labels });
      return choices[choose(labels)]!.value;
    },
  };
  return { prompt, asked };
}

/** What scripts and CI get: no TTY, so every question becomes an error naming the flag. */
export const noTtyPrompter = (): Prompter => createPrompter({ stdin: { isTTY: false } as never, stderr: { write: () => true } as never });

export function deps(
  standin: EcsStandin,
  o: { runner?: ProcessRunner; prompt?: Prompter; tty?: boolean; stdoutTty?: boolean; capture?: boolean; logs?: string[]; verbose?: string[]; cacheFile?: string; sshConfig?: string } = {},
): EcsSshDeps {
  const runner = o.runner ?? recordingRunner().runner;
  let resolver: SshResolver | undefined;
  return {
    api: createEcsApi({ region: 'eu-west-1' }, standin.env),
    runner,
    prompt: o.prompt ?? noTtyPrompter(),
    resolver: () => (resolver ??= new SshResolver(runner, scanSshConfig(o.sshConfig ?? EMPTY_SSH_CONFIG, testHome))),
    stdinIsTTY: o.tty ?? false,
    stdoutIsTTY: o.stdoutTty ?? o.tty ?? false,
    captureOutput: o.capture,
    log: (t) => o.logs?.push(t),
    verbose: (t) => (o.verbose ?? o.logs)?.push(t),
    cache: o.cacheFile ? { store: new ResolutionCache(o.cacheFile), key: (cluster, service) => JSON.stringify([cluster ?? '', service]) } : undefined,
  };
}

/** run() with options and deps built alike (the resolver reads the options' --ssh-config, as the command does). */
export function runEcs(standin: EcsStandin, o: Partial<EcsSshOptions> = {}, d: Parameters<typeof deps>[1] = {}) {
  const opts = options(o);
  return run(opts, deps(standin, { ...d, sshConfig: opts.sshConfig }));
}

/** How a POSIX shell on the far side splits a command line: the argv it would run. */
export function shellSplit(line: string): string[] {
  const r = spawnSync('sh', ['-c', 'eval "set -- $1"; for a in "$@"; do printf "%s\\0" "$a"; done', 'sh', line], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.split('\0').slice(0, -1);
}

export const HOSTILE = ['a b', "it's", '"dq"', '$(touch /tmp/pwned)', '`id`', 'x; rm -rf /', 'line1\nline2', '*', '$HOME', '\\', '-rf', '', '=ls', "=it's"];
