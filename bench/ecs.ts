/**
 * npm run bench:ecs — AWS call counts and time-to-ssh-exec for opsctl ecs-ssh,
 * against the ECS/EC2 stand-in (real SDK clients, endpoint override) and the
 * built binary, with a fake `ssh` first on PATH that notes when it was exec'd.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { binPath } from '../test/support/cli.js';
import { FakeAws, startEcsStandin } from '../test/support/ecs-standin.js';
import { createEcsApi } from '../src/commands/ecs-ssh/aws.js';
import { run } from '../src/commands/ecs-ssh/run.js';
import type { EcsSshOptions } from '../src/commands/ecs-ssh/options.js';

const LATENCY_MS = 50;
const LIST_TASKS = 250;
const RUNS = 11;

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-ecs-'));
const binDir = path.join(dir, 'bin');
const stampFile = path.join(dir, 'ssh-exec-at');
writeFileSync(path.join(dir, 'ssh_config'), 'Host ecs-prod-1\n  HostName 10.0.0.1\n');
// A fake ssh: records the wall clock (ms) at exec, nothing else.

mkdirSync(binDir);
writeFileSync(path.join(binDir, 'ssh'), `#!/bin/sh\nexec date +%s%N > ${stampFile}\n`);
chmodSync(path.join(binDir, 'ssh'), 0o755);

const aws = new FakeAws();
const standin = await startEcsStandin(aws);
Object.assign(process.env, standin.env);
const env = { ...process.env, ...standin.env, PATH: `${binDir}:${process.env.PATH}`, HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg'), NO_COLOR: '1' };

aws.addService('prod', 'web');
aws.addEc2Task('prod', 'web', { instance: { nameTag: 'ecs-prod-1' } });
aws.addService('big', 'web');
const hosts = Array.from({ length: 60 }, (_, i) => aws.addInstance({ nameTag: `node-${i}` }));
for (let i = 0; i < LIST_TASKS; i++) aws.addEc2Task('big', 'web', { instance: hosts[i % hosts.length] });

function runBinary(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; startedAt: number; stderr: string }> {
  return new Promise((resolve) => {
    const startedAt = Date.now();
    const child = spawn(process.execPath, [binPath, ...args], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, startedAt, stderr }));
  });
}

const connectArgs = ['ecs-ssh', 'web', '--cluster', 'prod', '--ssh-config', path.join(dir, 'ssh_config'), '--', 'true'];
const check = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// 1. AWS calls for one task on EC2.
aws.resetCalls();
const one = await runBinary(connectArgs);
if (one.code !== 0) throw new Error(`opsctl failed: ${one.stderr}`);
const oneCounts = aws.counts();
const oneTotal = aws.count();
console.log(`AWS calls, one task on EC2: ${oneTotal} ${JSON.stringify(oneCounts)}  target exactly 4: ${check(oneTotal === 4)}`);

// 2. AWS calls for --list of N tasks.
aws.resetCalls();
const list = await runBinary(['ecs-ssh', '--list', '--cluster', 'big']);
if (list.code !== 0) throw new Error(`opsctl --list failed: ${list.stderr}`);
const lc = aws.counts();
const limit = Math.ceil(LIST_TASKS / 100);
const listOk = (lc.DescribeTasks ?? 0) <= limit && (lc.DescribeContainerInstances ?? 0) <= limit && (lc.DescribeInstances ?? 0) <= 1;
console.log(`AWS calls, --list of ${LIST_TASKS} tasks on ${hosts.length} instances: ${JSON.stringify(lc)}  target ≤ ${limit} per describe API, 1 DescribeInstances: ${check(listOk)}`);

// 3. Time to ssh exec with latency injected on every AWS call.
aws.latencyMs = LATENCY_MS;
const budget = 4 * LATENCY_MS + 250;
async function timeToSsh(extraEnv: Record<string, string> = {}): Promise<number> {
  rmSync(stampFile, { force: true });
  const r = await runBinary(connectArgs, extraEnv);
  if (r.code !== 0) throw new Error(`opsctl failed: ${r.stderr}`);
  return Number(BigInt(readFileSync(stampFile, 'utf8').trim()) / 1_000_000n) - r.startedAt;
}
// What users run (the prebuilt bundle), then, for comparison, the ES module
// graph (OPSCTL_NO_BUNDLE=1): separately, so the heavy runs do not disturb the measured ones.
await timeToSsh();
aws.answerMs = [];
const wall: number[] = [];
for (let i = 0; i < RUNS; i++) wall.push(await timeToSsh());
const answer = median(aws.answerMs);
const esm: number[] = [];
for (let i = 0; i < RUNS; i++) esm.push(await timeToSsh({ OPSCTL_NO_BUNDLE: '1' }));

// The same path in-process: from run() to the moment ssh would be spawned (node startup excluded).
const inProcess: number[] = [];
const options: EcsSshOptions = { service: 'web', command: ['true'], cluster: 'prod', all: false, list: false, print: false, fallbackUser: 'ec2-user', public: false, sshOptions: [] };
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  let at = 0;
  await run(options, {
    api: createEcsApi({ region: 'eu-west-1' }, standin.env),
    runner: { which: () => '/usr/bin/ssh', run: async () => ((at = performance.now()), { exitCode: 0, stdout: '', stderr: '' }) },
    prompt: { interactive: false, confirm: async () => false, pick: async (_q, c) => c[0]!.value },
    sshHosts: () => ({ file: 'x', entries: [{ aliases: ['ecs-prod-1'] }] }),
    stdinIsTTY: false,
    log: () => {},
  });
  inProcess.push(at - t0);
}

// Context for the figures: an empty node process on this machine right now.
const bare: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const t0 = Date.now();
  await new Promise((resolve) => spawn(process.execPath, ['-e', '0']).on('close', resolve));
  bare.push(Date.now() - t0);
}

console.log(`time to ssh exec with ${LATENCY_MS} ms per AWS call (${RUNS} runs, budget 4×${LATENCY_MS}+250 = ${budget} ms):`);
console.log(`  process start → ssh exec (built binary, node startup included): median ${median(wall)} ms, min ${Math.min(...wall)} ms  ${check(median(wall) <= budget)}`);
console.log(`  (the stand-in answered each call in a median ${answer.toFixed(1)} ms, the ${LATENCY_MS} ms latency included)`);
console.log(`  (the same through the ES modules, OPSCTL_NO_BUNDLE=1: median ${median(esm)} ms, min ${Math.min(...esm)} ms)`);
console.log(`  (for scale: \`node -e 0\` alone takes a median ${median(bare)} ms here now; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs)`);
console.log(`  run() → ssh spawn (in-process, first run cold ${inProcess[0]!.toFixed(0)} ms): median ${median(inProcess).toFixed(0)} ms  ${check(median(inProcess) <= budget)}`);

await standin.stop();
rmSync(dir, { recursive: true, force: true });
