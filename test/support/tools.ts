import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * Whether a system tool a suite needs is present. Locally a missing tool skips
 * the suite with its reason; with CI=true nothing may skip, so the suite runs
 * and fails loudly instead.
 */
export function hasTool(file: string): boolean {
  if (file.includes('/')) return canExec(file);
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && canExec(path.join(d, file)));
}

function canExec(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** Returns a skip reason, or undefined when the suite should run (always undefined in CI). */
export function missingTools(...files: string[]): string | undefined {
  const missing = files.filter((f) => !hasTool(f));
  if (missing.length === 0 || inCI) return undefined;
  const reason = `skipped: ${missing.join(', ')} not installed (run scripts/install-test-tools.sh as root)`;
  console.warn(reason);
  return reason;
}
