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
export const LIMITS = { systemctl: 10, bluetoothctl: 5, pactl: 4, busctl: 4 } as const;

export type Timed<T extends TargetCommand> = T & { waitsFor?: string };

/** `timeout -k 1 N argv…`; `argv` stays the program's own (fakes and logs see the real name). */
export function withTimeout<T extends TargetCommand>(cmd: T, seconds: number, waitsFor?: string): Timed<T> {
  return { ...cmd, argv: ['timeout', '-k', '1', String(seconds), ...cmd.argv], ...(waitsFor ? { waitsFor } : {}) };
}

/** bluetoothctl/pactl/systemctl with their default limit. */
export function timed<T extends TargetCommand>(cmd: T, waitsFor?: string): Timed<T> {
  const program = cmd.argv[0] as keyof typeof LIMITS;
  return withTimeout(cmd, LIMITS[program] ?? 10, waitsFor);
}

/** The argv without the `timeout` wrapper (for messages). */
export function unwrapTimeout(argv: string[]): string[] {
  return argv[0] === 'timeout' && argv[1] === '-k' ? argv.slice(4) : argv;
}

/** coreutils timeout exits 124 when the limit was hit (137 if it had to kill). */
export const timedOut = (res: Pick<CommandResult, 'exitCode'>) => res.exitCode === 124 || res.exitCode === 137;
