/**
 * `opsctl pi audio pair MAC`: step 7 of setup alone. Powers the controller on,
 * pairs, trusts and connects the speaker (skipping what is done already), and
 * enables the unit that connects it at every boot.
 */
import { arg, defineCommand } from '../../lib/command.js';
import { isDryRun } from '../../lib/plan.js';
import { OpsError } from '../../lib/errors.js';
import type { TargetSystem } from './target.js';
import { applyPlan, emptyManifest, type AppliedChange, type ApplyHooks } from './apply.js';
import { normalizeMac } from './bluetooth.js';
import { liveChecks, type Check } from './checks.js';
import { bluetoothState, progressHook, targetFlags, type TargetFlags, withTarget } from './common.js';
import { gatherFacts, isDebianFamily } from './facts.js';
import { reconnectTimerName } from './recipe.js';
import { changeCount, planSpeaker, type Plan, type Step } from './plan.js';
import { planDryRun, printChecks, printPlan, printPlanDryRun, type PiDryRun } from './print.js';

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
  const facts = await gatherFacts(target, { speakers: [mac], units: ['pulseaudio.service', 'bluetooth.service', reconnectTimerName(mac)] });
  if (!isDebianFamily(facts.os)) throw new OpsError(`This is ${facts.os?.prettyName ?? 'not a Debian-family system'}, not Debian or Raspberry Pi OS.`, { code: 'wrong-os' });
  if (target.kind === 'local' && facts.uid !== 0) throw new OpsError('Pairing and enabling the boot unit need root.', { code: 'not-root', hint: `run it with sudo: sudo opsctl pi audio pair ${mac}` });
  if (target.live && !facts.installed.has('bluez')) throw new OpsError('BlueZ is not installed.', { code: 'not-set-up', hint: `run \`sudo opsctl pi audio setup --speaker ${mac}\`, which installs and configures everything` });
  const step: Step = planSpeaker(facts, mac, await bluetoothState(target, facts, mac), target.live);
  if (target.live && facts.active.get('pulseaudio.service') !== 'active') {
    step.notes.push('pulseaudio.service is not active: connecting will fail with org.bluez.Error.Failed until it runs (`opsctl pi audio setup`)');
  }
  const plan: Plan = { target: target.label, live: target.live, steps: [step] };
  const result: PairResult = { target: target.label, mac, dryRun: Boolean(options.dryRun), plan, applied: [], checks: [] };
  if (options.dryRun) return result;
  result.applied = await applyPlan(target, plan, facts.manifest ?? emptyManifest(), deps);
  result.checks = (await liveChecks(target, [mac])).filter((c) => c.id.endsWith(mac) || c.status === 'skipped');
  return result;
}

export interface PairCommandOptions extends TargetFlags {
  mac: string;
  dryRun: boolean;
}

export const command = defineCommand<PairCommandOptions, PairResult | PiDryRun>({
  options: (args, flags, ctx) => ({ ...targetFlags(flags), mac: normalizeMac(arg(args, 0) ?? ''), dryRun: Boolean(ctx.global.dryRun) }),
  async run(options, ctx) {
    return withTarget(options, ctx, async (target) => {
      const result = await run(options, { target, signal: ctx.signal, onChange: progressHook(ctx, target) });
      return result.dryRun ? planDryRun(result.plan) : result;
    });
  },
  print(result, out) {
    if (isDryRun(result)) return printPlanDryRun(out, result as PiDryRun);
    const r = result as PairResult;
    out.line(`Pairing ${r.mac} on ${r.target}:`);
    printPlan(out, r.plan, { diffs: out.verbose, applied: r.applied });
    if (changeCount(r.plan) === 0) out.line('Nothing to change: the speaker is paired, trusted, connected and reconnects by itself.');
    if (r.checks.length) printChecks(out, r.checks);
  },
  exitCode: (result) => (isDryRun(result) ? 0 : (result as PairResult).checks.some((c) => c.status === 'problem') ? 1 : 0),
});
