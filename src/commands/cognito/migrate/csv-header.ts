/**
 * The import CSV layout, as GetCSVHeader gives it for the pool, checked
 * against the mapping. Used by the plan (so a dry run refuses what the real
 * run would) and by the import jobs themselves.
 */
import { GetCSVHeaderCommand, type CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { awsCall } from '../../../lib/aws.js';
import { ExitCode, OpsError } from '../../../lib/errors.js';
import type { Mapping } from './mapping.js';

/** The hash column when GetCSVHeader names none (a pool whose header predates hash import). */
export const DEFAULT_HASH_COLUMN = 'cognito:password_hash';
const NOT_IN_CSV = new Set(['username', 'groups', 'disabled', 'password_hash']);

export async function importHeader(client: CognitoIdentityProviderClient, poolId: string, mapping: Mapping): Promise<{ header: string[]; hashColumn?: string }> {
  const header = [...((await awsCall('cognito-idp:GetCSVHeader', () => client.send(new GetCSVHeaderCommand({ UserPoolId: poolId })))).CSVHeader ?? [])];
  let hashColumn: string | undefined;
  if (mapping.passwordHash) {
    hashColumn = header.find((h) => /^cognito:password/i.test(h));
    if (!hashColumn) header.push((hashColumn = DEFAULT_HASH_COLUMN));
  }
  // Groups and disabled state are applied after the jobs (after-import.ts): the CSV cannot carry them.
  const missing = mapping.entries.filter((e) => !NOT_IN_CSV.has(e.target) && !header.includes(e.target)).map((e) => e.target);
  if (missing.length) throw new OpsError(`The pool's import CSV has no column for ${missing.join(', ')}.`, { exitCode: ExitCode.USAGE, code: 'bad-mapping', hint: 'GetCSVHeader lists what an import job can set' });
  return { header, hashColumn };
}
