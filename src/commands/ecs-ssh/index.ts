/**
 * opsctl ecs-ssh SERVICE [-- COMMAND…]: from a service name to a shell (or a
 * command, or a port forward) inside its running container: ListTasks →
 * DescribeTasks → DescribeContainerInstances → DescribeInstances, then ECS
 * Exec, SSM Session Manager or ssh (OpenSSH's own reading of the user's
 * config decides the host), then `docker exec` of the container's runtime id.
 */
import os from 'node:os';
import { defineCommand } from '../../lib/command.js';
import type { Context } from '../../lib/context.js';
import { awsOptionsFor, regionFromId } from '../../lib/aws.js';
import { preloadProcessRunner, processRunner } from '../../lib/process.js';
import { createEcsApi } from './aws.js';
import { cacheFile, cacheKey, ResolutionCache } from './cache.js';
import { checkRegion, resolveOptions, type EcsSshOptions } from './options.js';
import { printResult, resultJson } from './print.js';
import { run, type EcsSshDeps, type EcsSshResult } from './run.js';
import { scanSshConfig, SshResolver } from './ssh-hosts.js';

export { run } from './run.js';
export type { EcsSshDeps, EcsSshResult } from './run.js';
export { resolveOptions } from './options.js';

/** The real side effects, from the context. */
export function depsFromContext(o: EcsSshOptions, ctx: Context): EcsSshDeps {
  const home = ctx.env.HOME || os.homedir();
  let resolver: SshResolver | undefined;
  const stdout = ctx.out.streams.stdout as { isTTY?: boolean };
  // A cluster ARN names its region (arn:aws:ecs:REGION:…): it wins over config, not over --region / AWS_REGION.
  const aws = awsOptionsFor(ctx, { impliedRegion: regionFromId(o.cluster) });
  return {
    api: createEcsApi(aws, ctx.env, ctx.signal),
    runner: ctx.runner,
    prompt: ctx.prompt,
    resolver: () => (resolver ??= new SshResolver(ctx.runner, scanSshConfig(o.sshConfig, home), { signal: ctx.signal })),
    stdinIsTTY: ctx.prompt.interactive,
    stdoutIsTTY: Boolean(stdout.isTTY),
    captureOutput: Boolean(ctx.global.json),
    log: (text) => ctx.out.info(ctx.out.styleErr('dim', text)),
    verbose: (text) => ctx.out.log(text),
    signal: ctx.signal,
    cache: { store: new ResolutionCache(cacheFile(ctx.env)), key: (cluster, service) => cacheKey({ profile: aws.profile ?? ctx.env.AWS_PROFILE, region: aws.region ?? ctx.env.AWS_REGION ?? ctx.env.AWS_DEFAULT_REGION, cluster, service }) },
  };
}

export const command = defineCommand<EcsSshOptions, EcsSshResult>({
  options(args, flags, ctx) {
    checkRegion(ctx.aws.region);
    // --dry-run (global) means the same as --print here: show the command, run nothing.
    return resolveOptions(args, { ...flags, print: flags.print === true || ctx.global.dryRun === true }, ctx.setting);
  },
  async run(options, ctx) {
    // ssh -G and ssh run through execa: its load overlaps the AWS calls instead of following them.
    if (!options.list && ctx.runner === processRunner) void preloadProcessRunner().catch(() => undefined);
    const result = await run(options, depsFromContext(options, ctx));
    // --json prints the documented shape, not the internal one.
    Object.defineProperty(result, 'toJSON', { value: () => resultJson(result), enumerable: false });
    return result;
  },
  print(result, out) {
    printResult(result, out);
  },
  exitCode(result) {
    return result.action === 'exec' || result.action === 'all' || result.action === 'forward' ? result.exitCode : 0;
  },
});
