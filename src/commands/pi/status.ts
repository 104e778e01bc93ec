/**
 * `opsctl pi audio status`: every property of a working setup as one line,
 * ok or problem with a hint, printed as each check completes (every command
 * behind a check has a time limit, so a dead bluetoothd costs nothing and a
 * hung one a few seconds). Exit 1 when anything is wrong, so scripts can use it.
 */
import { defineCommand, flag } from '../../lib/command.js';
import type { Output } from '../../lib/output.js';
import type { TargetSystem } from './target.js';
import { configChecks, liveChecks, type Check } from './checks.js';
import { targetFlags, type TargetFlags, withTarget } from './common.js';
import { gatherFacts, isDebianFamily } from './facts.js';
import { resolveUser } from './plan.js';
import { checkLine, printChecks } from './print.js';

export interface StatusResult {
  target: string;
  os?: string;
  user?: string;
  speakers: string[];
  checks: Check[];
  problems: number;
}

export interface StatusOptions extends TargetFlags {
  user?: string;
}

export async function run(options: { user?: string }, deps: { target: TargetSystem; onCheck?: (c: Check) => void; onStart?: (target: string, os?: string) => void }): Promise<StatusResult> {
  const { target } = deps;
  const facts = await gatherFacts(target);
  deps.onStart?.(target.label, facts.os?.prettyName);
  const checks: Check[] = [];
  const emit = (c: Check) => {
    checks.push(c);
    deps.onCheck?.(c);
  };
  emit(
    isDebianFamily(facts.os) && facts.hasApt && facts.hasSystemctl
      ? { id: 'os', label: 'Debian-family system with apt and systemd', status: 'ok', detail: facts.os!.prettyName }
      : { id: 'os', label: 'Debian-family system with apt and systemd', status: 'problem', detail: facts.os?.prettyName ?? 'no /etc/os-release', hint: 'opsctl pi audio supports Raspberry Pi OS / Debian' },
  );
  const user = resolveUser(facts, options.user ?? facts.manifest?.user, target);
  const speakers = facts.manifest?.speakers ?? [];
  configChecks(facts, { user, speakers }).forEach(emit);
  if (facts.manifest?.soundServer !== 'pipewire' && facts.pipewire.running.length) emit({ id: 'pipewire', label: 'no PipeWire sound server running', status: 'problem', detail: `running: ${facts.pipewire.running.join(', ')}`, hint: 'run `sudo opsctl pi audio setup --force` to mask it for all users, then log out and in' });
  await liveChecks(target, { speakers, onCheck: emit, server: facts.manifest?.soundServer, user: facts.manifest?.user ?? user });
  return { target: target.label, os: facts.os?.prettyName, user, speakers, checks, problems: checks.filter((c) => c.status === 'problem').length };
}

const LABEL_WIDTH = 44;
const header = (out: Output, target: string, os?: string) => out.line(`Bluetooth audio on ${target}${os ? ` (${os})` : ''}:`);

export const command = defineCommand<StatusOptions, StatusResult>({
  options: (_args, flags) => ({ ...targetFlags(flags), user: flag.string(flags, 'user') }),
  async run(options, ctx) {
    return withTarget(options, ctx, async (target) => {
      // Lines as the checks complete (out.line is silent under --json, which prints the result once).
      return await run(options, { target, onStart: (t, os) => header(ctx.out, t, os), onCheck: (c) => checkLine(ctx.out, c, LABEL_WIDTH) });
    });
  },
  print(result, out) {
    out.line(result.problems ? `${result.problems} problem(s).` : 'All good.');
  },
  exitCode: (result) => (result.problems ? 1 : 0),
});

/** The whole report at once (setup's verify step, tests). */
export function printStatus(out: Output, result: StatusResult): void {
  header(out, result.target, result.os);
  printChecks(out, result.checks);
  out.line(result.problems ? `${result.problems} problem(s).` : 'All good.');
}
