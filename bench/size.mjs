// What a user's install weighs: `npm pack`, then a global install of the
// tarball into an empty prefix (runtime dependencies only, as `npm i -g` does),
// counted in bytes and files. Side by side, in the same run, with the previous
// release's layout: commit d24132e (dependencies installed at runtime, a
// hand-made V8 cache, two bins), exported with `git archive`, `npm ci`, packed
// and installed the same way. `npm run bench:size` builds the current tree first.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BEFORE = process.env.BENCH_SIZE_BEFORE ?? 'd24132e';
const work = mkdtempSync(path.join(os.tmpdir(), 'opsctl-size-'));

function sh(file, args, cwd, extraEnv = {}) {
  const started = Date.now();
  const r = spawnSync(file, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false', ...extraEnv } });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return { stdout: r.stdout, seconds: (Date.now() - started) / 1000 };
}

/** Apparent size and count of regular files under dir (symlinks counted as files, not followed). */
function measureTree(dir) {
  let bytes = 0;
  let files = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        files += 1;
        bytes += lstatSync(p).size;
      }
    }
  };
  walk(dir);
  return { bytes, files };
}

/** Installed packages below one node_modules (scoped ones counted one by one, nested ones too). */
function countPackages(dir) {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.name.startsWith('@')) n += countPackages(p);
    else if (existsSync(path.join(p, 'package.json'))) n += 1 + countPackages(path.join(p, 'node_modules'));
  }
  return n;
}

/** Pack `dir` (already built), install the tarball into an empty prefix, measure. */
function packAndInstall(label, dir, packArgs) {
  const out = path.join(work, label);
  mkdirSync(out, { recursive: true });
  const pack = sh('npm', ['pack', '--json', '--pack-destination', out, ...packArgs], dir);
  const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0];
  const tarball = path.join(out, info.filename);
  const prefix = path.join(out, 'prefix');
  const install = sh('npm', ['install', '--global', '--prefix', prefix, '--omit=dev', '--no-audit', '--no-fund', tarball], out);
  const tree = measureTree(prefix);
  const ok = spawnSync(process.execPath, [path.join(prefix, 'bin', 'opsctl'), '--version'], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: out } });
  return {
    label,
    tarballBytes: info.size,
    tarballFiles: info.entryCount,
    installBytes: tree.bytes,
    installFiles: tree.files,
    packages: countPackages(path.join(prefix, 'lib', 'node_modules', 'opsctl', 'node_modules')),
    runs: ok.status === 0 ? `--version → ${ok.stdout.trim()}` : `--version exited ${ok.status}`,
    seconds: pack.seconds + install.seconds,
  };
}

function before() {
  const dir = path.join(work, 'before-src');
  mkdirSync(dir);
  // git archive exports the commit's tree without registering a worktree in the shared repository.
  const archive = spawnSync('bash', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'archive', root, BEFORE, dir], { encoding: 'utf8' });
  if (archive.status !== 0) throw new Error(`git archive ${BEFORE} failed: ${archive.stderr}`);
  const ci = sh('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], dir);
  // Its `prepare` script builds (tsc + its bundle script) during pack, as its own release did.
  const r = packAndInstall('before', dir, []);
  r.seconds += ci.seconds;
  return r;
}

function after() {
  if (!existsSync(path.join(root, 'dist', 'opsctl.js'))) throw new Error('dist/ is missing: run `npm run build` (npm run bench:size does)');
  // The built tree as it is; --ignore-scripts so pack does not rebuild it.
  return packAndInstall('after', root, ['--ignore-scripts']);
}

const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
try {
  const a = after();
  let b;
  try {
    b = before();
  } catch (err) {
    console.error(`could not measure ${BEFORE}: ${err.message.split('\n')[0]}`);
  }
  const rows = [
    ['', b ? `before (${BEFORE})` : `before (${BEFORE}): not measured`, 'after (this tree)'],
    ['tarball', b ? `${mb(b.tarballBytes)}, ${b.tarballFiles} files` : '-', `${mb(a.tarballBytes)}, ${a.tarballFiles} files`],
    ['installed (empty prefix)', b ? `${mb(b.installBytes)}, ${b.installFiles} files` : '-', `${mb(a.installBytes)}, ${a.installFiles} files`],
    ['packages under opsctl', b ? String(b.packages) : '-', String(a.packages)],
    ['installed opsctl', b ? b.runs : '-', a.runs],
    ['pack + install time', b ? `${b.seconds.toFixed(0)} s (incl. npm ci)` : '-', `${a.seconds.toFixed(0)} s`],
  ];
  console.log(`\nproduction install size, both measured now (npm pack → npm i -g --prefix EMPTY --omit=dev; apparent bytes, 1 MB = 10^6 bytes)`);
  for (const r of rows) console.log(r[0].padEnd(26) + r[1].padEnd(34) + r[2]);
  if (b) console.log(`after/before: ${(a.installBytes / b.installBytes * 100).toFixed(1)}% of the bytes, ${(a.installFiles / b.installFiles * 100).toFixed(1)}% of the files`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
