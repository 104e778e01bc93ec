// `opsctl pi audio` figures, each beside a baseline from the same run:
//  1. a second (no-change) `setup` as a process, against a real debootstrapped root when one is cached
//     (else the fixture root) — target ≤ 1 s; baseline: `opsctl --version` (process start alone).
//  2. `status` with bluetoothd stopped (org.bluez unowned, bluetoothctl waiting forever as the real one does)
//     — target: returns within 10 s with the verdict "bluetoothd not running"; baseline: the call v1 made,
//     `bluetoothctl show` without a limit (cut off at 15 s).
//  3. with BENCH_PI_VM=1: setup over ssh on a booted VM, with stage times (test/pi/vm; ~7 min, image cached).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { localTarget } from '../src/commands/pi/target.js';
import { processRunner } from '../src/lib/process.js';
import { run as setup } from '../src/commands/pi/setup.js';
import { cleanupPiRoots, makePiRoot } from '../test/support/pi-root.js';
import { IMAGE_PACKAGES, cleanupDebianRoots, debianRoot, debootstrapUnavailable } from '../test/support/pi-debian.js';
import { installFakePi } from '../test/support/pi-fakes.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(repo, 'bin/opsctl.js');
const runs = Number(process.env.BENCH_RUNS ?? 7);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0).padStart(6)} ms`;
let pass = true;

// ── 1. no-change re-plan ──
const real = !debootstrapUnavailable() && existsSync('/var/cache/opsctl-test-roots');
const root = real ? debianRoot('trixie', IMAGE_PACKAGES.pulse) : await makePiRoot({ packages: true });
const user = real ? 'root' : 'pi';
await setup({ user, speaker: '00:11:22:33:44:55' }, { target: localTarget({ runner: processRunner, root }) });
const env = { ...process.env, NO_COLOR: '1' };
const time = (args: string[], check: (stdout: string, status: number | null) => boolean) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
  const took = performance.now() - t0;
  if (!check(r.stdout, r.status)) throw new Error(`opsctl ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return took;
};
const replan: number[] = [];
const version: number[] = [];
for (let i = 0; i < runs + 1; i++) {
  const a = time(['pi', 'audio', 'setup', '--root', root, '--user', user, '--speaker', '00:11:22:33:44:55'], (out, st) => st === 0 && out.includes('Nothing to change'));
  const b = time(['--version'], (_o, st) => st === 0);
  if (i > 0) (replan.push(a), version.push(b));
}
console.log(`1. no-change re-plan as a process (${real ? 'debootstrapped trixie root with PulseAudio' : 'fixture root'}), ${runs} runs`);
console.log(`   opsctl pi audio setup (nothing to change)   median ${ms(median(replan))}   max ${ms(Math.max(...replan))}`);
console.log(`   baseline: opsctl --version                  median ${ms(median(version))}`);
const ok1 = median(replan) <= 1000;
console.log(`   ${ok1 ? 'PASS' : 'FAIL'}: median ≤ 1000 ms`);
pass &&= ok1;

// ── 2. status with bluetoothd stopped ──
const fakeDir = mkdtempSync(path.join(os.tmpdir(), 'pi-bench-'));
const binDir = path.join(fakeDir, 'bin');
spawnSync('mkdir', ['-p', binDir]);
await installFakePi(binDir, path.join(fakeDir, 'calls.log'), { installed: ['pulseaudio', 'pulseaudio-module-bluetooth', 'bluez'], active: ['pulseaudio.service'], bluetoothdDown: true });
const fakeEnv = { ...env, PATH: `${binDir}:${process.env.PATH}` };
const t0 = performance.now();
const st = spawnSync(process.execPath, [bin, 'pi', 'audio', 'status'], { encoding: 'utf8', env: fakeEnv, timeout: 30_000 });
const statusMs = performance.now() - t0;
const verdict = /bluetoothd not running \(nobody owns org\.bluez/.test(st.stdout);
const baseline = await new Promise<number>((resolve) => {
  const b0 = performance.now();
  const child = spawn(path.join(binDir, 'bluetoothctl'), ['show'], { stdio: 'ignore', env: fakeEnv });
  const cut = setTimeout(() => child.kill('SIGKILL'), 15_000);
  child.on('close', () => (clearTimeout(cut), resolve(performance.now() - b0)));
});
console.log('2. status with bluetoothd stopped (org.bluez unowned; bluetoothctl waits for it forever)');
console.log(`   opsctl pi audio status                      ${ms(statusMs)}   exit ${st.status}, verdict: ${verdict ? 'bluetoothd not running' : 'WRONG'}`);
console.log(`   baseline: bluetoothctl show (v1, no limit)  ${ms(baseline)}   (cut off at 15 s; never returns by itself)`);
const ok2 = statusMs <= 10_000 && verdict && st.status === 1;
console.log(`   ${ok2 ? 'PASS' : 'FAIL'}: ≤ 10 000 ms with the right verdict`);
pass &&= ok2;

// ── 3. booted VM ──
if (process.env.BENCH_PI_VM === '1') {
  const t0 = performance.now();
  const vm = spawnSync('npx', ['vitest', 'run', '--config', 'test/pi/vm/vitest.config.ts'], { cwd: repo, encoding: 'utf8', env: { ...env, PI_VM_STAGES: '1' } });
  const lines = [...new Set(vm.stdout.match(/stage .*$/gm) ?? [])];
  console.log(`3. setup on a booted VM end to end (test/pi/vm, qemu TCG), ${vm.status === 0 ? 'passed' : 'FAILED'} in ${((performance.now() - t0) / 1000).toFixed(0)} s; stage times:`);
  console.log((lines.length ? lines : ['(no stage lines: the VM test did not run)']).map((l) => '   ' + l).join('\n'));
  pass &&= vm.status === 0;
} else console.log('3. booted VM: set BENCH_PI_VM=1 to run test/pi/vm and print its stage times');

process.exitCode = pass ? 0 : 1;
await cleanupPiRoots();
cleanupDebianRoots();
