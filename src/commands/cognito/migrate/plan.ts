/**
 * The plan: pool checks, mapping, and one validating pass over the source
 * (counts, rejects by reason, groups needed). Computed before anything is
 * written; `--dry-run` prints it and stops.
 */
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { ExitCode, OpsError } from '../../../lib/errors.js';
import { FingerprintSet } from './hashset.js';
import { valueToString, type UserSource } from './sources.js';
import { buildMapping, mapRow, type Mapping, type PoolInfo, type RowResult } from './mapping.js';
import { describePool, listGroups } from './pool.js';
import { importHeader } from './csv-header.js';
import { detectHashAlgorithm, type HashAlgorithm } from './rules.js';
import type { PlanStep } from '../../../lib/plan.js';

export interface PlanInput {
  poolId: string;
  map: Array<[string, string]>;
  groups: string[];
  groupColumn?: string;
  invite: boolean;
  update: boolean;
  mode: 'admin-create' | 'import-job';
  passwordHash?: { algorithm: HashAlgorithm; column?: string };
  /** Devise's config.pepper is set: its hashes cannot be checked by Cognito. */
  pepperConfigured?: boolean;
  phoneCountry?: string;
  /** Import-job mode: what happens to users whose email is not verified. */
  unconfirmed?: 'admin-create' | 'skip';
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
  /** Disabled users by the column that disabled them (locked_at, disabled …). */
  disabledBy: Record<string, number>;
  /** Valid users whose email is not verified (Devise confirmed_at empty). */
  unconfirmed: number;
  /** Import-job mode: users sent to AdminCreateUser instead (import jobs need a verified email). */
  viaAdminCreate: number;
  /** Import-job mode: users carried with their password hash, and without one (RESET_REQUIRED). */
  withPasswordHash: number;
  withoutPasswordHash: number;
  passwordHashingAlgorithm?: HashAlgorithm;
  groups: string[];
  /** What the real run does, in order: `--dry-run` prints these (src/lib/plan.ts wording). */
  steps: PlanStep[];
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
  // Keys and source ids share one set, told apart by a prefix no username starts with.
  const legacyId = mapping.legacyIdColumn ? valueToString(row.record[mapping.legacyIdColumn]) : null;
  const id = legacyId !== null ? `\u0000id:${legacyId}` : undefined;
  // A source id is claimed by the first row that has it, even a rejected one: otherwise a later
  // duplicate gets created now, and fixing the first row and re-running gives one id two users.
  const duplicateId = id !== undefined && !seen.add(id);
  const r = mapRow(row.record, mapping, pool);
  if (!r.ok) return r;
  if (seen.has(r.user.key)) return { ok: false, reason: `duplicate ${mapping.username.from === 'email' ? 'email' : 'username'}: an earlier row already has "${r.user.key.slice(0, 80)}"` };
  if (duplicateId) return { ok: false, reason: `duplicate source id: an earlier row already has ${mapping.legacyIdColumn} "${legacyId!.slice(0, 40)}"` };
  seen.add(r.user.key);
  return r;
}

