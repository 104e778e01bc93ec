/**
 * npm run bench:cert — opsctl cert against certbot (Debian's), side by side
 * against the same local Pebble (PEBBLE_VA_NOSLEEP=1), the built binary with
 * process start included, runs interleaved so machine load hits both alike:
 *   1. issuance median (--standalone, one domain): target ≤ 0.5× certbot's;
 *   2. a push that fails once (Heroku 401) is delivered by the next `cert renew`;
 *   3. SIGTERM during a --webroot issuance leaves nothing behind; a CA killed
 *      mid-issuance fails in one line within ~30 s;
 *   4. 50 % badNonce (PEBBLE_WFE_NONCEREJECT=50): every issuance succeeds.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPebble, type TestPebble } from '../test/support/cert-pebble.js';
import { startHeroku } from '../test/support/cert-heroku.js';

const RUNS = 7;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'opsctl.js');
const certbot = spawnSync('sh', ['-c', 'command -v certbot'], { encoding: 'utf8' }).stdout.trim();

interface Ran {
  ms: number;
  code: number | null;
  stderr: string;
}

function runOnce(file: string, args: string[], env: NodeJS.ProcessEnv, onSpawn?: (kill: (s: NodeJS.Signals) => void) => void): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code, stderr }));
    onSpawn?.((s) => child.kill(s));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const home = await mkdtemp(path.join(os.tmpdir(), 'opsctl-bench-cert-'));
const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), NO_COLOR: '1' };
const opsctl = (args: string[], extraEnv: NodeJS.ProcessEnv = {}, onSpawn?: (kill: (s: NodeJS.Signals) => void) => void) => runOnce(process.execPath, [bin, ...args], { ...env, ...extraEnv }, onSpawn);
const issueArgs = (p: TestPebble, domain: string, store: string) => ['cert', 'issue', '-d', domain, '--email', 'bench@opsctl.test', '--directory', p.directoryUrl, '--ca-bundle', p.caBundle, '--standalone', '--http-port', String(p.httpPort), '--no-self-check', '--cert-dir', store];
const results: Array<{ name: string; pass: boolean; line: string }> = [];
const pebbles: TestPebble[] = [];

try {
  // ── 1. issuance, side by side ─────────────────────────────────────────────
  const pebble = await startPebble({ nosleep: true });
  pebbles.push(pebble);
  const ours: number[] = [];
  const theirs: number[] = [];
  const cb = path.join(home, 'certbot');
  for (let i = 0; i < RUNS; i++) {
    const r = await opsctl(issueArgs(pebble, `bench${i}.test`, path.join(home, 'certs')));
    if (r.code !== 0) throw new Error(`opsctl run ${i + 1} failed (exit ${r.code}):\n${r.stderr}`);
    ours.push(r.ms);
    if (certbot) {
      const c = await runOnce(
        certbot,
        ['certonly', '--standalone', '--http-01-port', String(pebble.httpPort), '--http-01-address', '127.0.0.1', '-d', `certbot${i}.test`, '--server', pebble.directoryUrl, '--agree-tos', '-m', 'bench@opsctl.test', '--non-interactive', '--config-dir', path.join(cb, 'config'), '--work-dir', path.join(cb, 'work'), '--logs-dir', path.join(cb, 'logs')],
        { ...env, REQUESTS_CA_BUNDLE: pebble.caBundle },
      );
      if (c.code !== 0) throw new Error(`certbot run ${i + 1} failed (exit ${c.code}):\n${c.stderr}`);
      theirs.push(c.ms);
    }
    console.log(`run ${i + 1}: opsctl ${ours[i]!.toFixed(0)} ms${certbot ? `, certbot ${theirs[i]!.toFixed(0)} ms` : ''}`);
  }
  const baseline: number[] = [];
  for (let i = 0; i < 5; i++) baseline.push((await opsctl(['--version'])).ms);
  console.log(`baseline \`opsctl --version\`: median ${median(baseline).toFixed(0)} ms`);
  if (certbot) {
    const ratio = median(ours) / median(theirs);
    results.push({ name: 'issuance', pass: ratio <= 0.5, line: `issuance median (--standalone, 1 domain, Pebble NOSLEEP, ${RUNS} runs each): opsctl ${median(ours).toFixed(0)} ms vs certbot ${median(theirs).toFixed(0)} ms = ${ratio.toFixed(2)}× (target ≤ 0.5×)` });
  } else {
    results.push({ name: 'issuance', pass: false, line: `issuance median opsctl ${median(ours).toFixed(0)} ms; certbot not installed (apt-get install certbot): no baseline` });
  }

  // ── 2. a push that fails once is delivered by the next renew ─────────────
  const heroku = await startHeroku();
  try {
    const store = path.join(home, 'pending');
    const herokuEnv = { HEROKU_API_URL: heroku.apiUrl, HEROKU_API_KEY: heroku.token };
    const issued = await opsctl(issueArgs(pebble, 'pending.test', store));
    const pushed = await opsctl(['cert', 'push', 'heroku', '--app', heroku.appName, '-d', 'pending.test', '--cert-dir', store], herokuEnv);
    heroku.failNext('PATCH', `/apps/${heroku.appName}/sni-endpoints`, 401, { id: 'unauthorized', message: 'Invalid credentials provided.' });
    const failed = await opsctl(['cert', 'renew', '--force', '--cert-dir', store], herokuEnv);
    const fullchain = await readFile(path.join(store, 'live', 'pending.test', 'fullchain.pem'), 'utf8');
    const staleOnHeroku = heroku.sniEndpoints[0]?.certificate_chain !== fullchain;
    const next = await opsctl(['cert', 'renew', '--cert-dir', store], herokuEnv);
    const delivered = heroku.sniEndpoints[0]?.certificate_chain === fullchain;
    const pass = issued.code === 0 && pushed.code === 0 && failed.code === 1 && staleOnHeroku && next.code === 0 && delivered;
    results.push({ name: 'pending push', pass, line: `push failing once (Heroku 401): renew exit ${failed.code} with it pending; next renew (not due) exit ${next.code}, Heroku serves the new chain: ${delivered ? 'yes' : 'no'}` });
  } finally {
    await heroku.stop();
  }

  // ── 3. SIGTERM during --webroot leaves nothing behind ────────────────────
  const slow = await startPebble({ nosleep: false });
  pebbles.push(slow);
  const webroot = await mkdtemp(path.join(os.tmpdir(), 'bench-webroot-'));
  const challengeDir = path.join(webroot, '.well-known', 'acme-challenge');
  let sentAfter = 0;
  const term = await opsctl(['cert', 'issue', '-d', 'term.test', '--email', 'bench@opsctl.test', '--directory', slow.directoryUrl, '--ca-bundle', slow.caBundle, '--webroot', webroot, '--no-self-check', '--cert-dir', path.join(home, 'term')], {}, (kill) => {
    const t0 = Date.now();
    const poll = setInterval(async () => {
      if ((await readdir(challengeDir).catch(() => [])).length) {
        clearInterval(poll);
        sentAfter = Date.now() - t0;
        kill('SIGTERM');
      }
    }, 20);
  });
  const left = await readdir(webroot);
  results.push({ name: 'SIGTERM', pass: term.code === 130 && left.length === 0 && sentAfter > 0, line: `SIGTERM while the webroot token is live (sent after ${sentAfter} ms): exit ${term.code}, left in the webroot: ${left.length ? left.join(', ') : 'nothing'}` });

  // ── 3b. a CA that dies mid-issuance: one line within ~30 s ────────────────
  const dying = await startPebble({ nosleep: false });
  pebbles.push(dying);
  const webroot2 = await mkdtemp(path.join(os.tmpdir(), 'bench-webroot-'));
  let killedAt = 0;
  const dead = await opsctl(['cert', 'issue', '-d', 'dying.test', '--email', 'bench@opsctl.test', '--directory', dying.directoryUrl, '--ca-bundle', dying.caBundle, '--webroot', webroot2, '--no-self-check', '--cert-dir', path.join(home, 'dying')], {}, () => {
    const poll = setInterval(async () => {
      if ((await readdir(path.join(webroot2, '.well-known', 'acme-challenge')).catch(() => [])).length) {
        clearInterval(poll);
        killedAt = Date.now();
        dying.killCa();
      }
    }, 20);
  });
  const afterKill = killedAt ? (Date.now() - killedAt) / 1000 : NaN;
  const errLines = dead.stderr.split('\n').filter((l) => l.startsWith('error:'));
  results.push({ name: 'CA dies', pass: dead.code === 1 && afterKill <= 35 && errLines.length === 1, line: `CA killed mid-issuance: exit ${dead.code} ${afterKill.toFixed(1)} s after the kill, ${errLines.length} error line (${errLines[0]?.slice(0, 90) ?? 'none'}…)` });

  // ── 4. 50 % badNonce ──────────────────────────────────────────────────────
  const flaky = await startPebble({ nosleep: true, nonceReject: 50 });
  pebbles.push(flaky);
  const N = 21;
  let ok = 0;
  for (let i = 0; i < N; i++) if ((await opsctl(issueArgs(flaky, `nonce${i}.test`, path.join(home, 'nonce')))).code === 0) ok++;
  results.push({ name: 'badNonce', pass: ok === N, line: `50 % badNonce (PEBBLE_WFE_NONCEREJECT=50): ${ok}/${N} issuances succeeded` });
} finally {
  await Promise.all(pebbles.map((p) => p.stop()));
  await rm(home, { recursive: true, force: true });
}

for (const r of results) console.log(`${r.line}: ${r.pass ? 'PASS' : 'FAIL'}`);
process.exit(results.every((r) => r.pass) ? 0 : 1);
