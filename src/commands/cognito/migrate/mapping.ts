/**
 * Source columns → Cognito attributes, checked against the pool's schema
 * before anything is written, and the per-row validation that decides
 * whether a row becomes a user or a line in the rejects file.
 */
import { ExitCode, OpsError } from '../../../lib/errors.js';
import { valueToString, type SourceRecord } from './sources.js';
import { ATTRIBUTE_MAX, HASH_FORMATS, checkUsername, normaliseEmail, normalisePhone, type HashAlgorithm } from './rules.js';

export interface PoolAttribute {
  name: string;
  type: 'String' | 'Number' | 'DateTime' | 'Boolean';
  required: boolean;
  mutable: boolean;
  minLength?: number;
  maxLength?: number;
  minValue?: number;
  maxValue?: number;
}

export interface PoolInfo {
  id: string;
  name?: string;
  /** email and/or phone_number when the pool signs in with them as the username. */
  usernameAttributes: string[];
  caseSensitive: boolean;
  attributes: Map<string, PoolAttribute>;
  /** Whether the pool runs a User Migration trigger (just reported). */
  migrationTrigger?: string;
}

/** Targets that are not attributes. */
const PSEUDO = new Set(['username', 'groups', 'disabled', 'password_hash']);
/** Devise :lockable and generic account-state columns: any of them set means the account is disabled. */
const DISABLED_COLUMNS = ['locked_at', 'disabled', 'disabled_at'];
/** Where Devise, has_secure_password and Django keep the password hash. */
const HASH_COLUMNS = ['encrypted_password', 'password_digest', 'password'];
/** Columns whose values must never leave the source (Devise's encrypted_password and friends). */
export const SECRET_COLUMN = /password|passwd|secret|token|salt|otp|hash/i;
/** Standard attributes a same-named column maps to without being asked. */
const AUTO_STANDARD = ['name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username', 'phone_number', 'locale', 'zoneinfo', 'gender', 'birthdate', 'website', 'picture', 'profile'];

export interface MappingEntry {
  column: string;
  target: string;
  /** Why it is there: given by the user or a Devise default. */
  origin: 'flag' | 'default';
}

export interface Mapping {
  entries: MappingEntry[];
  /** Where the Cognito username comes from. */
  username: { from: 'email'; column: string } | { from: 'column'; column: string };
  /** Groups every user joins (from --group). */
  fixedGroups: string[];
  /** The app's own id for the user (links file, duplicate detection, --write-back). */
  legacyIdColumn?: string;
  /** Password hashes carried into import jobs (PasswordHashingAlgorithm). */
  passwordHash?: { column: string; algorithm: HashAlgorithm };
  /** Country for phone numbers written without a country code. */
  phoneCountry?: string;
  warnings: string[];
}

export interface MappingOptions {
  groupColumn?: string;
  groups?: string[];
  passwordHash?: { algorithm: HashAlgorithm; column?: string };
  phoneCountry?: string;
}

export function parseMapFlags(flags: string[] = [], file?: Record<string, unknown>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (file) {
    for (const [column, target] of Object.entries(file)) {
      if (typeof target !== 'string') throw new OpsError(`Mapping file: "${column}" must map to an attribute name (a string).`, { exitCode: ExitCode.USAGE, code: 'bad-mapping', hint: 'e.g. {"email": "email", "id": "custom:legacy_id"}' });
      out.push([column, target.trim()]);
    }
  }
  for (const m of flags) {
    const eq = m.indexOf('=');
    if (eq <= 0 || eq === m.length - 1) throw new OpsError(`--map "${m}" is not COLUMN=ATTRIBUTE.`, { exitCode: ExitCode.USAGE, code: 'bad-mapping', hint: 'e.g. --map id=custom:legacy_id (use COLUMN=- to drop a default)' });
    out.push([m.slice(0, eq).trim(), m.slice(eq + 1).trim()]);
  }
  return out;
}

/**
 * Build the mapping and refuse, precisely, when it cannot work with this pool:
 * unknown attributes, missing required ones, or a username setup the source
 * does not fit. Nothing has been written when this throws.
 */
