/**
 * opsctl cognito migrate benchmarks (run with `npm run bench:cognito`):
 *  1. Throughput: 5,000 users against a stand-in enforcing 50 requests/s, with
 *     --rate 50. Target ≥ 45 created/s sustained, zero users failed by throttling.
 *  2. Memory: peak RSS of the opsctl process migrating 100,000 PostgreSQL rows
 *     (server-side cursor) vs 10,000 rows. Target ≤ 200 MB and ≤ 10% above the 10k run.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startCognitoStandin } from '../test/support/cognito-standin.js';
import { startPostgres } from '../test/support/postgres.js';
import { fakeAwsEnv } from '../test/support/cognito-local.js';
import { binPath } from '../test/support/cli.js';
import { tmpDir } from '../test/cognito/helpers.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  peakRssMb: number;
  wallMs: number;
}

function runOpsctl(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [binPath, ...args], { cwd, env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch { /* exited */ }
    };
    const timer = setInterval(sample, 100);
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
      sample();
    });
    child.on('error', reject);
    child.on('exit', () => sample());
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ code, stdout, stderr, peakRssMb: peak, wallMs: performance.now() - t0 });
    });
  });
}

const results: Array<{ name: string; value: string; target: string; pass: boolean }> = [];

async function throughput(): Promise<void> {
  const n = 5000;
  const standin = await startCognitoStandin({ rate: 50, customAttributes: ['legacy_id'] });
  const dir = tmpDir('opsctl-bench-');
  const file = path.join(dir, 'users.csv');
  const lines = ['id,email,encrypted_password,confirmed_at'];
  for (let i = 1; i <= n; i++) lines.push(`${i},user${i}@example.com,$2a$11$notarealhash,2020-01-01`);
  writeFileSync(file, lines.join('\n') + '\n');
  const env = { ...fakeAwsEnv, AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: standin.endpoint, HOME: dir };
  console.error(`throughput: migrating ${n} users at --rate 50 against a stand-in enforcing 50 requests/s (~${Math.round(n / 50)}s)…`);
  const r = await runOpsctl(['--json', 'cognito', 'migrate', '--user-pool-id', standin.poolId, '--from', file, '--rate', '50'], env, dir);
  await standin.stop();
  if (r.code !== 0) throw new Error(`migrate exited ${r.code}: ${r.stderr.slice(-2000)}`);
  const s = JSON.parse(r.stdout).summary;
  const perSec = s.created / (s.elapsedMs / 1000);
  console.log(`throughput: ${s.created} created in ${(s.elapsedMs / 1000).toFixed(1)}s = ${perSec.toFixed(1)} created/s; throttled answers ${standin.stats.throttled}, retries ${s.retries}, failed ${s.failed}, users in stand-in ${standin.users.size}`);
  results.push({ name: 'sustained created/s (5,000 users, --rate 50 vs 50 rps)', value: perSec.toFixed(1), target: '≥ 45', pass: perSec >= 45 });
  results.push({ name: 'users failed by throttling', value: String(s.failed), target: '0', pass: s.failed === 0 && standin.users.size === n });
}

async function memory(): Promise<void> {
  const pg = await startPostgres();
  try {
    const url = await pg.createDatabase('bench');
    await pg.query('SELECT 1');
    const { default: pgmod } = await import('pg');
    const c = new pgmod.Client({ connectionString: url });
    await c.connect();
    await c.query(`CREATE TABLE users (id bigserial PRIMARY KEY, email varchar, encrypted_password varchar NOT NULL, confirmed_at timestamp, created_at timestamp NOT NULL DEFAULT now(), updated_at timestamp NOT NULL DEFAULT now())`);
    await c.query(`INSERT INTO users (id, email, encrypted_password, confirmed_at) SELECT g, 'user' || g || '@example.com', '$2a$11$' || md5(g::text) || md5(g::text), now() FROM generate_series(1, 100000) g`);
    await c.end();
    const peaks: Record<number, number> = {};
    const sizes = (process.env.BENCH_ROWS ?? '10000,100000').split(',').map(Number);
    for (const rows of sizes) {
      const standin = await startCognitoStandin({ customAttributes: ['legacy_id'] });
      const dir = tmpDir('opsctl-bench-');
      const env = { ...fakeAwsEnv, AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: standin.endpoint, HOME: dir };
      console.error(`memory: migrating ${rows} PostgreSQL rows (no rate limit)…`);
      const r = await runOpsctl([...(process.env.BENCH_DEBUG ? ['--debug'] : []), '--json', 'cognito', 'migrate', '--user-pool-id', standin.poolId, '--from', url, '--query', `SELECT * FROM users WHERE id <= ${rows} ORDER BY id`, '--rate', '100000', '--concurrency', '16'], env, dir);
      await standin.stop();
      if (r.code !== 0) throw new Error(`migrate exited ${r.code}: ${r.stderr.slice(-2000)}`);
      const s = JSON.parse(r.stdout).summary;
      if (s.created !== rows) throw new Error(`expected ${rows} created, got ${s.created}`);
      peaks[rows] = r.peakRssMb;
      if (process.env.BENCH_DEBUG) console.error(r.stderr.split('\n').filter((l) => l.includes('memory:')).join('\n'));
      console.log(`memory: ${rows} rows → peak RSS ${r.peakRssMb.toFixed(1)} MB (${(r.wallMs / 1000).toFixed(1)}s, ${(s.created / (s.elapsedMs / 1000)).toFixed(0)} created/s)`);
    }
    if (!peaks[100_000] || !peaks[10_000]) return;
    const growth = (peaks[100_000]! / peaks[10_000]! - 1) * 100;
    results.push({ name: 'peak RSS, 100,000 PostgreSQL rows', value: `${peaks[100_000]!.toFixed(1)} MB`, target: '≤ 200 MB', pass: peaks[100_000]! <= 200 });
    results.push({ name: 'peak RSS growth 10,000 → 100,000 rows', value: `${growth.toFixed(1)}% (${peaks[10_000]!.toFixed(1)} → ${peaks[100_000]!.toFixed(1)} MB)`, target: '≤ 10%', pass: growth <= 10 });
  } finally {
    await pg.stop();
  }
}

const only = process.argv[2];
if (!only || only === 'throughput') await throughput();
if (!only || only === 'memory') await memory();
console.log('\nopsctl cognito migrate benchmark');
for (const r of results) console.log(`${r.pass ? 'PASS' : 'FAIL'}  ${r.name}: ${r.value} (target ${r.target})`);
process.exitCode = results.every((r) => r.pass) ? 0 : 1;
