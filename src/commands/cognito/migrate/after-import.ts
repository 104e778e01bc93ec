/**
 * Import jobs create users but cannot disable them, add them to groups or say
 * which sub each got. After the jobs: one ListUsers pass gives every imported
 * user's sub (the links file), then locked/disabled users are disabled and
 * group memberships added. Safe to repeat: links are written once, disabling
 * a disabled user and re-adding a membership change nothing.
 */
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { FingerprintSet } from './hashset.js';
import type { UserSource } from './sources.js';
import type { Mapping, PoolInfo } from './mapping.js';
import { checkRow } from './plan.js';
import { attributeOf, poolKey, poolUsers } from './pool-users.js';
import type { UserWriter } from './cognito-calls.js';
import type { LinksFile } from './writer.js';

export interface AfterImportResult {
  linked: number;
  disabled: number;
  groupsAdded: number;
  /** Valid users an import job should have created but the pool does not have (failed rows). */
  notInPool: number;
}

export async function afterImport(deps: { client: CognitoIdentityProviderClient; writer: UserWriter; source: UserSource; mapping: Mapping; pool: PoolInfo; links: LinksFile; signal?: AbortSignal }): Promise<AfterImportResult> {
  const { mapping, pool, links, writer } = deps;
  const inPool = new Map<string, { sub?: string; enabled: boolean }>();
  for await (const u of poolUsers(deps.client, pool.id, deps.signal)) {
    const key = poolKey(u, mapping, pool);
    if (key) inPool.set(key, { sub: attributeOf(u, 'sub'), enabled: u.Enabled !== false });
  }
  const seen = new FingerprintSet();
  const result: AfterImportResult = { linked: 0, disabled: 0, groupsAdded: 0, notInPool: 0 };
  for await (const row of deps.source.rows(deps.signal)) {
    const r = checkRow(row, mapping, pool, seen);
    // Unconfirmed users never went into a job: AdminCreateUser handles (and links) them.
    if (!r.ok || r.user.unconfirmed) continue;
    const entry = inPool.get(r.user.key);
    if (!entry) {
      result.notInPool += 1;
      continue;
    }
    if (!links.has(r.user.username) && entry.sub) {
      links.add(r.user.legacyId, r.user.username, entry.sub);
      result.linked += 1;
    }
    const disable = r.user.disabled && entry.enabled;
    if (disable || r.user.groups.length) {
      await writer.repair(r.user.username, { disable, addGroups: r.user.groups });
      if (disable) result.disabled += 1;
      result.groupsAdded += r.user.groups.length;
    }
  }
  if (deps.signal?.aborted) throw deps.signal.reason;
  return result;
}
