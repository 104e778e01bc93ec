/**
 * `opsctl pi audio pair MAC`: step 7 of setup alone. Powers the controller on,
 * pairs, trusts and connects the speaker (skipping what is done already), and
 * enables the unit that connects it at every boot.
 */
import type { Context } from '../../lib/context.js';
import { OpsError } from '../../lib/errors.js';
import type { TargetSystem } from './target.js';
import { applyPlan, emptyManifest, type AppliedChange, type ApplyHooks } from './apply.js';
import { normalizeMac } from './bluetooth.js';
import { liveChecks, type Check } from './checks.js';
import { bluetoothState, makeTarget, progressHook } from './common.js';
import { gatherFacts, isDebianFamily } from './facts.js';
import { changeCount, planSpeaker, type Plan, type Step } from './plan.js';
import { changeJson, printChecks, printPlan } from './print.js';

export interface PairResult {
  target: string;
  mac: string;
  dryRun: boolean;
  plan: Plan;
  applied: AppliedChange[];
  checks: Check[];
}

export async function run(options: { mac: string; dryRun?: boolean }, deps: { target: TargetSystem } & ApplyHooks): Promise<PairResult> {
  const { target } = deps;
  const mac = normalizeMac(options.mac);
  const facts = await gatherFacts(target, { speakers: [mac], units: ['pulseaudio.service'] });
  if (!isDebianFamily(facts.os)) throw new OpsError(`This is ${facts.os?.prettyName ?? 'not a Debian-family system'}, not Debian or Raspberry Pi OS.`, { code: 'wrong-os' });
  if (target.kind === 'local' && facts.uid !== 0) throw new OpsError('Pairing and enabling the boot unit need root.', { code: 'not-root', hint: `run it with sudo: sudo opsctl pi audio pair ${mac}` });
  if (target.live && !facts.installed.has('bluez')) throw new OpsError('BlueZ is not installed.', { code: 'not-set-up', hint: `run \`sudo opsctl pi audio setup --speaker ${mac}\`, which installs and configures everything` });
  const step: Step = planSpeaker(facts, mac, await bluetoothState(target, facts, mac), target.live);
  if (target.live && facts.active.get('pulseaudio.service') !== 'active') {
    step.notes.push('pulseaudio.service is not active: connecting will fail with org.bluez.Error.Failed until it runs (`opsctl pi audio setup`)');
  }
  const units = step.changes.filter((c) => c.kind !== 'run').length;
  if (units && target.live) step.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'daemon-reload'] }, why: 'load the connect unit' });
  const plan: Plan = { target: target.label, live: target.live, steps: [step] };
  const result: PairResult = { target: target.label, mac, dryRun: Boolean(options.dryRun), plan, applied: [], checks: [] };
  if (options.dryRun) return result;
  result.applied = await applyPlan(target, plan, facts.manifest ?? emptyManifest(), deps);
  result.checks = (await liveChecks(target, [mac])).filter((c) => c.id.endsWith(mac) || c.status === 'skipped');
  return result;
}

export async function handler(args: unknown[], opts: Record<string, any>, ctx: Context): Promise<number> {
  const target = makeTarget(opts, ctx);
  try {
    const result = await run({ mac: String(args[0]), dryRun: ctx.global.dryRun }, { target, signal: ctx.signal, onChange: progressHook(ctx, target) });
    const problems = result.checks.filter((c) => c.status === 'problem').length;
    if (ctx.global.json) {
      ctx.out.data({
        target: result.target,
        mac: result.mac,
        dryRun: result.dryRun,
        changes: result.plan.steps[0]!.changes.map((c) => changeJson(c, result.applied.find((a) => a.change === c)?.status)),
        notes: result.plan.steps[0]!.notes,
        checks: result.checks,
      });
      return problems ? 1 : 0;
    }
    ctx.out.line(result.dryRun ? `Pairing plan for ${result.mac} on ${result.target} (dry run: nothing was changed)` : `Pairing ${result.mac} on ${result.target}:`);
    printPlan(ctx.out, result.plan, { diffs: result.dryRun || ctx.out.verbose, applied: result.applied });
    if (!result.dryRun && changeCount(result.plan) === 0) ctx.out.line('Nothing to change: the speaker is paired, trusted, connected and connects at boot.');
    if (result.checks.length) printChecks(ctx.out, result.checks);
    return problems ? 1 : 0;
  } finally {
    await target.close();
  }
}
