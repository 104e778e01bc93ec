/**
 * Every call to bluetoothctl, pactl and systemctl on the target runs under
 * coreutils `timeout`: bluetoothctl waits forever for bluetoothd on D-Bus when
 * the daemon is not running, pactl for a wedged sound server, systemctl for a
 * busy PID 1. A run that hit its limit is told apart (exit 124) and the
 * message says what it waited for.
 */
import type { CommandResult } from '../../lib/process.js';
import type { TargetCommand } from './target.js';

/** Seconds per program: enough for a healthy answer on a Pi Zero, short enough that status stays under 10 s. */
export const LIMITS = { systemctl: 10, bluetoothctl: 5, pactl: 4, busctl: 3 } as const;

/** The command with its program's limit and what it waits for. */
export function timed<T extends TargetCommand>(cmd: T, waitsFor?: string): T {
  const program = cmd.argv[0]!;
  if (cmd.timeoutS || !(program in LIMITS)) return cmd;
  // Starting and restarting wait for the unit itself: longer than a query.
  const limit = program === 'systemctl' && /^(start|restart|stop|daemon-reload|enable|disable)$/.test(cmd.argv[1] ?? '') ? 60 : LIMITS[program as keyof typeof LIMITS];
  return { ...cmd, timeoutS: limit, ...(waitsFor || cmd.waitsFor ? { waitsFor: waitsFor ?? cmd.waitsFor } : {}) };
}

export const withTimeout = <T extends TargetCommand>(cmd: T, seconds: number, waitsFor?: string): T => ({ ...cmd, timeoutS: seconds, ...(waitsFor ? { waitsFor } : {}) });

/** coreutils timeout exits 124 when the limit was hit (137 if it had to kill). */
export const timedOut = (res: Pick<CommandResult, 'exitCode'>) => res.exitCode === 124 || res.exitCode === 137;

/** "bluetoothctl show did not answer within 5 s (waited for bluetoothd on D-Bus)". */
export function timeoutMessage(cmd: TargetCommand): string {
  return `\`${cmd.argv.join(' ')}\` did not answer within ${cmd.timeoutS} s${cmd.waitsFor ? ` (waited for ${cmd.waitsFor})` : ''}`;
}
