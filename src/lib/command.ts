/**
 * What a command module exports (src/cli.ts registers it and imports it lazily):
 *
 *   export const command = defineCommand({ options, run, print, exitCode })
 *
 * - `options(args, flags, ctx)`: commander's positional args and flags (unknown,
 *   as parsed) → the command's typed options; bad input throws a usage error.
 * - `run(options, ctx)`: does the work, returns a plain result object (what
 *   `--json` prints). Side effects come from `ctx` (deps), so tests hand in fakes.
 * - `print(result, out)`: the human rendering. cli.ts calls either this or
 *   `out.data(result)` — the `--json` decision is made in one place.
 * - `exitCode(result)`: non-zero when the result is a failure the user must see
 *   (a pending push, a failed check); default 0.
 */
import type { Context } from './context.js';
import type { Output } from './output.js';

/** Flags as commander parsed them: read through typed accessors, never `any`. */
export type Flags = Readonly<Record<string, unknown>>;

export interface CommandModule<O, R> {
  options(args: readonly unknown[], flags: Flags, ctx: Context): O;
  run(options: O, ctx: Context): Promise<R>;
  print(result: R, out: Output, options: O): void;
  exitCode?(result: R, options: O): number;
}

export function defineCommand<O, R>(module: CommandModule<O, R>): CommandModule<O, R> {
  return module;
}

// ── typed flag readers ───────────────────────────────────────────────────────
export const flag = {
  string(flags: Flags, name: string): string | undefined {
    const v = flags[name];
    return typeof v === 'string' ? v : undefined;
  },
  strings(flags: Flags, name: string): string[] {
    const v = flags[name];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
  },
  bool(flags: Flags, name: string): boolean {
    return flags[name] === true;
  },
  /** A negatable flag (`--no-x`): commander sets it false when negated, true otherwise. */
  negatable(flags: Flags, name: string): boolean {
    return flags[name] !== false;
  },
  number(flags: Flags, name: string): number | undefined {
    const v = flags[name];
    return typeof v === 'number' ? v : undefined;
  },
};

export function arg(args: readonly unknown[], index: number): string | undefined {
  const v = args[index];
  return typeof v === 'string' ? v : undefined;
}

export function argList(args: readonly unknown[], index: number): string[] {
  const v = args[index];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