export function buildMapping(columns: string[], explicit: Array<[string, string]>, pool: PoolInfo, opts: MappingOptions = {}): Mapping {
  const warnings: string[] = [];
  const cols = new Set(columns);
  const bad = (message: string, hint?: string) => new OpsError(message, { exitCode: ExitCode.USAGE, code: 'bad-mapping', hint });
  const entries: MappingEntry[] = [];
  const emailPool = pool.usernameAttributes.includes('email');

  // Devise defaults.
  if (cols.has('email')) entries.push({ column: 'email', target: 'email', origin: 'default' });
  if (cols.has('confirmed_at') && pool.attributes.has('email_verified')) entries.push({ column: 'confirmed_at', target: 'email_verified', origin: 'default' });
  if (cols.has('id') && pool.attributes.has('custom:legacy_id')) entries.push({ column: 'id', target: 'custom:legacy_id', origin: 'default' });
  if (!emailPool && cols.has('username')) entries.push({ column: 'username', target: 'username', origin: 'default' });
  for (const a of AUTO_STANDARD) if (cols.has(a) && pool.attributes.has(a)) entries.push({ column: a, target: a, origin: 'default' });
  for (const c of DISABLED_COLUMNS) if (cols.has(c)) entries.push({ column: c, target: 'disabled', origin: 'default' });
  if (opts.passwordHash) {
    const column = opts.passwordHash.column ?? HASH_COLUMNS.find((c) => cols.has(c));
    if (!column || !cols.has(column)) throw bad(`--password-hash ${opts.passwordHash.algorithm}: the source has no ${column ? `column "${column}"` : `password-hash column (${HASH_COLUMNS.join(', ')})`}.`, 'name it with --password-column COLUMN');
    entries.push({ column, target: 'password_hash', origin: opts.passwordHash.column ? 'flag' : 'default' });
  }

  const given = [...explicit];
  if (opts.groupColumn) given.push([opts.groupColumn, 'groups']);
  for (const [column, target] of given) {
    if (!cols.has(column)) throw bad(`The mapping names column "${column}", which the source does not have.`, `source columns: ${columns.join(', ') || '(none)'}`);
    // An explicit mapping replaces any default from that column or to that target.
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (e.column === column || (target !== '-' && e.target === target && e.origin === 'default')) entries.splice(i, 1);
    }
    if (target === '-') continue;
    if (target !== 'disabled' && entries.some((e) => e.target === target)) throw bad(`Two columns map to "${target}".`, 'map each attribute from one column');
    entries.push({ column, target, origin: 'flag' });
  }

  for (const e of entries) {
    if (SECRET_COLUMN.test(e.column) && e.target !== 'disabled' && e.target !== 'password_hash') {
      throw bad(`Column "${e.column}" looks like it holds a password or secret; opsctl never copies it into user attributes.`, 'remove that --map entry');
    }
    if (PSEUDO.has(e.target)) continue;
    if (e.target === 'sub' || e.target.startsWith('cognito:')) throw bad(`"${e.target}" is set by Cognito and cannot be mapped.`);
    if (!pool.attributes.has(e.target)) {
      const custom = [...pool.attributes.keys()].filter((k) => k.startsWith('custom:'));
      const suggestion = !e.target.includes(':') && pool.attributes.has(`custom:${e.target}`) ? `did you mean custom:${e.target}?` : `pool custom attributes: ${custom.join(', ') || 'none'}`;
      throw bad(`The mapping sends column "${e.column}" to attribute "${e.target}", which pool ${pool.id} does not have.`, suggestion);
    }
  }

  let username: Mapping['username'];
  const usernameEntry = entries.find((e) => e.target === 'username');
  if (emailPool) {
    if (usernameEntry) throw bad(`Pool ${pool.id} uses the email address as the username, but the mapping sends column "${usernameEntry.column}" to username.`, `drop --map ${usernameEntry.column}=username; the email becomes the username`);
    const email = entries.find((e) => e.target === 'email');
    if (!email) throw bad(`Pool ${pool.id} uses the email address as the username, but no source column maps to email.`, `add --map COLUMN=email (source columns: ${columns.join(', ')})`);
    username = { from: 'email', column: email.column };
  } else if (pool.usernameAttributes.includes('phone_number')) {
    throw bad(`Pool ${pool.id} signs users in with their phone number as the username, which opsctl does not migrate into.`, 'migrate into a pool that uses email addresses or usernames');
  } else {
    if (!usernameEntry) throw bad(`Pool ${pool.id} uses usernames (not email as username), but no source column maps to username.`, 'add --map COLUMN=username, e.g. --map id=username');
    username = { from: 'column', column: usernameEntry.column };
  }

  const mapped = new Set(entries.map((e) => e.target));
  const missing = [...pool.attributes.values()].filter((a) => a.required && a.name !== 'sub' && !mapped.has(a.name)).map((a) => a.name);
  if (missing.length) throw bad(`Pool ${pool.id} requires attribute${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, but no source column maps to ${missing.length > 1 ? 'them' : 'it'}.`, `add --map COLUMN=${missing[0]}`);

  if (!entries.some((e) => e.target === 'custom:legacy_id') && cols.has('id')) {
    warnings.push(`pool ${pool.id} has no custom:legacy_id attribute, so the source id is not carried over`);
  }
  const legacyIdColumn = entries.find((e) => e.target === 'custom:legacy_id')?.column ?? (cols.has('id') ? 'id' : undefined);
  const hashEntry = entries.find((e) => e.target === 'password_hash');
  return {
    entries,
    username,
    fixedGroups: opts.groups ?? [],
    legacyIdColumn,
    passwordHash: hashEntry && opts.passwordHash ? { column: hashEntry.column, algorithm: opts.passwordHash.algorithm } : undefined,
    phoneCountry: opts.phoneCountry,
    warnings,
  };
}

