/**
 * npm run bench:cert — wall time of `opsctl cert issue --standalone` (the
 * built binary, process start included) for one domain against a local Pebble
 * with PEBBLE_VA_NOSLEEP=1. Median of 5 runs; target ≤ 1.5 s.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPebble } from '../test/support/cert-pebble.js';

const TARGET_MS = 1500;
const RUNS = 5;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'opsctl.cjs');

function runOnce(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code, stderr }));
  });
}

const pebble = await startPebble({ nosleep: true });
const home = await mkdtemp(path.join(os.tmpdir(), 'opsctl-bench-cert-'));
const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), NO_COLOR: '1' };
const times: number[] = [];
let failed = false;
try {
  for (let i = 0; i < RUNS; i++) {
    const r = await runOnce(
      ['cert', 'issue', '-d', `bench${i}.test`, '--email', 'bench@opsctl.test', '--directory', pebble.directoryUrl, '--ca-bundle', pebble.caBundle, '--standalone', '--http-port', String(pebble.httpPort), '--no-self-check', '--cert-dir', path.join(home, 'certs')],
      env,
    );
    if (r.code !== 0) {
      console.error(`run ${i + 1} failed (exit ${r.code}):\n${r.stderr}`);
      failed = true;
      break;
    }
    times.push(r.ms);
    console.log(`run ${i + 1}: ${r.ms.toFixed(0)} ms`);
  }
} finally {
  await pebble.stop();
  await rm(home, { recursive: true, force: true });
}
if (failed || times.length === 0) {
  console.log('cert issue --standalone: FAIL (a run failed)');
  process.exit(1);
}
// The same binary doing nothing, to tell process start (and machine load) from ACME work.
const baseline: number[] = [];
for (let i = 0; i < RUNS; i++) baseline.push((await runOnce(['--version'], env)).ms);
const baseMedian = [...baseline].sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
console.log(`baseline \`opsctl --version\`: median ${baseMedian.toFixed(0)} ms`);
const sorted = [...times].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)]!;
console.log(`cert issue --standalone, 1 domain, Pebble (PEBBLE_VA_NOSLEEP=1): median ${median.toFixed(0)} ms of ${RUNS} (min ${sorted[0]!.toFixed(0)}, max ${sorted[sorted.length - 1]!.toFixed(0)}); target ≤ ${TARGET_MS} ms: ${median <= TARGET_MS ? 'PASS' : 'FAIL'}`);
process.exit(median <= TARGET_MS ? 0 : 1);
