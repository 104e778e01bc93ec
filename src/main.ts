// The process entry: real streams and environment in, an exit code out.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { runCli as RunCli } from './cli.js';
import { commandName } from './lib/dispatch.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `opsctl … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

/** Commands whose whole path is prebuilt as one CommonJS bundle (scripts/bundle.mjs). */
const BUNDLED = new Set(['ecs-ssh']);

/**
 * `opsctl ecs-ssh` is the latency-critical command: the user waits for a
 * shell. Its whole path (this CLI, commander, the command, and the AWS SDK
 * operations it calls) is prebuilt as dist/bundles/ecs-ssh.cjs and loaded
 * with a V8 code cache, which reaches the first AWS request ~70 ms sooner
 * than loading the ES module graph. Every other command, and ecs-ssh when
 * the bundle is absent or OPSCTL_NO_BUNDLE is set, uses the ES modules; both
 * are built from the same sources.
 */
async function loadCli(argv: string[]): Promise<{ runCli: typeof RunCli }> {
  const command = commandName(argv);
  if (command && BUNDLED.has(command) && !process.env.OPSCTL_NO_BUNDLE) {
    const bundle = fileURLToPath(new URL(`./bundles/${command}.cjs`, import.meta.url));
    if (existsSync(bundle)) {
      // Imported here: every other command starts without it.
      const { codeCacheDir, requireCached } = await import('./lib/code-cache.js');
      try {
        return requireCached<{ runCli: typeof RunCli }>(bundle, codeCacheDir(process.env));
      } catch (err) {
        // A damaged bundle must not cost the user the command: the ES modules do the same, slower.
        process.stderr.write(`warning: ${bundle} did not load (${String((err as Error)?.message ?? err).split('\n')[0]}); using the ES modules. Rebuild with \`npm run build\`.\n`);
      }
    }
  }
  return import('./cli.js');
}

const argv = process.argv.slice(2);
const { runCli } = await loadCli(argv);
const code = await runCli(argv, {
  streams: { stdout: process.stdout, stderr: process.stderr },
  stdin: process.stdin,
  env: process.env,
});
process.exitCode = code;
// A command that left a socket or timer open must not hang the shell.
setTimeout(() => process.exit(code), 1500).unref();
