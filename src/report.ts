/**
 * How a failure reaches the user: `error: <one line>` and `hint: …` on stderr,
 * and with --json exactly one `{"error": …}` document on stdout. Loaded by
 * cli.ts only when something failed or a command runs.
 */
import { translateAwsError } from './lib/aws-errors.js';
import { ExitCode, firstLine, isOpsError } from './lib/errors.js';
import type { Output } from './lib/output.js';

export function report(err: unknown, out: Output, debug: boolean): number {
  if (isOpsError(err)) {
    out.error(err.message, err.hint);
    if (debug && err.cause instanceof Error && err.cause.stack) out.debug(err.cause.stack);
    if (out.json) out.data({ error: { code: err.code, message: err.message, hint: err.hint ?? null, exitCode: err.exitCode } });
    return err.exitCode;
  }
  // An AWS error no command translated still gets the shared translation.
  const aws = translateAwsError(err);
  if (aws) return report(aws, out, debug);
  out.error(`unexpected error: ${firstLine(err)}`, debug ? undefined : 're-run with --debug for details');
  if (debug && err instanceof Error && err.stack) out.debug(err.stack);
  if (out.json) out.data({ error: { code: 'unexpected', message: firstLine(err), hint: debug ? null : 're-run with --debug for details', exitCode: ExitCode.FAILED } });
  return ExitCode.FAILED;
}
