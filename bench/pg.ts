/**
 * npm run bench:pg — the write-up's scenario at 1,000,000 rows on an embedded
 * PostgreSQL, measured through the built binary:
 *   1. verified speedup of the proposed index (EXPLAIN ANALYZE before ÷ after,
 *      from `pg explain --verify real`), target ≥ 1,000×;
 *   2. opsctl's own overhead for `pg explain` (process start, connect,
 *      catalog, analysis, rendering) beyond the server's planning + execution
 *      time, median of several runs, target ≤ 400 ms.
 * BENCH_PG_ROWS and BENCH_RUNS override the defaults.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbedded } from '../src/commands/pg/embedded.js';
import { buildScenario, SCENARIO_QUERY } from '../src/commands/pg/scenario.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'opsctl.cjs');
const rows = Number(process.env.BENCH_PG_ROWS ?? 1_000_000);
const runs = Number(process.env.BENCH_RUNS ?? 7);
const SPEEDUP_TARGET = 1000;
const OVERHEAD_TARGET_MS = 400;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const opsctl = (args: string[]) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`opsctl ${args.slice(0, 3).join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wallMs, stdout: r.stdout };
};

const server = await startEmbedded();
let failed = false;
try {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  const t0 = performance.now();
  await buildScenario((sql, params) => client.query(sql, params as unknown[]), rows);
  await client.end();
  console.log(`scenario: activity_logs with ${rows.toLocaleString('en-US')} rows loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`query:    ${SCENARIO_QUERY}\n`);

  // 1. Verified speedup.
  const verify = JSON.parse(opsctl(['--json', 'pg', 'explain', SCENARIO_QUERY, '--db', server.url, '--verify', 'real']).stdout);
  const v = verify.verification;
  const speedup = v.before.executionMs / v.after.executionMs;
  const ok1 = speedup >= SPEEDUP_TARGET && v.indexes.every((i: { used: boolean }) => i.used) && v.leftBehind.length === 0;
  failed ||= !ok1;
  console.log('1. proposed index, verified for real (EXPLAIN ANALYZE, rolled back)');
  console.log(`   index:    ${verify.advice[0].sql}`);
  console.log(`   before:   ${v.before.executionMs.toFixed(3)} ms, ${v.before.sharedHitBlocks + v.before.sharedReadBlocks} buffers`);
  console.log(`   after:    ${v.after.executionMs.toFixed(3)} ms, ${v.after.sharedHitBlocks + v.after.sharedReadBlocks} buffers (index built in ${v.indexes[0].buildMs.toFixed(0)} ms, left behind: ${v.leftBehind.length})`);
  console.log(`   speedup:  ${Math.round(speedup).toLocaleString('en-US')}×   target ≥ ${SPEEDUP_TARGET.toLocaleString('en-US')}×   ${ok1 ? 'PASS' : 'FAIL'}\n`);

  // 2. Overhead of `pg explain` beyond the server's own time (text output, as a user sees it).
  opsctl(['pg', 'explain', SCENARIO_QUERY, '--db', server.url]);
  const samples: Array<{ wall: number; server: number; overhead: number }> = [];
  for (let i = 0; i < runs; i++) {
    const { wallMs, stdout } = opsctl(['pg', 'explain', SCENARIO_QUERY, '--db', server.url]);
    const m = /^Time\s+([\d.]+) ms execution · ([\d.]+) ms planning/m.exec(stdout);
    if (!m) throw new Error(`no timing line in:\n${stdout}`);
    const serverMs = Number(m[1]) + Number(m[2]);
    samples.push({ wall: wallMs, server: serverMs, overhead: wallMs - serverMs });
  }
  const overhead = median(samples.map((s) => s.overhead));
  const bare = median(Array.from({ length: runs }, () => {
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }));
  const ok2 = overhead <= OVERHEAD_TARGET_MS;
  failed ||= !ok2;
  console.log(`2. opsctl pg explain overhead (built binary, ${runs} runs, median)`);
  console.log(`   wall:     ${median(samples.map((s) => s.wall)).toFixed(0)} ms   server planning + execution: ${median(samples.map((s) => s.server)).toFixed(0)} ms`);
  console.log(`   overhead: ${overhead.toFixed(0)} ms (process start, connect, catalog, analysis, rendering)   target ≤ ${OVERHEAD_TARGET_MS} ms   ${ok2 ? 'PASS' : 'FAIL'}`);
  console.log(`   for scale: a bare \`node -e 0\` takes ${bare.toFixed(0)} ms on this machine right now`);
} finally {
  await server.stop();
}
console.log(`\n${failed ? 'FAIL' : 'PASS'}`);
process.exitCode = failed ? 1 : 0;
