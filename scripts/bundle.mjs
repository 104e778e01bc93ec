// Build step (npm run build, after tsc), two CommonJS files:
// - dist/launch.cjs, the process entry (src/launch.ts; bin/opsctl.cjs runs it);
// - the whole path of `opsctl ecs-ssh` as one file, dist/bundles/ecs-ssh.cjs,
//   which launch loads with a V8 code cache instead of the ES module graph.
//
// What goes in: src/cli.ts (the registry), commander, src/lib, the ecs-ssh
// command, ssh-config, and the AWS SDK code for the operations ecs-ssh calls.
// The SDK comes from the clients' ES module builds so esbuild can drop every
// operation ecs-ssh does not use (client-ec2 alone is a 2 MB CommonJS file).
// Their schema files declare each shape as `var X = [..., { [_key]: ... }]`,
// which esbuild must keep (a computed key could have side effects), so those
// initializers are marked pure as they are loaded and unused shapes go too.
// Other commands are not in the bundle: launch never sends them here.
import { build } from 'esbuild';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Commands bundled (must match BUNDLED in src/launch.ts); the key is the directory under src/commands/. */
export const BUNDLES = ['ecs-ssh'];

/** `[export ]var NAME = [ … ];` at the start of a line → `var NAME = /* @__PURE__ *\/ (() => [ … ])();` */
export function markSchemasPure(source) {
  let count = 0;
  const out = source.replace(/^(export )?var ([A-Za-z0-9_$]+) = (\[[\s\S]*?\]);$/gm, (_m, ex, name, body) => {
    count++;
    return `${ex ?? ''}var ${name} = /* @__PURE__ */ (() => ${body})();`;
  });
  return { out, count };
}

const pureSchemas = {
  name: 'pure-schemas',
  setup(b) {
    b.onLoad({ filter: /[\\/]@aws-sdk[\\/].*[\\/]schemas[\\/]schemas_\d+\.js$/ }, (args) => ({ contents: markSchemasPure(readFileSync(args.path, 'utf8')).out, loader: 'js' }));
  },
};

// Code compiled through vm.Script (the V8 code cache) cannot use import():
// the SDK's `await import("node:http")` and the like become require() of the
// builtin, wrapped the way esbuild wraps any CommonJS module.
const builtinImports = {
  name: 'builtin-dynamic-imports',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, namespace: 'builtin-import' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'builtin-import' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/**
 * The registry's lazy imports (cli.ts). This command's modules and the
 * shared ones become static namespace imports: esbuild cannot trim what a
 * dynamic import reaches in CommonJS output (it wraps the whole subtree), and
 * the SDK would come back whole. Other commands become a module that says
 * launch should not have come here.
 */
const registryImports = (command) => ({
  name: 'registry-imports',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]cli\.ts$/ }, (args) => {
      const statics = [];
      const source = readFileSync(args.path, 'utf8').replace(/\bimport\('(\.\/[^']+)'\)/g, (whole, spec) => {
        if (spec.startsWith('./commands/') && !spec.startsWith(`./commands/${command}/`)) return whole;
        statics.push(`import * as __static${statics.length} from '${spec}';`);
        return `Promise.resolve(__static${statics.length - 1})`;
      });
      return { contents: `${statics.join('\n')}\n${source}`, loader: 'ts' };
    });
    b.onResolve({ filter: /^\.\/commands\// }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, namespace: 'other-command' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'other-command' }, (args) => ({
      contents: `exports.handler = async () => { throw new Error(${JSON.stringify(`internal: ${args.path} is not in the ${command} bundle; run with OPSCTL_NO_BUNDLE=1 and report this`)}); };`,
      loader: 'js',
    }));
  },
});

/** One CommonJS file from a TypeScript entry, for Node 20; import.meta is empty there, so code that relies on it fails the build. */
function buildCjs(entry, outfile, options) {
  return build({
    entryPoints: [path.join(root, 'src', entry)],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    logOverride: { 'empty-import-meta': 'error' },
    logLevel: 'warning',
    ...options,
  });
}

/** The built file loads and exports `name`, or the build fails here. */
function requireExporting(outfile, name) {
  const exports = createRequire(import.meta.url)(outfile);
  if (typeof exports[name] !== 'function') throw new Error(`${outfile} does not export ${name}`);
}

export async function bundle(command) {
  const outfile = path.join(root, 'dist', 'bundles', `${command}.cjs`);
  await buildCjs('cli.ts', outfile, {
    // ES module builds first: the CommonJS builds of the SDK clients are single files esbuild cannot trim.
    mainFields: ['module', 'main'],
    plugins: [pureSchemas, builtinImports, registryImports(command)],
  });
  const dynamicImport = /\bimport\(\s*["'`]/.exec(readFileSync(outfile, 'utf8'));
  if (dynamicImport) throw new Error(`${outfile} still has an import() (${dynamicImport[0]}…), which fails under the V8 code cache`);
  // Loads, and is the registry.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  requireExporting(outfile, 'runCli');
  console.log(`bundled opsctl ${command}: ${path.relative(root, outfile)} (${(statSync(outfile).size / 1024).toFixed(0)} KiB)`);
}

/** dist/launch.cjs: the entry, CommonJS so that it starts no ES module loader; the ES modules stay a dynamic import(). */
export async function launcher() {
  const outfile = path.join(root, 'dist', 'launch.cjs');
  await buildCjs('launch.ts', outfile, { external: ['./cli.js'] });
  if (!readFileSync(outfile, 'utf8').includes('import("./cli.js")')) throw new Error(`${outfile} lost its import() of ./cli.js`);
  requireExporting(outfile, 'start');
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  await launcher();
  for (const command of BUNDLES) await bundle(command);
}
