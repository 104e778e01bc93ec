/**
 * What opsctl may execute. EXPLAIN ANALYZE runs the statement, and a rollback
 * undoes table writes but not what a function does to the server: a killed
 * backend, a reset statistics view, a consumed sequence value, a NOTIFY sent,
 * a dblink write elsewhere. So before executing, opsctl plans the statement
 * (EXPLAIN VERBOSE without ANALYZE shows every function call in its Output,
 * Filter and Cond lines), looks each one up in pg_proc, and executes only when
 * none is volatile (outside a short list of harmless ones) or denied by name.
 */
import { usageError } from '../../lib/errors.js';
import type { RawExplain, RawNode } from './analysis/plan.js';
import { OWN, type PgSession } from './session.js';

/** Utility statements: PostgreSQL has no plan for them (an unknown word goes to the server, which names the syntax error). */
const UTILITY = new Set(['DROP', 'ALTER', 'VACUUM', 'ANALYZE', 'ANALYSE', 'COPY', 'TRUNCATE', 'GRANT', 'REVOKE', 'BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'ABORT', 'SAVEPOINT', 'RELEASE', 'SET', 'RESET', 'SHOW', 'LOCK', 'CLUSTER', 'REINDEX', 'REFRESH', 'COMMENT', 'DISCARD', 'LISTEN', 'UNLISTEN', 'NOTIFY', 'LOAD', 'CHECKPOINT', 'DO', 'CALL', 'PREPARE', 'DEALLOCATE', 'FETCH', 'MOVE', 'CLOSE', 'SECURITY', 'IMPORT', 'REASSIGN']);

/** `DROP TABLE x` → "DROP TABLE": the command tag PostgreSQL would name. */
function commandTag(words: string[]): string {
  const two = new Set(['DROP', 'CREATE', 'ALTER', 'GRANT', 'REVOKE', 'COMMENT', 'REFRESH', 'REINDEX', 'SECURITY']);
  const skip = new Set(['OR', 'REPLACE', 'TEMP', 'TEMPORARY', 'UNLOGGED', 'UNIQUE', 'GLOBAL', 'LOCAL', 'IF', 'NOT', 'EXISTS']);
  if (!two.has(words[0] ?? '')) return words[0] ?? '';
  const object = words.slice(1).find((w) => !skip.has(w));
  const kind = object === 'MATERIALIZED' ? 'MATERIALIZED VIEW' : object;
  return `${words[0]}${kind ? ` ${kind}` : ''}`;
}

export interface StatementClass {
  /** CREATE TABLE … AS, CREATE MATERIALIZED VIEW, SELECT … INTO: they create a table when executed. */
  createsTable: boolean;
}

/** Refuse what has no plan; name statements that create a table. `words` are its keywords, upper-cased, in order. */
export function classifyStatement(words: string[]): StatementClass {
  const first = words[0] ?? '';
  if (first === 'CREATE') {
    const tag = commandTag(words);
    const asSelect = (tag === 'CREATE TABLE' || tag === 'CREATE MATERIALIZED VIEW') && words.includes('AS');
    if (!asSelect) throw cannotExplain(tag);
    return { createsTable: true };
  }
  if (UTILITY.has(first)) throw cannotExplain(commandTag(words));
  // SELECT … INTO new_table (not INSERT INTO, MERGE INTO, or a PL/pgSQL-style INTO inside a string).
  const selectInto = (first === 'SELECT' || first === 'WITH') && words.some((w, i) => w === 'INTO' && !['INSERT', 'MERGE'].includes(words[i - 1] ?? '') && !words.slice(0, i).includes('INSERT'));
  return { createsTable: selectInto };
}

function cannotExplain(tag: string) {
  return usageError(
    `PostgreSQL cannot EXPLAIN ${tag}: it is a utility statement, with no plan to diagnose.`,
    'opsctl pg explain takes SELECT, INSERT, UPDATE, DELETE, MERGE, VALUES, EXECUTE and CREATE TABLE … AS',
    'pg-not-explainable',
  );
}

/**
 * Volatile functions that cannot act on anything outside the rolled-back
 * transaction: executing them is safe (pg_sleep is bounded by --timeout).
 */
export const HARMLESS_VOLATILE = new Set([
  'random',
  'random_normal',
  'setseed',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'clock_timestamp',
  'timeofday',
  'pg_sleep',
  'pg_sleep_for',
  'pg_sleep_until',
  'txid_current',
  'pg_current_xact_id',
]);

/** Functions that act on the server whatever the catalog says about them (some are not marked volatile). */
const DENIED: Array<[RegExp, string]> = [
  [/^pg_(terminate|cancel)_backend$/, 'signals another session'],
  [/_reset$/, 'resets server-wide statistics or state'],
  [/^set_config$/, 'changes settings'],
  [/^pg_(try_)?advisory/, 'takes or releases advisory locks'],
  [/^dblink/, 'runs statements on another connection, outside the rollback'],
  [/^lo_/, 'changes large objects'],
  [/^pg_reload_conf$/, 'reloads the server configuration'],
  [/^pg_rotate_logfile$/, 'rotates the server log'],
  [/^(nextval|setval)$/, 'changes a sequence (not undone by a rollback)'],
  [/^pg_notify$/, 'sends a notification'],
  [/^pg_switch_wal$|^pg_create_restore_point$|^pg_promote$|^pg_(create|drop)_.*replication_slot$|^pg_replication_origin/, 'acts on replication or WAL'],
  [/^pg_file_(write|rename|unlink)$|^pg_logdir_ls$/, 'writes server files'],
  [/^pg_log_backend_memory_contexts$|^pg_signal_backend$/, 'signals another session'],
];

export interface RiskyCall {
  name: string;
  /** Why it may act on the server. */
  reason: string;
}

/** Every expression string of a plan (Output, Filter, Cond lines, Function Call …), subplans included. */
function expressions(node: RawNode, out: string[] = []): string[] {
  for (const [key, value] of Object.entries(node)) {
    if (key === 'Plans') continue;
    if (typeof value === 'string' && /Output|Filter|Cond|Key|Function Call|Order By|Table Function Call/.test(key)) out.push(value);
    else if (Array.isArray(value) && /Output|Key/.test(key)) out.push(...value.filter((v): v is string => typeof v === 'string'));
  }
  for (const child of (node.Plans as RawNode[] | undefined) ?? []) expressions(child, out);
  return out;
}

const NOT_FUNCTIONS = new Set(['any', 'all', 'array', 'row', 'exists', 'in', 'values', 'subplan', 'initplan', 'hashed', 'case', 'when', 'and', 'or', 'not', 'is', 'cast', 'coalesce', 'nullif', 'greatest', 'least', 'filter', 'over', 'partition', 'distinct', 'interval', 'timestamp', 'time', 'numeric', 'varchar', 'char', 'character', 'varying', 'bit', 'decimal', 'float']);

/** Names called in the plan's expressions: name( or schema.name(, not a cast's type modifier (::numeric(10,2)). */
export function calledFunctions(explain: RawExplain): Array<{ schema?: string; name: string }> {
  const texts = expressions(explain.Plan as RawNode);
  const seen = new Map<string, { schema?: string; name: string }>();
  const re = /(::\s*)?(?:"((?:[^"]|"")+)"|([A-Za-z_][\w$]*))(?:\.(?:"((?:[^"]|"")+)"|([A-Za-z_][\w$]*)))?\s*\(/g;
  for (const text of texts) {
    // Quoted literals cannot call anything.
    const code = text.replace(/'(?:[^']|'')*'/g, "''");
    for (const m of code.matchAll(re)) {
      if (m[1]) continue;
      const first = m[2]?.replace(/""/g, '"') ?? m[3]!;
      const second = m[4]?.replace(/""/g, '"') ?? m[5];
      const name = second ?? first;
      const schema = second ? first : undefined;
      if (!m[2] && !m[4] && NOT_FUNCTIONS.has(name.toLowerCase())) continue;
      seen.set(`${schema ?? ''}.${name}`, { schema, name: m[2] || m[4] ? name : name.toLowerCase() });
    }
  }
  return [...seen.values()];
}

/** The calls that could act on the server: denied by name, or volatile in pg_proc and not known harmless. */
export async function riskyCalls(session: PgSession, explain: RawExplain): Promise<RiskyCall[]> {
  const calls = calledFunctions(explain);
  if (calls.length === 0) return [];
  const { rows } = await session.query<{ name: string; schema: string; volatile: boolean }>(
    `SELECT ${OWN} p.proname AS name, n.nspname AS schema, bool_or(p.provolatile = 'v') AS volatile
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE p.proname = ANY($1::text[]) GROUP BY 1, 2`,
    [calls.map((c) => c.name)],
  );
  const risky: RiskyCall[] = [];
  for (const call of calls) {
    const denied = DENIED.find(([re]) => re.test(call.name));
    if (denied) {
      risky.push({ name: call.name, reason: denied[1] });
      continue;
    }
    if (HARMLESS_VOLATILE.has(call.name) && (!call.schema || call.schema === 'pg_catalog' || call.schema === 'public')) continue;
    const matches = rows.filter((r) => r.name === call.name && (!call.schema || r.schema === call.schema));
    if (matches.some((r) => r.volatile)) risky.push({ name: call.schema ? `${call.schema}.${call.name}` : call.name, reason: 'is VOLATILE: it may change state a rollback does not undo' });
  }
  return risky;
}
