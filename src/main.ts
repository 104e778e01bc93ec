// The process entry: real streams and environment in, an exit code out.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `opsctl … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const { runCli } = await import('./cli.js');
const code = await runCli(process.argv.slice(2), {
  streams: { stdout: process.stdout, stderr: process.stderr },
  stdin: process.stdin,
  env: process.env,
});
process.exitCode = code;
// A command that left a socket or timer open must not hang the shell.
setTimeout(() => process.exit(code), 1500).unref();
