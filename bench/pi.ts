// `opsctl pi audio setup` planning cost on an already set-up system.
// Target: planning a second, no-change run takes ≤ 1 s (against a --root temp dir).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { localTarget } from '../src/commands/pi/target.js';
import { processRunner } from '../src/lib/process.js';
import { run as setup } from '../src/commands/pi/setup.js';
import { changeCount } from '../src/commands/pi/plan.js';
import { cleanupPiRoots, makePiRoot } from '../test/support/pi-root.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.BENCH_RUNS ?? 11);
const LIMIT_MS = 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const root = await makePiRoot({ packages: true });
const options = { user: 'pi', speaker: '00:11:22:33:44:55' };
const target = localTarget({ runner: processRunner, root });
await setup(options, { target }); // the first run: everything gets set up

// In-process: gather facts + plan + (nothing to) apply, as `setup` does on a second run.
const inProcess: number[] = [];
for (let i = 0; i < runs + 2; i++) {
  const t0 = performance.now();
  const r = await setup(options, { target });
  const ms = performance.now() - t0;
  if (changeCount(r.plan) !== 0) throw new Error(`second run planned ${changeCount(r.plan)} change(s); expected none`);
  if (i >= 2) inProcess.push(ms);
}

// Whole command, as a user runs it: process start, CLI parsing, module load, plan, print.
const cli: number[] = [];
for (let i = 0; i < runs + 1; i++) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(repo, 'bin/opsctl.cjs'), 'pi', 'audio', 'setup', '--root', root, '--user', 'pi', '--speaker', options.speaker], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const ms = performance.now() - t0;
  if (r.status !== 0 || !r.stdout.includes('Nothing to change')) throw new Error(`opsctl exited ${r.status}: ${r.stderr}${r.stdout}`);
  if (i >= 1) cli.push(ms);
}

const worst = Math.max(...cli);
console.log(`pi audio setup, second (no-change) run against a --root temp dir, ${runs} runs each`);
console.log(`in-process plan (facts + plan)   median ${median(inProcess).toFixed(1).padStart(7)} ms   max ${Math.max(...inProcess).toFixed(1).padStart(7)} ms`);
console.log(`opsctl pi audio setup (process)  median ${median(cli).toFixed(1).padStart(7)} ms   max ${worst.toFixed(1).padStart(7)} ms`);
const pass = median(cli) <= LIMIT_MS && median(inProcess) <= LIMIT_MS;
console.log(`${pass ? 'PASS' : 'FAIL'}: median ≤ ${LIMIT_MS} ms`);
process.exitCode = pass ? 0 : 1;
await cleanupPiRoots();
