/**
 * `migrate --verify`: every valid source user should be in the pool. Pool
 * users are held as 64-bit fingerprints, so memory stays small for big pools.
 */
import { ListUsersCommand, type CognitoIdentityProviderClient, type UserType } from '@aws-sdk/client-cognito-identity-provider';
import { awsCall } from '../../../lib/aws.js';
import { FingerprintSet } from './hashset.js';
import type { UserSource } from './sources.js';
import type { Mapping, PoolInfo } from './mapping.js';
import { checkRow } from './plan.js';

export interface VerifyResult {
  poolId: string;
  source: string;
  sourceRows: number;
  sourceValid: number;
  sourceRejected: number;
  poolUsers: number;
  inBoth: number;
  missingInPool: number;
  extraInPool: number;
  missingExamples: string[];
  extraExamples: string[];
  ok: boolean;
}

const EXAMPLES = 20;

function poolKey(u: UserType, mapping: Mapping, pool: PoolInfo): string | undefined {
  if (mapping.username.from === 'email') return u.Attributes?.find((a) => a.Name === 'email')?.Value?.toLowerCase();
  return pool.caseSensitive ? u.Username : u.Username?.toLowerCase();
}

async function* poolUsers(client: CognitoIdentityProviderClient, poolId: string, signal?: AbortSignal): AsyncGenerator<UserType> {
  let token: string | undefined;
  do {
    if (signal?.aborted) throw signal.reason;
    const res = await awsCall('cognito-idp:ListUsers', () => client.send(new ListUsersCommand({ UserPoolId: poolId, PaginationToken: token, Limit: 60 })));
    for (const u of res.Users ?? []) yield u;
    token = res.PaginationToken;
  } while (token);
}

export async function verifyMigration(client: CognitoIdentityProviderClient, source: UserSource, mapping: Mapping, pool: PoolInfo, signal?: AbortSignal): Promise<VerifyResult> {
  const inPool = new FingerprintSet();
  let poolCount = 0;
  for await (const u of poolUsers(client, pool.id, signal)) {
    const k = poolKey(u, mapping, pool);
    poolCount += 1;
    if (k) inPool.add(k);
  }
  const seen = new FingerprintSet();
  let rows = 0;
  let valid = 0;
  let both = 0;
  const missingExamples: string[] = [];
  let missing = 0;
  for await (const row of source.rows(signal)) {
    rows += 1;
    const r = checkRow(row, mapping, pool, seen);
    if (!r.ok) continue;
    valid += 1;
    if (inPool.has(r.user.key)) both += 1;
    else {
      missing += 1;
      if (missingExamples.length < EXAMPLES) missingExamples.push(r.user.username);
    }
  }
  if (signal?.aborted) throw signal.reason;
  // Second look at the pool only when some of its users have no source row.
  const extraExamples: string[] = [];
  let extra = 0;
  if (poolCount > both) {
    for await (const u of poolUsers(client, pool.id, signal)) {
      const k = poolKey(u, mapping, pool);
      if (k && seen.has(k)) continue;
      extra += 1;
      if (extraExamples.length < EXAMPLES) extraExamples.push(k ?? u.Username ?? '?');
    }
  }
  return { poolId: pool.id, source: source.label, sourceRows: rows, sourceValid: valid, sourceRejected: rows - valid, poolUsers: poolCount, inBoth: both, missingInPool: missing, extraInPool: extra, missingExamples, extraExamples, ok: missing === 0 };
}
