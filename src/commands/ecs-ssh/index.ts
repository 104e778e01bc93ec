/**
 * opsctl ecs-ssh SERVICE [-- COMMAND…]: from a service name to a shell (or a
 * command) inside its running container, the way the write-up did by hand:
 * ListTasks → DescribeTasks → DescribeContainerInstances → DescribeInstances →
 * ssh alias → `docker exec` of the container's runtime id.
 */
import os from 'node:os';
import type { Context } from '../../lib/context.js';
import { createEcsApi } from './aws.js';
import { resolveOptions } from './options.js';
import { printResult } from './print.js';
import { run } from './run.js';
import { readSshConfigHosts, type SshConfigHosts } from './ssh-hosts.js';

export { run } from './run.js';
export type { EcsSshDeps, EcsSshResult } from './run.js';
export { resolveOptions } from './options.js';

export async function handler(args: unknown[], opts: Record<string, any>, ctx: Context): Promise<number | void> {
  // --dry-run (global) means the same as --print here: show the command, run nothing.
  const options = resolveOptions(args, { ...opts, print: opts.print || ctx.global.dryRun }, ctx.setting);
  let hosts: SshConfigHosts | undefined;
  const result = await run(options, {
    api: createEcsApi(ctx.aws, ctx.env),
    runner: ctx.runner,
    prompt: ctx.prompt,
    sshHosts: () => (hosts ??= readSshConfigHosts(options.sshConfig, ctx.env.HOME || os.homedir())),
    stdinIsTTY: ctx.prompt.interactive,
    captureOutput: Boolean(ctx.global.json),
    log: (text) => ctx.out.info(ctx.out.styleErr('dim', text)),
    signal: ctx.signal,
  });
  printResult(result, ctx.out);
  if (result.action === 'exec' || result.action === 'all') return result.exitCode;
  return 0;
}
