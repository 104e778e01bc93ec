// Start-up cost of opsctl against bare node, measured side by side in the same
// run, on each supported Node (22 and 24, from scripts/with-node.sh's cache).
// Target: `opsctl --help` ≤ 1.5× `node -e 0` (median wall time, warm: Node's
// compile cache is filled by the warm-up runs, as it is after a user's first run).
// BENCH_RUNS=N (default 31) runs per case; BENCH_NODES=24,22 which Nodes;
// BENCH_STRICT=1 exits 1 when a target is missed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'opsctl.js');
const cpuProbe = path.join(root, 'bench', 'cpu-at-exit.cjs');
const runs = Number(process.env.BENCH_RUNS ?? 31);
const warmups = 3;
const target = 1.5;
const majors = (process.env.BENCH_NODES ?? '24,22').split(',').map((m) => m.trim());

if (!existsSync(path.join(root, 'dist', 'opsctl.js'))) {
  console.error('dist/ is missing: run `npm run build` first (npm run bench:startup does).');
  process.exit(1);
}

/** The Node binary for MAJOR, fetched into the cache by scripts/with-node.sh if needed. */
function nodeFor(major) {
  const r = spawnSync('bash', [path.join(root, 'scripts', 'with-node.sh'), major, 'node', '-p', 'process.execPath'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`could not get Node.js ${major} (scripts/with-node.sh exited ${r.status})`);
  return r.stdout.trim();
}

const cases = [
  ['node -e 0', ['-e', '0']],
  ['opsctl --help', [bin, '--help']],
  ['opsctl ecs-ssh --help', [bin, 'ecs-ssh', '--help']],
  ['opsctl pg explain --help', [bin, 'pg', 'explain', '--help']],
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const min = (xs) => Math.min(...xs);

function measure(node) {
  // The bin's own compile cache (the default place): the warm-up runs fill it.
  // Nothing enables a cache for `node -e 0`, which has nothing to cache.
  const env = { ...process.env, NO_COLOR: '1' };
  delete env.NODE_OPTIONS;
  delete env.NODE_COMPILE_CACHE;
  const samples = new Map(cases.map(([name]) => [name, []]));
  const cpu = new Map(cases.map(([name]) => [name, []]));
  // Interleaved, so machine noise hits every case alike. Each round runs every
  // case once bare (wall time) and once with the CPU probe preloaded (CommonJS,
  // so it starts no ES module loader that `node -e 0` would not have started).
  for (let i = 0; i < runs + warmups; i++) {
    for (const [name, args] of cases) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(node, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
      const probe = spawnSync(node, ['--require', cpuProbe, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env, encoding: 'utf8' });
      const used = /opsctl-bench-cpu (\S+)/.exec(probe.stderr);
      if (i >= warmups) {
        samples.get(name).push(ms);
        if (used) cpu.get(name).push(Number(used[1]));
      }
    }
  }
  return { samples, cpu };
}

const results = [];
for (const major of majors) {
  const node = nodeFor(major);
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  results.push({ version, ...measure(node) });
}

console.log(`\nstart-up, warm compile cache, ${runs} runs per case interleaved; median wall time (min in brackets), × node -e 0 on the same Node`);
console.log(['case'.padEnd(26), ...results.map((r) => `Node ${r.version}`.padStart(28))].join(''));
for (const [name] of cases) {
  const cells = results.map(({ samples }) => {
    const base = median(samples.get('node -e 0'));
    const m = median(samples.get(name));
    return `${m.toFixed(1)} ms (${min(samples.get(name)).toFixed(1)}) ${(m / base).toFixed(2)}×`.padStart(28);
  });
  console.log([name.padEnd(26), ...cells].join(''));
}
console.log(`\nCPU time (user+sys) inside the process, median, × node -e 0 (less sensitive to machine load than wall time)`);
for (const [name] of cases) {
  const cells = results.map(({ cpu }) => {
    const base = median(cpu.get('node -e 0'));
    const m = median(cpu.get(name));
    return `${m.toFixed(1)} ms ${(m / base).toFixed(2)}×`.padStart(28);
  });
  console.log([name.padEnd(26), ...cells].join(''));
}
let failed = false;
for (const { version, samples } of results) {
  const ratio = median(samples.get('opsctl --help')) / median(samples.get('node -e 0'));
  const minRatio = min(samples.get('opsctl --help')) / min(samples.get('node -e 0'));
  const pass = ratio <= target;
  failed ||= !pass;
  console.log(`target on Node ${version}: opsctl --help ≤ ${target.toFixed(2)}× node -e 0 → ${ratio.toFixed(2)}× (min/min ${minRatio.toFixed(2)}×) ${pass ? 'PASS' : 'FAIL'}`);
}
console.log(`load average during the run: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`);
if (process.env.BENCH_STRICT === '1' && failed) process.exitCode = 1;