export async function preparePlan(input: PlanInput, client: CognitoIdentityProviderClient, source: UserSource, signal?: AbortSignal, onRows?: (n: number) => void): Promise<{ plan: Plan; mapping: Mapping; pool: PoolInfo }> {
  if (input.passwordHash && input.mode !== 'import-job') {
    throw new OpsError('--password-hash needs --mode import-job: AdminCreateUser cannot take a password hash.', { exitCode: ExitCode.USAGE, code: 'usage', hint: 'use --mode import-job --password-hash …, or the lazy-migration trigger (opsctl cognito trigger scaffold) to keep passwords' });
  }
  if (input.passwordHash && input.pepperConfigured) {
    throw new OpsError("The app's password hashes are peppered (Devise config.pepper): Cognito cannot apply a pepper, so imported hashes would never match.", {
      exitCode: ExitCode.USAGE,
      code: 'hash-peppered',
      hint: 'import without --password-hash (users reset their password), or keep passwords with the lazy-migration trigger, which adds the pepper (DEVISE_PEPPER)',
    });
  }
  const pool = await describePool(client, input.poolId);
  const columns = await source.columns();
  const mapping = buildMapping(columns, input.map, pool, { groupColumn: input.groupColumn, groups: input.groups, passwordHash: input.passwordHash, phoneCountry: input.phoneCountry });
  const routeUnconfirmed = input.mode === 'import-job' ? (input.unconfirmed ?? 'admin-create') : undefined;
  // The import CSV must have a column for every mapped attribute: refused here, in the dry run too.
  if (input.mode === 'import-job') await importHeader(client, input.poolId, mapping);

  const seen = new FingerprintSet();
  const rejectReasons: Record<string, number> = {};
  const rejectExamples: RejectExample[] = [];
  const groupNames = new Set<string>(input.groups);
  let total = 0;
  let valid = 0;
  let toDisable = 0;
  let unconfirmed = 0;
  let viaAdminCreate = 0;
  let withHash = 0;
  const disabledBy: Record<string, number> = {};
  let hashMismatch: { count: number; row: number; line?: number; looksLike?: string } | undefined;
  for await (const row of source.rows(signal)) {
    total += 1;
    if (onRows && total % 10_000 === 0) onRows(total);
    const r = checkRow(row, mapping, pool, seen);
    if (!r.ok && r.reason.startsWith('password hash in column')) {
      const hash = mapping.passwordHash ? String(row.record?.[mapping.passwordHash.column] ?? '') : '';
      hashMismatch ??= { count: 0, row: row.index + 1, line: row.line, looksLike: detectHashAlgorithm(hash) };
      hashMismatch.count += 1;
    }
    if (!r.ok) {
      const kind = reasonKind(r.reason);
      rejectReasons[kind] = (rejectReasons[kind] ?? 0) + 1;
      if (rejectExamples.length < 20) rejectExamples.push({ row: row.index + 1, line: row.line, reason: r.reason });
      continue;
    }
    if (r.user.unconfirmed && routeUnconfirmed === 'skip') {
      rejectReasons['email not verified (import jobs need a verified email; --unconfirmed skip)'] = (rejectReasons['email not verified (import jobs need a verified email; --unconfirmed skip)'] ?? 0) + 1;
      if (rejectExamples.length < 20) rejectExamples.push({ row: row.index + 1, line: row.line, reason: 'email not verified (import jobs need a verified email; --unconfirmed skip)' });
      continue;
    }
    valid += 1;
    if (r.user.unconfirmed) unconfirmed += 1;
    if (r.user.unconfirmed && routeUnconfirmed === 'admin-create') viaAdminCreate += 1;
    else if (r.user.passwordHash) withHash += 1;
    if (r.user.disabled) {
      toDisable += 1;
      disabledBy[r.user.disabledBy!] = (disabledBy[r.user.disabledBy!] ?? 0) + 1;
    }
    for (const g of r.user.groups) if (groupNames.size < MAX_GROUP_NAMES) groupNames.add(g);
  }
  if (signal?.aborted) throw signal.reason;
  if (hashMismatch && mapping.passwordHash) {
    const algo = mapping.passwordHash.algorithm;
    throw new OpsError(`${hashMismatch.count} password hash${hashMismatch.count > 1 ? 'es are' : ' is'} not ${algo} (the first at row ${hashMismatch.row}${hashMismatch.line ? `, line ${hashMismatch.line}` : ''}${hashMismatch.looksLike ? `, looks like ${hashMismatch.looksLike}` : ', an unknown format'}); an import job with PasswordHashingAlgorithm=${algo} would fail them.`, {
      exitCode: ExitCode.USAGE,
      code: 'hash-mismatch',
      hint: hashMismatch.looksLike ? `pass --password-hash ${hashMismatch.looksLike} if every hash is that kind, or leave the other rows out with --query` : 'leave those rows out with --query, or import without --password-hash',
    });
  }

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

  const steps: PlanStep[] = [];
  const pool_ = input.poolId;
  if (input.mode === 'admin-create') {
    steps.push({ action: 'create', target: `${valid} users in ${pool_}`, detail: `AdminCreateUser, MessageAction=${input.invite ? 'invitation email' : 'SUPPRESS'}; existing users ${input.update ? 'get AdminUpdateUserAttributes' : 'are skipped'}` });
  } else {
    const imported = valid - viaAdminCreate;
    steps.push({
      action: 'import',
      target: `${imported} users into ${pool_}`,
      detail: `CSV import jobs${mapping.passwordHash ? ` with PasswordHashingAlgorithm=${mapping.passwordHash.algorithm}: ${withHash} keep their password${imported - withHash ? `, ${imported - withHash} without a hash must reset it (RESET_REQUIRED)` : ''}` : ' without password hashes: users must reset their password (RESET_REQUIRED)'}`,
    });
    if (viaAdminCreate) steps.push({ action: 'create', target: `${viaAdminCreate} unconfirmed users in ${pool_}`, detail: 'AdminCreateUser: import jobs need a verified email (--unconfirmed skip leaves them out)' });
    steps.push({ action: 'list', target: `the users of ${pool_}`, detail: 'ListUsers after the jobs: the sub of each imported user for the links file' });
  }
  if (groupNames.size) steps.push({ action: 'add to groups', target: `users in ${[...groupNames].slice(0, 5).join(', ')}${groupNames.size > 5 ? '…' : ''}`, detail: 'AdminAddUserToGroup' });
  if (toDisable) steps.push({ action: 'disable', target: `${toDisable} users`, detail: `AdminDisableUser${input.mode === 'import-job' ? ' after the jobs' : ' right after each is created'} (${Object.entries(disabledBy).map(([c, n]) => `${c}: ${n}`).join(', ')})` });
  if (unconfirmed) warnings.push(`${unconfirmed} users have no verified email (confirmed_at empty): they get email_verified=false and cannot reset a password until they verify it`);
  if (total - valid) steps.push({ action: 'reject', target: `${total - valid} rows`, detail: 'for the reasons listed above; each goes to the rejects file' });

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
      disabledBy,
      unconfirmed,
      viaAdminCreate,
      withPasswordHash: withHash,
      withoutPasswordHash: input.mode === 'import-job' ? valid - viaAdminCreate - withHash : 0,
      passwordHashingAlgorithm: mapping.passwordHash?.algorithm,
      groups: [...groupNames].slice(0, 100),
      steps,
      warnings,
    },
  };
}
