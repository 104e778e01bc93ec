// Startup cost of opsctl against bare node, measured in the same run.
// Target: `opsctl --help` ≤ 1.6× `node -e 0` (median wall time).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'opsctl.js');
const runs = Number(process.env.BENCH_RUNS ?? 21);

const cases = [
  ['node -e 0', ['-e', '0']],
  ['opsctl --help', [bin, '--help']],
  ['opsctl ecs-ssh --help', [bin, 'ecs-ssh', '--help']],
  ['opsctl pg explain --help', [bin, 'pg', 'explain', '--help']],
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const samples = new Map(cases.map(([name]) => [name, []]));
// Interleave the cases so machine noise hits all of them alike.
for (let i = 0; i < runs + 2; i++) {
  for (const [name, args] of cases) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
    if (i >= 2) samples.get(name).push(ms); // first two are warm-up
  }
}

const base = median(samples.get('node -e 0'));
console.log(`startup benchmark, ${runs} runs each, median wall time`);
for (const [name] of cases) {
  const m = median(samples.get(name));
  console.log(`${name.padEnd(28)} ${m.toFixed(1).padStart(7)} ms  ${(m / base).toFixed(2)}×`);
}
const ratio = median(samples.get('opsctl --help')) / base;
console.log(`target: opsctl --help ≤ 1.60× node -e 0 → ${ratio.toFixed(2)}× ${ratio <= 1.6 ? 'PASS' : 'FAIL'}`);
if (process.env.BENCH_STRICT === '1' && ratio > 1.6) process.exitCode = 1;