export interface MappedUser {
  username: string;
  /** Dedupe key (case-folded when the pool is case-insensitive). */
  key: string;
  attributes: Array<{ Name: string; Value: string }>;
  groups: string[];
  /** Locked (Devise locked_at) or disabled in the source: AdminDisableUser after it is created. */
  disabled: boolean;
  /** Why it is disabled (the first column that said so). */
  disabledBy?: string;
  /** The email is not verified (Devise confirmed_at empty): import jobs cannot take such users. */
  unconfirmed: boolean;
  legacyId?: string;
  passwordHash?: string;
}
const GROUP = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u;
const FALSE = /^(false|f|0|no|n|off)$/i;
const TRUE = /^(true|t|1|yes|y|on)$/i;

/** Devise keeps timestamps where Cognito wants booleans: a timestamp means "true". */
function truthy(v: string | null): boolean {
  if (v === null) return false;
  if (FALSE.test(v)) return false;
  return true;
}

export type RowResult = { ok: true; user: MappedUser } | { ok: false; reason: string };

export function mapRow(record: SourceRecord, mapping: Mapping, pool: PoolInfo): RowResult {
  const attributes: Array<{ Name: string; Value: string }> = [];
  let username: string | null = null;
  let groups = [...mapping.fixedGroups];
  let disabled = false;
  let disabledBy: string | undefined;
  let passwordHash: string | undefined;
  for (const e of mapping.entries) {
    let v = valueToString(record[e.column]);
    if (e.target === 'username') {
      username = v;
      continue;
    }
    if (e.target === 'groups') {
      const names = v ? v.split(/[,;]/).map((s) => s.trim()).filter(Boolean) : [];
      const badName = names.find((n) => !GROUP.test(n));
      if (badName !== undefined) return { ok: false, reason: `invalid group name "${badName.slice(0, 40)}"` };
      groups = [...new Set([...groups, ...names])];
      continue;
    }
    if (e.target === 'disabled') {
      if (truthy(v) && !disabled) {
        disabled = true;
        disabledBy = e.column;
      }
      continue;
    }
    if (e.target === 'password_hash') {
      const algorithm = mapping.passwordHash!.algorithm;
      if (v !== null && !HASH_FORMATS[algorithm].test(v)) return { ok: false, reason: `password hash in column ${e.column} is not a ${algorithm} hash` };
      passwordHash = v ?? undefined;
      continue;
    }
    const attr = pool.attributes.get(e.target)!;
    if (attr.type === 'Boolean' || e.target.endsWith('_verified')) {
      if (v !== null && !TRUE.test(v) && !FALSE.test(v) && e.column === e.target) return { ok: false, reason: `${e.target} must be true or false, got "${v.slice(0, 40)}"` };
      v = truthy(v) ? 'true' : 'false';
    }
    if (v === null) {
      if (attr.required) return { ok: false, reason: `missing required attribute ${e.target} (column ${e.column} is empty)` };
      continue;
    }
    if (e.target === 'email') {
      const checked = normaliseEmail(v, mapping.username.from === 'email');
      if (!checked.ok) return checked;
      v = checked.value;
    }
    if (e.target === 'phone_number') {
      const checked = normalisePhone(v, mapping.phoneCountry);
      if (!checked.ok) return checked;
      v = checked.value;
    }
    if (attr.type === 'Number') {
      const n = Number(v);
      if (!Number.isFinite(n)) return { ok: false, reason: `${e.target} must be a number, got "${v.slice(0, 30)}"` };
      if (attr.minValue !== undefined && n < attr.minValue) return { ok: false, reason: `${e.target} is below its minimum ${attr.minValue}` };
      if (attr.maxValue !== undefined && n > attr.maxValue) return { ok: false, reason: `${e.target} is above its maximum ${attr.maxValue}` };
    } else if (attr.type === 'String') {
      const len = [...v].length;
      const max = Math.min(attr.maxLength ?? ATTRIBUTE_MAX, ATTRIBUTE_MAX);
      if (len > max) return { ok: false, reason: `${e.target} is ${len} characters long; the pool allows at most ${max}` };
      if (attr.minLength !== undefined && len < attr.minLength) return { ok: false, reason: `${e.target} is ${len} characters long; the pool needs at least ${attr.minLength}` };
    }
    attributes.push({ Name: e.target, Value: v });
  }
  if (mapping.username.from === 'email') {
    username = attributes.find((a) => a.Name === 'email')?.Value ?? null;
    if (!username) return { ok: false, reason: 'missing email (the pool uses email as the username)' };
  } else {
    if (!username) return { ok: false, reason: `missing username (column ${mapping.username.column} is empty)` };
    const checked = checkUsername(username);
    if (!checked.ok) return checked;
  }
  const key = mapping.username.from === 'email' || !pool.caseSensitive ? username.toLowerCase() : username;
  const emailVerified = attributes.find((a) => a.Name === 'email_verified')?.Value;
  const unconfirmed = attributes.some((a) => a.Name === 'email') && emailVerified !== 'true';
  const legacyId = mapping.legacyIdColumn ? valueToString(record[mapping.legacyIdColumn]) ?? undefined : undefined;
  return { ok: true, user: { username, key, attributes, groups, disabled, disabledBy, unconfirmed, legacyId, passwordHash } };
}
