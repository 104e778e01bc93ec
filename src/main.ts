/**
 * The process entry: real streams and environment in, an exit code out.
 * bin/opsctl.js enables Node's compile cache and imports the bundle of this file.
 */
import { fstatSync, readFileSync, writeSync } from 'node:fs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(`warning: Node.js ${process.versions.node} is end-of-life; opsctl supports Node.js 22.12+ and 24 (upgrade Node.js: https://nodejs.org/en/download)\n`);
}

const argv = process.argv.slice(2);

/** A pipe, a file or /dev/null (character device major 1) is no terminal: known without making process.stdout. */
function maybeTerminal(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return st.isCharacterDevice() && ((st.rdev >> 8) & 0xfff) !== 1;
  } catch {
    return true;
  }
}

// The top help page is static: scripts/build.mjs renders it with the same commander code into
// dist/help.txt at 80 columns, which is what commander prints off a terminal. Off a terminal it is
// printed as it is, without loading the CLI; on a terminal commander renders it for the terminal's width.
if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h') && !maybeTerminal(1)) {
  let page: string | undefined;
  try {
    page = readFileSync(new URL('./help.txt', import.meta.url), 'utf8');
  } catch {
    page = undefined; // not built (a build in progress): commander renders it
  }
  if (page !== undefined) {
    try {
      writeSync(1, page);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
    }
    process.exit(0);
  }
}
const { runCli } = await import('./cli.js');

// `opsctl … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

// Until the command returns, the exit code is a failure: a command whose work
// stopped without finishing must not look like success to a script.
process.exitCode = 1;
let finished = false;
process.on('exit', (exitCode) => {
  if (!finished && exitCode === 1) process.stderr.write('error: opsctl stopped before the command finished (a bug: please report it, with --debug output)\n');
});
// process.stdin is a getter that sets up a tty, pipe or file stream (loading
// net and tty); only commands read it, so --help and usage errors never do.
const io = {
  streams: { stdout: process.stdout, stderr: process.stderr },
  env: process.env,
  get stdin() {
    return process.stdin;
  },
};
const code = await runCli(argv, io);
finished = true;
process.exitCode = code;
// A command that left a socket or timer open must not hang the shell.
setTimeout(() => process.exit(code), 1500).unref();
