/**
 * `migrate --verify`: prove the pool holds what the source says — every
 * mapped attribute, the enabled state and group membership of every valid
 * source user — and report drift by kind with examples. `--repair` then
 * fixes each drift (create, update attributes, enable/disable, groups).
 *
 * A renamed user (email changed in the pool) is found through the links file
 * or custom:legacy_id, so it shows as attribute drift, not as missing + extra.
 */
import type { CognitoIdentityProviderClient, UserType } from '@aws-sdk/client-cognito-identity-provider';
import { existsSync } from 'node:fs';
import { FingerprintSet } from './hashset.js';
import type { UserSource } from './sources.js';
import type { Mapping, MappedUser, PoolInfo } from './mapping.js';
import { checkRow } from './plan.js';
import { attributeOf, groupMembers, poolKey, poolUsers } from './pool-users.js';
import { LinksFile, readLinks } from './writer.js';
import { listGroups } from './pool.js';
import type { UserWriter } from './cognito-calls.js';

export type DriftKind = 'missing' | 'attribute' | 'enabled' | 'groups';

export interface DriftExample {
  username: string;
  kind: DriftKind;
  detail: string;
}

export interface VerifyResult {
  poolId: string;
  source: string;
  sourceRows: number;
  sourceValid: number;
  sourceRejected: number;
  poolUsers: number;
  inBoth: number;
  /** Users whose attributes, enabled state and groups all match. */
  matching: number;
  missingInPool: number;
  extraInPool: number;
  /** Users with each kind of drift (a user can have several). */
  drift: Record<DriftKind, number>;
  /** Attribute drift by attribute name. */
  attributeDrift: Record<string, number>;
  examples: DriftExample[];
  missingExamples: string[];
  extraExamples: string[];
  /** --repair: what was fixed, and what could not be (immutable attributes, API refusals). */
  repaired?: Record<DriftKind, number>;
  unrepairable?: DriftExample[];
  ok: boolean;
}

interface PoolEntry {
  /** Cognito's Username (the sub in email-as-username pools): what Admin* calls take. */
  username: string;
  sub?: string;
  attributes: Map<string, string>;
  enabled: boolean;
  groups: Set<string>;
  matched?: boolean;
}

const EXAMPLES = 20;

export interface VerifyDeps {
  client: CognitoIdentityProviderClient;
  source: UserSource;
  mapping: Mapping;
  pool: PoolInfo;
  /** Groups the source uses (from the plan): their members are listed. */
  groups: string[];
  linksPath?: string;
  signal?: AbortSignal;
  /** Given: fix the drift through it. */
  repairWith?: UserWriter;
}

