/**
 * opsctl cognito migrate benchmarks (run with `npm run bench:cognito`):
 *  1. Throughput: 5,000 users against a stand-in enforcing 50 requests/s, with
 *     --rate 50. Target ≥ 45 created/s sustained, zero users failed by throttling.
 *     1% of the rows are Devise-locked (locked_at): they must end up disabled.
 *  2. After that migrate: a links row for every user (with the sub the pool gave
 *     it), `--verify` finds planted drift of every kind and `--verify --repair`
 *     clears it (a second --verify is clean).
 *  3. Memory: peak RSS of the opsctl process migrating 100,000 PostgreSQL rows
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
  try {
    const dir = tmpDir('opsctl-bench-');
    const file = path.join(dir, 'users.csv');
    const lines = ['id,email,encrypted_password,confirmed_at,locked_at'];
    for (let i = 1; i <= n; i++) lines.push(`${i},user${i}@example.com,$2a$11$notarealhash,2020-01-01,${i % 100 === 0 ? '2024-01-01' : ''}`);
    writeFileSync(file, lines.join('\n') + '\n');
    const locked = n / 100;
    const env = { ...fakeAwsEnv, AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: standin.endpoint, HOME: dir };
    console.error(`throughput: migrating ${n} users (${locked} locked) at --rate 50 against a stand-in enforcing 50 requests/s (~${Math.round(n / 50)}s)…`);
    const r = await runOpsctl(['--json', 'cognito', 'migrate', '--user-pool-id', standin.poolId, '--from', file, '--rate', '50'], env, dir);
    if (r.code !== 0) throw new Error(`migrate exited ${r.code}: ${r.stderr.slice(-2000)}`);
    const s = JSON.parse(r.stdout).summary;
    const perSec = s.created / (s.elapsedMs / 1000);
    console.log(`throughput: ${s.created} created in ${(s.elapsedMs / 1000).toFixed(1)}s = ${perSec.toFixed(1)} created/s; throttled answers ${standin.stats.throttled}, retries ${s.retries}, failed ${s.failed}, users in stand-in ${standin.users.size}`);
    results.push({ name: 'sustained created/s (5,000 users, --rate 50 vs 50 rps)', value: perSec.toFixed(1), target: '≥ 45', pass: perSec >= 45 });
    results.push({ name: 'users lost (failed or missing from the pool)', value: String(s.failed + (n - standin.users.size)), target: '0', pass: s.failed === 0 && standin.users.size === n });

    const disabled = [...standin.users.values()].filter((u) => !u.enabled).length;
    const lockedRight = [...standin.users.values()].every((u) => u.enabled === (Number(u.attributes['custom:legacy_id']) % 100 !== 0));
    console.log(`account state: ${disabled} of ${locked} locked users disabled in the pool`);
    results.push({ name: 'locked users disabled after migrate', value: `${disabled}/${locked}`, target: `${locked}/${locked}, no one else`, pass: disabled === locked && lockedRight });

    const links = readFileSync(s.linksFile, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const subs = new Map([...standin.users.values()].map((u) => [u.username, u.attributes.sub]));
    const rightLinks = links.filter(([id, username, sub]) => subs.get(username!) === sub && username === `user${id}@example.com`).length;
    console.log(`links: ${links.length} rows, ${rightLinks} naming the sub the pool gave the user`);
    results.push({ name: 'links rows (legacy_id,username,sub) after migrate', value: `${rightLinks}/${n} right, ${links.length} rows`, target: `${n}/${n}`, pass: rightLinks === n && links.length === n });

    // Plant drift of every kind, then --verify, --verify --repair, --verify.
    standin.users.get('user7@example.com')!.attributes.email_verified = 'false';
    standin.users.get('user8@example.com')!.attributes['custom:legacy_id'] = '999999';
    standin.users.get('user100@example.com')!.enabled = true;
    standin.users.get('user9@example.com')!.enabled = false;
    standin.users.delete('user10@example.com');
    const planted = 5;
    const verifyArgs = ['--json', 'cognito', 'migrate', '--verify', '--user-pool-id', standin.poolId, '--from', file];
    const v1 = await runOpsctl(verifyArgs, env, dir);
    const d1 = JSON.parse(v1.stdout).verify;
    const found = d1.drift.missing + d1.drift.attribute + d1.drift.enabled + d1.drift.groups;
    console.log(`verify: exit ${v1.code}, drift ${JSON.stringify(d1.drift)} (${(v1.wallMs / 1000).toFixed(1)}s)`);
    results.push({ name: '--verify finds planted drift (2 attributes, 2 enabled states, 1 missing)', value: `${found} found, exit ${v1.code}`, target: `${planted}, exit 1`, pass: found === planted && v1.code === 1 });
    const rep = await runOpsctl([...verifyArgs, '--repair'], env, dir);
    const dr = JSON.parse(rep.stdout).verify;
    const v2 = await runOpsctl(verifyArgs, env, dir);
    const d2 = JSON.parse(v2.stdout).verify;
    const left = d2.drift.missing + d2.drift.attribute + d2.drift.enabled + d2.drift.groups;
    console.log(`repair: exit ${rep.code}, repaired ${JSON.stringify(dr.repaired)}; verify again: exit ${v2.code}, drift left ${left}, matching ${d2.matching}`);
    results.push({ name: '--verify --repair clears it (a second --verify is clean)', value: `${left} left, exit ${rep.code}/${v2.code}`, target: '0 left, exit 0/0', pass: left === 0 && rep.code === 0 && v2.code === 0 && d2.matching === n });
  } finally {
    await standin.stop();
  }
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
