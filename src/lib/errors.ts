/**
 * The one error type for expected failures. Every failure a user can hit is an
 * OpsError with a one-line message, an exit code from the contract below and,
 * where we know one, a hint for what to do next.
 */
export const ExitCode = {
  OK: 0,
  /** The operation failed (expected failure: message + hint). */
  FAILED: 1,
  /** Bad usage or bad input (flags, arguments, config file, input rows). */
  USAGE: 2,
  /** Interrupted by Ctrl-C; in-flight work was cleaned up. */
  INTERRUPTED: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode] | number;

export interface OpsErrorOptions {
  hint?: string;
  exitCode?: ExitCodeValue;
  /** A stable machine-readable code, shown in --json error output. */
  code?: string;
  cause?: unknown;
}

export class OpsError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  readonly code: string;

  constructor(message: string, options: OpsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OpsError';
    this.exitCode = options.exitCode ?? ExitCode.FAILED;
    this.hint = options.hint;
    this.code = options.code ?? 'failed';
  }
}

/** Bad usage or input: exit 2. */
export function usageError(message: string, hint?: string, code = 'usage'): OpsError {
  return new OpsError(message, { exitCode: ExitCode.USAGE, hint, code });
}

export function interrupted(message = 'Interrupted.'): OpsError {
  return new OpsError(message, { exitCode: ExitCode.INTERRUPTED, code: 'interrupted' });
}

export function isOpsError(err: unknown): err is OpsError {
  return err instanceof OpsError;
}

/** First line of any thrown value, for messages that must stay one line. */
export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n').find((l) => l.trim() !== '') ?? text).trim();
}
