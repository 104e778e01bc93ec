/**
 * The process entry: real streams and environment in, an exit code out.
 * bin/opsctl.cjs runs it as dist/launch.cjs, a CommonJS build of this file
 * (scripts/bundle.mjs), so that `opsctl ecs-ssh` reaches its prebuilt bundle
 * without starting Node's ES module loader at all.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { runCli as RunCli } from './cli.js';
import { codeCacheDir, requireCached } from './lib/code-cache.js';
import { firstLine } from './lib/errors.js';
import { commandName } from './lib/dispatch.js';

type Cli = { runCli: typeof RunCli };

/** Commands whose whole path is prebuilt as one CommonJS bundle (scripts/bundle.mjs). */
export const BUNDLED = new Set(['ecs-ssh']);

/**
 * `opsctl ecs-ssh` is the latency-critical command: the user waits for a
 * shell. Its whole path (the CLI, commander, the command, and the AWS SDK
 * operations it calls) is prebuilt as dist/bundles/ecs-ssh.cjs and loaded
 * with a V8 code cache, which reaches the first AWS request ~70 ms sooner
 * than loading the ES module graph. Every other command, and ecs-ssh when
 * the bundle is absent or OPSCTL_NO_BUNDLE is set, uses the ES modules; both
 * are built from the same sources.
 */
function bundledCli(argv: string[], distDir: string): Cli | undefined {
  const command = commandName(argv);
  if (!command || !BUNDLED.has(command) || process.env.OPSCTL_NO_BUNDLE) return undefined;
  const bundle = path.join(distDir, 'bundles', `${command}.cjs`);
  if (!existsSync(bundle)) return undefined;
  try {
    return requireCached<Cli>(bundle, codeCacheDir(process.env));
  } catch (err) {
    // A damaged bundle must not cost the user the command: the ES modules do the same, slower.
    process.stderr.write(`warning: ${bundle} did not load (${firstLine(err)}); using the ES modules. Rebuild with \`npm run build\`.\n`);
    return undefined;
  }
}

/** `distDir`: the directory holding cli.js and bundles/. */
export function start(distDir: string): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Until the command returns, the exit code is a failure: a command whose
  // work stopped without finishing must not look like success to a script.
  let finished = false;
  process.exitCode = 1;
  process.on('exit', (code) => {
    if (!finished && code === 1) process.stderr.write('error: opsctl stopped before the command finished (a bug: please report it, with --debug output)\n');
  });
  // `opsctl … | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') {
      finished = true;
      process.exit(0);
    }
    throw err;
  });
  void main(process.argv.slice(2), distDir).then((code) => {
    finished = true;
    process.exitCode = code;
    // A command that left a socket or timer open must not hang the shell.
    setTimeout(() => process.exit(code), 1500).unref();
  });
}

async function main(argv: string[], distDir: string): Promise<number> {
  let cli: Cli;
  try {
    cli = bundledCli(argv, distDir) ?? (await import('./cli.js'));
  } catch (err) {
    // runCli reports every error of a command itself; this is the CLI failing to load at all.
    const debug = argv.includes('--debug') || Boolean(process.env.OPSCTL_DEBUG);
    process.stderr.write(`error: opsctl could not start: ${firstLine(err)}\n`);
    process.stderr.write(debug ? `${(err as Error)?.stack ?? err}\n` : 'hint: in a checkout, run `npm ci` (it builds dist/); re-installing opsctl fixes a damaged install; --debug shows where it failed\n');
    return 1;
  }
  return cli.runCli(argv, { streams: { stdout: process.stdout, stderr: process.stderr }, stdin: process.stdin, env: process.env });
}
