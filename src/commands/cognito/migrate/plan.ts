/**
 * The plan: pool checks, mapping, and one validating pass over the source
 * (counts, rejects by reason, groups needed). Computed before anything is
 * written; `--dry-run` prints it and stops.
 */
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { ExitCode, OpsError } from '../../../lib/errors.js';
import { FingerprintSet } from './hashset.js';
import type { UserSource } from './sources.js';
import { buildMapping, mapRow, type Mapping, type PoolInfo, type RowResult } from './mapping.js';
import { describePool, listGroups } from './pool.js';

export interface PlanInput {
  poolId: string;
  map: Array<[string, string]>;
  groups: string[];
  groupColumn?: string;
  invite: boolean;
  update: boolean;
  mode: 'admin-create' | 'import-job';
}

export interface RejectExample {
  row: number;
  line?: number;
  reason: string;
}

export interface Plan {
  poolId: string;
  poolName?: string;
  usernameMode: 'email' | 'username';
  source: string;
  mapping: Array<{ column: string; target: string; origin: string }>;
  total: number;
  valid: number;
  rejected: number;
  rejectReasons: Record<string, number>;
  rejectExamples: RejectExample[];
  toDisable: number;
  groups: string[];
  actions: string[];
  warnings: string[];
}

const MAX_GROUP_NAMES = 10_000;

/** Reject reasons grouped without the row's value: "invalid email address "x"" → "invalid email address". */
export function reasonKind(reason: string): string {
  return reason.replace(/\s*"[^"]*"/g, '').replace(/, got$/, '').replace(/ is \d+ characters long;.*$/, ' too long/short');
}

/** Validate one row, including duplicates against the keys seen so far. */
export function checkRow(row: { record?: Record<string, unknown>; error?: string }, mapping: Mapping, pool: PoolInfo, seen: FingerprintSet): RowResult {
  if (row.error || !row.record) return { ok: false, reason: row.error ?? 'unreadable row' };
  const r = mapRow(row.record, mapping, pool);
  if (r.ok && !seen.add(r.user.key)) return { ok: false, reason: `duplicate ${mapping.username.from === 'email' ? 'email' : 'username'}: an earlier row already has "${r.user.key.slice(0, 80)}"` };
  return r;
}

export async function preparePlan(input: PlanInput, client: CognitoIdentityProviderClient, source: UserSource, signal?: AbortSignal, onRows?: (n: number) => void): Promise<{ plan: Plan; mapping: Mapping; pool: PoolInfo }> {
  const pool = await describePool(client, input.poolId);
  const columns = await source.columns();
  const mapping = buildMapping(columns, input.map, pool, { groupColumn: input.groupColumn, groups: input.groups });

  const seen = new FingerprintSet();
  const rejectReasons: Record<string, number> = {};
  const rejectExamples: RejectExample[] = [];
  const groupNames = new Set<string>(input.groups);
  let total = 0;
  let valid = 0;
  let toDisable = 0;
  for await (const row of source.rows(signal)) {
    total += 1;
    if (onRows && total % 10_000 === 0) onRows(total);
    const r = checkRow(row, mapping, pool, seen);
    if (!r.ok) {
      const kind = reasonKind(r.reason);
      rejectReasons[kind] = (rejectReasons[kind] ?? 0) + 1;
      if (rejectExamples.length < 20) rejectExamples.push({ row: row.index + 1, line: row.line, reason: r.reason });
      continue;
    }
    valid += 1;
    if (r.user.disabled) toDisable += 1;
    for (const g of r.user.groups) if (groupNames.size < MAX_GROUP_NAMES) groupNames.add(g);
  }
  if (signal?.aborted) throw signal.reason;

  const warnings = [...mapping.warnings];
  if (groupNames.size) {
    const existing = await listGroups(client, input.poolId);
    const missing = [...groupNames].filter((g) => !existing.has(g));
    if (missing.length) {
      throw new OpsError(`Group${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''} do${missing.length > 1 ? '' : 'es'} not exist in pool ${input.poolId}.`, {
        exitCode: ExitCode.USAGE,
        code: 'missing-group',
        hint: `create ${missing.length > 1 ? 'them' : 'it'} first: aws cognito-idp create-group --user-pool-id ${input.poolId} --group-name ${missing[0]}`,
      });
    }
  }
  if (pool.migrationTrigger) warnings.push(`pool has a User Migration trigger (${pool.migrationTrigger}); users created here will not go through it`);
  if (input.invite) warnings.push(`--invite: Cognito will email a temporary password to each of the ${valid} users`);

  const actions: string[] = [];
  if (input.mode === 'admin-create') {
    actions.push(`AdminCreateUser × ${valid} (MessageAction=${input.invite ? 'invitation email' : 'SUPPRESS'}); existing users ${input.update ? 'get AdminUpdateUserAttributes' : 'are skipped'}`);
  } else {
    actions.push(`CSV import jobs for ${valid} users`);
  }
  if (groupNames.size) actions.push(`AdminAddUserToGroup for users in ${[...groupNames].slice(0, 5).join(', ')}${groupNames.size > 5 ? '…' : ''}`);
  if (toDisable) actions.push(`AdminDisableUser × ${toDisable} (disabled in the source)`);
  if (total - valid) actions.push(`${total - valid} rows rejected (reasons below), written to the rejects file`);

  return {
    pool,
    mapping,
    plan: {
      poolId: input.poolId,
      poolName: pool.name,
      usernameMode: mapping.username.from === 'email' ? 'email' : 'username',
      source: source.label,
      mapping: mapping.entries.map((e) => ({ column: e.column, target: e.target, origin: e.origin })),
      total,
      valid,
      rejected: total - valid,
      rejectReasons,
      rejectExamples,
      toDisable,
      groups: [...groupNames].slice(0, 100),
      actions,
      warnings,
    },
  };
}
