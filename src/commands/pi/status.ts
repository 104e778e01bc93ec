/**
 * `opsctl pi audio status`: every property of a working setup as one line,
 * ok or problem with a hint. Exit 1 when anything is wrong, so scripts can use it.
 */
import type { Context } from '../../lib/context.js';
import type { TargetSystem } from './target.js';
import { configChecks, liveChecks, type Check } from './checks.js';
import { makeTarget } from './common.js';
import { gatherFacts, isDebianFamily } from './facts.js';
import { resolveUser } from './plan.js';
import { printChecks } from './print.js';

export interface StatusResult {
  target: string;
  os?: string;
  user?: string;
  speakers: string[];
  checks: Check[];
  problems: number;
}

export async function run(options: { user?: string }, deps: { target: TargetSystem }): Promise<StatusResult> {
  const { target } = deps;
  const facts = await gatherFacts(target);
  const checks: Check[] = [];
  checks.push(
    isDebianFamily(facts.os) && facts.hasApt && facts.hasSystemctl
      ? { id: 'os', label: 'Debian-family system with apt and systemd', status: 'ok', detail: facts.os!.prettyName }
      : { id: 'os', label: 'Debian-family system with apt and systemd', status: 'problem', detail: facts.os?.prettyName ?? 'no /etc/os-release', hint: 'opsctl pi audio supports Raspberry Pi OS / Debian' },
  );
  const user = resolveUser(facts, options.user, target);
  const speakers = facts.manifest?.speakers ?? [];
  checks.push(...configChecks(facts, { user, speakers }));
  if (facts.pipewire.running.length) checks.push({ id: 'pipewire', label: 'no PipeWire sound server running', status: 'problem', detail: `running: ${facts.pipewire.running.join(', ')}`, hint: 'run `sudo opsctl pi audio setup --force` to mask it for all users, then log out and in' });
  checks.push(...(await liveChecks(target, speakers)));
  return { target: target.label, os: facts.os?.prettyName, user, speakers, checks, problems: checks.filter((c) => c.status === 'problem').length };
}

export async function handler(_args: unknown[], opts: Record<string, any>, ctx: Context): Promise<number> {
  const target = makeTarget(opts, ctx);
  try {
    const result = await run({ user: opts.user }, { target });
    if (ctx.global.json) ctx.out.data(result);
    else {
      ctx.out.line(`PulseAudio + Bluetooth on ${result.target}${result.os ? ` (${result.os})` : ''}:`);
      printChecks(ctx.out, result.checks);
      ctx.out.line(result.problems ? `${result.problems} problem(s).` : 'All good.');
    }
    return result.problems ? 1 : 0;
  } finally {
    await target.close();
  }
}
