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
  const home = ctx.env.HOME || os.homedir();
  // Read once, when first needed or while the first AWS request is in
  // flight; an error (say a missing --ssh-config file) is kept and thrown
  // only if a host actually has to be chosen.
  let hosts: { value: SshConfigHosts } | { error: unknown } | undefined;
  const readHosts = () => {
    try {
      return { value: readSshConfigHosts(options.sshConfig, home) };
    } catch (error) {
      return { error };
    }
  };
  const sshHosts = (): SshConfigHosts => {
    hosts ??= readHosts();
    if ('error' in hosts) throw hosts.error;
    return hosts.value;
  };
  const api = createEcsApi(ctx.aws, ctx.env, ctx.signal);
  const result = await run(options, {
    api,
    runner: ctx.runner,
    prompt: ctx.prompt,
    sshHosts,
    stdinIsTTY: ctx.prompt.interactive,
    captureOutput: Boolean(ctx.global.json),
    log: (text) => ctx.out.info(ctx.out.styleErr('dim', text)),
    signal: ctx.signal,
  });
  printResult(result, ctx.out);
  if (result.action === 'exec' || result.action === 'all') return result.exitCode;
  return 0;
}
