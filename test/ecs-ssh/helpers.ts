import { spawnSync } from 'node:child_process';
import { createEcsApi } from '../../src/commands/ecs-ssh/aws.js';
import type { EcsSshOptions } from '../../src/commands/ecs-ssh/options.js';
import type { EcsSshDeps } from '../../src/commands/ecs-ssh/run.js';
import type { SshConfigHosts } from '../../src/commands/ecs-ssh/ssh-hosts.js';
import type { CommandSpec, ProcessRunner } from '../../src/lib/process.js';
import type { Prompter } from '../../src/lib/prompt.js';
import { createPrompter } from '../../src/lib/prompt.js';
import type { EcsStandin } from '../support/ecs-standin.js';

export function options(o: Partial<EcsSshOptions> = {}): EcsSshOptions {
  return { service: 'web', command: [], cluster: 'prod', all: false, list: false, print: false, fallbackUser: 'ec2-user', public: false, sshOptions: [], ...o };
}

/** A runner that records what would run and answers with set exit codes. */
export function recordingRunner(opts: { exitCodes?: number[]; missing?: string[] } = {}) {
  const specs: CommandSpec[] = [];
  const codes = [...(opts.exitCodes ?? [])];
  const runner: ProcessRunner = {
    which: (f) => (opts.missing?.includes(f) ? undefined : `/usr/bin/${f}`),
    run: async (spec) => {
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

export function deps(standin: EcsStandin, o: { hosts?: SshConfigHosts; runner?: ProcessRunner; prompt?: Prompter; tty?: boolean; capture?: boolean; logs?: string[] } = {}): EcsSshDeps {
  return {
    api: createEcsApi({ region: 'eu-west-1' }, standin.env),
    runner: o.runner ?? recordingRunner().runner,
    prompt: o.prompt ?? noTtyPrompter(),
    sshHosts: () => o.hosts ?? { file: '/home/dev/.ssh/config', entries: [] },
    stdinIsTTY: o.tty ?? false,
    captureOutput: o.capture,
    log: (t) => o.logs?.push(t),
  };
}

/** How a POSIX shell on the far side splits a command line: the argv it would run. */
export function shellSplit(line: string): string[] {
  const r = spawnSync('sh', ['-c', 'eval "set -- $1"; for a in "$@"; do printf "%s\\0" "$a"; done', 'sh', line], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.split('\0').slice(0, -1);
}

export const HOSTILE = ['a b', "it's", '"dq"', '$(touch /tmp/pwned)', '`id`', 'x; rm -rf /', 'line1\nline2', '*', '$HOME', '\\', '-rf', '', '=ls', "=it's"];