export async function verifyMigration(deps: VerifyDeps): Promise<VerifyResult> {
  const { client, source, mapping, pool, signal } = deps;
  const mapped = new Set(mapping.entries.map((e) => e.target).filter((t) => pool.attributes.has(t)));
  const entries = new Map<string, PoolEntry>();
  const bySub = new Map<string, string>();
  const byLegacy = new Map<string, string>();
  const extraNoKey: string[] = [];
  let poolCount = 0;
  const remember = (u: UserType): void => {
    poolCount += 1;
    const key = poolKey(u, mapping, pool);
    if (!key) {
      extraNoKey.push(u.Username ?? '?');
      return;
    }
    const attributes = new Map<string, string>();
    for (const a of u.Attributes ?? []) if (a.Name && mapped.has(a.Name) && a.Value !== undefined) attributes.set(a.Name, a.Value);
    const sub = attributeOf(u, 'sub');
    entries.set(key, { username: u.Username ?? key, sub, attributes, enabled: u.Enabled !== false, groups: new Set() });
    if (sub) bySub.set(sub, key);
    const legacy = attributeOf(u, 'custom:legacy_id');
    if (legacy) byLegacy.set(legacy, key);
  };
  for await (const u of poolUsers(client, pool.id, signal)) remember(u);
  const groupsTracked = mapping.entries.some((e) => e.target === 'groups');
  // With a group column the source says every membership: list them all, to see extra ones too.
  const groupNames = groupsTracked ? [...new Set([...deps.groups, ...(await listGroups(client, pool.id))])] : deps.groups;
  for (const g of groupNames) {
    for await (const u of groupMembers(client, pool.id, g, signal)) {
      const key = poolKey(u, mapping, pool);
      if (key) entries.get(key)?.groups.add(g);
    }
  }
  // The links file names each user's sub as it was created: a user renamed in the pool is still found.
  const linked = new Map<string, string>();
  if (deps.linksPath && existsSync(deps.linksPath)) for (const l of readLinks(deps.linksPath)) linked.set(l.username, l.sub);

  const repairLinks = deps.repairWith && deps.linksPath ? new LinksFile(deps.linksPath) : undefined;
  const seen = new FingerprintSet();
  const drift: Record<DriftKind, number> = { missing: 0, attribute: 0, enabled: 0, groups: 0 };
  const repaired: Record<DriftKind, number> = { missing: 0, attribute: 0, enabled: 0, groups: 0 };
  const attributeDrift: Record<string, number> = {};
  const examples: DriftExample[] = [];
  const missingExamples: string[] = [];
  const unrepairable: DriftExample[] = [];
  let rows = 0;
  let valid = 0;
  let both = 0;
  let matching = 0;
  const note = (username: string, kind: DriftKind, detail: string) => {
    drift[kind] += 1;
    if (examples.length < EXAMPLES) examples.push({ username, kind, detail });
  };

  for await (const row of source.rows(signal)) {
    rows += 1;
    const r = checkRow(row, mapping, pool, seen);
    if (!r.ok) continue;
    valid += 1;
    const user = r.user;
    let key: string | undefined = entries.has(user.key) ? user.key : undefined;
    const sub = linked.get(user.username);
    if (!key && sub) key = bySub.get(sub);
    if (!key && user.legacyId && mapped.has('custom:legacy_id')) key = byLegacy.get(user.legacyId);
    const entry = key ? entries.get(key) : undefined;
    if (!entry || entry.matched) {
      note(user.username, 'missing', 'not in the pool');
      if (missingExamples.length < EXAMPLES) missingExamples.push(user.username);
      if (deps.repairWith) {
        await fix(user, 'missing', async () => {
          const { sub: newSub } = await deps.repairWith!.write(user);
          if (repairLinks && newSub && newSub !== sub) repairLinks.add(user.legacyId, user.username, newSub, true);
        });
      }
      continue;
    }
    entry.matched = true;
    both += 1;
    const changed = user.attributes.filter((a) => entry.attributes.get(a.Name) !== a.Value);
    const wantEnabled = !user.disabled;
    const addGroups = user.groups.filter((g) => !entry.groups.has(g));
    const removeGroups = groupsTracked ? [...entry.groups].filter((g) => !user.groups.includes(g)) : [];
    if (!changed.length && entry.enabled === wantEnabled && !addGroups.length && !removeGroups.length) {
      matching += 1;
      continue;
    }
    if (changed.length) {
      for (const a of changed) attributeDrift[a.Name] = (attributeDrift[a.Name] ?? 0) + 1;
      note(user.username, 'attribute', changed.map((a) => `${a.Name}: pool ${JSON.stringify(entry.attributes.get(a.Name) ?? null)}, source ${JSON.stringify(a.Value)}`).join('; '));
    }
    if (entry.enabled !== wantEnabled) note(user.username, 'enabled', `pool ${entry.enabled ? 'enabled' : 'disabled'}, source ${wantEnabled ? 'enabled' : `disabled (${user.disabledBy})`}`);
    if (addGroups.length || removeGroups.length) note(user.username, 'groups', [addGroups.length ? `not in ${addGroups.join(', ')}` : '', removeGroups.length ? `also in ${removeGroups.join(', ')}` : ''].filter(Boolean).join('; '));
    if (!deps.repairWith) continue;
    const writer = deps.repairWith;
    if (changed.length) {
      const immutable = changed.filter((a) => pool.attributes.get(a.Name)?.mutable === false);
      for (const a of immutable) unrepairable.push({ username: user.username, kind: 'attribute', detail: `${a.Name} is immutable in this pool` });
      const mutable = changed.filter((a) => pool.attributes.get(a.Name)?.mutable !== false);
      // Changing the email makes Cognito mark it unverified: send the source's verified state with it.
      const verified = user.attributes.find((a) => a.Name === 'email_verified');
      if (mutable.some((a) => a.Name === 'email') && verified && !mutable.includes(verified)) mutable.push(verified);
      if (mutable.length) await fix(user, 'attribute', () => writer.repair(entry.username, { attributes: mutable }));
    }
    if (entry.enabled !== wantEnabled) await fix(user, 'enabled', () => writer.repair(entry.username, wantEnabled ? { enable: true } : { disable: true }));
    if (addGroups.length || removeGroups.length) await fix(user, 'groups', () => writer.repair(entry.username, { addGroups, removeGroups }));
  }
  repairLinks?.close();
  if (signal?.aborted) throw signal.reason;

  async function fix(user: MappedUser, kind: DriftKind, work: () => Promise<void>): Promise<void> {
    try {
      await work();
      repaired[kind] += 1;
    } catch (err) {
      if (unrepairable.length < 1000) unrepairable.push({ username: user.username, kind, detail: (err as Error).message });
    }
  }

  const extraExamples: string[] = [...extraNoKey.slice(0, EXAMPLES)];
  let extra = extraNoKey.length;
  for (const [key, e] of entries) {
    if (e.matched) continue;
    extra += 1;
    if (extraExamples.length < EXAMPLES) extraExamples.push(key);
  }
  const driftTotal = drift.missing + drift.attribute + drift.enabled + drift.groups;
  const fixed = repaired.missing + repaired.attribute + repaired.enabled + repaired.groups;
  return {
    poolId: pool.id,
    source: source.label,
    sourceRows: rows,
    sourceValid: valid,
    sourceRejected: rows - valid,
    poolUsers: poolCount,
    inBoth: both,
    matching,
    missingInPool: drift.missing,
    extraInPool: extra,
    drift,
    attributeDrift,
    examples,
    missingExamples,
    extraExamples,
    ...(deps.repairWith ? { repaired, unrepairable } : {}),
    ok: deps.repairWith ? fixed === driftTotal && unrepairable.length === 0 : driftTotal === 0,
  };
}
