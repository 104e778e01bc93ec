/**
 * Reads the conditions PostgreSQL prints in plans (Filter, Index Cond, Join
 * Filter, Recheck Cond, Hash Cond) back into columns and operators, so index
 * advice can put equality columns first and range/order columns after. The
 * server prints them in a regular, fully parenthesised form, e.g.
 *   ((e.player_id = 42) AND (e.created_at > '2024-01-01'::timestamp with time zone))
 */

export type ConditionKind = 'eq' | 'range' | 'null' | 'bool' | 'other';

export interface ColumnRef {
  alias?: string;
  column: string;
}

export interface Condition {
  text: string;
  kind: ConditionKind;
  op?: string;
  /** The column the condition constrains (plain column, possibly cast to text). */
  column?: ColumnRef;
  /** The condition constrains an expression over a column, e.g. lower(email): its unqualified text. */
  expression?: string;
  /** The column inside that expression. */
  expressionColumn?: ColumnRef;
  /** What it is compared with. */
  other: 'const' | 'param' | 'column' | 'expression' | 'none';
  otherColumn?: ColumnRef;
  /** For IS NULL / boolean conditions: the partial-index predicate text. */
  predicate?: string;
}

/** Split at a top-level keyword (outside parentheses and quotes). */
export function splitTop(expr: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (c === "'" || c === '"') {
      i = skipQuoted(expr, i);
      continue;
    }
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (depth === 0 && expr.startsWith(sep, i)) {
      parts.push(expr.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  parts.push(expr.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

function skipQuoted(s: string, i: number): number {
  const q = s[i];
  let j = i + 1;
  while (j < s.length) {
    if (s[j] === q && s[j + 1] === q) j += 2;
    else if (s[j] === q) return j;
    else j++;
  }
  return j;
}

/** Remove parentheses that wrap the whole expression. */
export function stripParens(expr: string): string {
  let e = expr.trim();
  for (;;) {
    if (!e.startsWith('(') || !e.endsWith(')')) return e;
    let depth = 0;
    let wraps = true;
    for (let i = 0; i < e.length; i++) {
      const c = e[i]!;
      if (c === "'" || c === '"') {
        i = skipQuoted(e, i);
        continue;
      }
      if (c === '(') depth++;
      else if (c === ')') depth--;
      if (depth === 0 && i < e.length - 1) {
        wraps = false;
        break;
      }
    }
    if (!wraps) return e;
    e = e.slice(1, -1).trim();
  }
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const COLUMN_RE = new RegExp(`^(?:(${IDENT})\\.)?(${IDENT})$`);
const KEYWORDS = new Set(['true', 'false', 'null', 'default', 'current_date', 'current_timestamp', 'now', 'localtimestamp']);

const unquote = (id: string) => (id.startsWith('"') ? id.slice(1, -1).replace(/""/g, '"') : id);

/** A bare column reference, or a column cast to text (varchar columns are printed that way). */
export function asColumn(operand: string): ColumnRef | undefined {
  let e = stripParens(operand);
  const cast = /^\((.*)\)::(text|character varying|bpchar|name)$/.exec(e);
  if (cast) e = stripParens(cast[1]!);
  const m = COLUMN_RE.exec(e);
  if (!m || KEYWORDS.has(e.toLowerCase())) return undefined;
  return { alias: m[1] ? unquote(m[1]) : undefined, column: unquote(m[2]!) };
}

function operandKind(operand: string): 'const' | 'param' | 'column' | 'expression' {
  const e = stripParens(operand);
  if (asColumn(e)) return 'column';
  if (/^\$\d+(::[\w\s\[\]"]+)?$/.test(e)) return 'param';
  if (/^(?:'(?:[^']|'')*'|-?\d+(?:\.\d+)?|NULL|true|false)(?:::[\w\s\[\]".(),]+)?$/i.test(e)) return 'const';
  if (/^ANY \(/.test(e)) return /\$\d/.test(e) ? 'param' : /[A-Za-z_]\w*\.[A-Za-z_]/.test(e.replace(/'(?:[^']|'')*'/g, '')) ? 'expression' : 'const';
  return 'expression';
}

const COMPARISONS = [' = ANY ', ' >= ', ' <= ', ' <> ', ' != ', ' = ', ' > ', ' < ', ' ~~* ', ' ~~ '];
const FLIP: Record<string, string> = { '>': '<', '<': '>', '>=': '<=', '<=': '>=' };

/** The first column reference inside an expression (for lower(u.email) → u.email). */
function columnInside(expr: string): ColumnRef | undefined {
  const re = new RegExp(`(${IDENT})\\.(${IDENT})`, 'g');
  const cleaned = expr.replace(/'(?:[^']|'')*'/g, "''");
  const m = re.exec(cleaned);
  if (m) return { alias: unquote(m[1]!), column: unquote(m[2]!) };
  return undefined;
}

/** Drop alias qualifiers so an expression reads as it would in CREATE INDEX. */
export function unqualify(expr: string): string {
  return expr.replace(new RegExp(`(?<![\\w'])(${IDENT})\\.(${IDENT})`, 'g'), (_m, _a, c) => c);
}

export function parseCondition(text: string): Condition {
  const e = stripParens(text);
  if (splitTop(e, ' OR ').length > 1) return { text, kind: 'other', other: 'none' };
  const nullTest = /^(.*) IS (NOT )?NULL$/.exec(e);
  if (nullTest) {
    const col = asColumn(nullTest[1]!);
    if (col) return { text, kind: 'null', column: col, other: 'none', predicate: `${quoteIdent(col.column)} IS ${nullTest[2] ? 'NOT ' : ''}NULL`, op: nullTest[2] ? 'IS NOT NULL' : 'IS NULL' };
  }
  const notBool = /^NOT (.*)$/.exec(e);
  if (notBool && asColumn(notBool[1]!)) {
    const col = asColumn(notBool[1]!)!;
    return { text, kind: 'bool', column: col, other: 'none', predicate: `NOT ${quoteIdent(col.column)}` };
  }
  const bare = asColumn(e);
  if (bare) return { text, kind: 'bool', column: bare, other: 'none', predicate: quoteIdent(bare.column) };

  for (const sep of COMPARISONS) {
    const parts = splitTop(e, sep);
    if (parts.length !== 2) continue;
    let [left, right] = parts as [string, string];
    let op = sep.trim();
    const lk = operandKind(left);
    let rk = operandKind(right);
    // Put the column (or the expression over a column) on the left.
    if ((lk === 'const' || lk === 'param') && (rk === 'column' || rk === 'expression')) {
      [left, right] = [right, left];
      rk = lk;
      op = FLIP[op] ?? op;
    }
    const kind: ConditionKind = op === '=' || op === '= ANY' ? 'eq' : op in FLIP ? 'range' : 'other';
    const col = asColumn(left);
    const otherKind = operandKind(right);
    const cond: Condition = { text, kind, op, other: otherKind };
    if (otherKind === 'column') cond.otherColumn = asColumn(right);
    if (col) cond.column = col;
    else {
      const inside = columnInside(left);
      if (!inside) return { text, kind: 'other', other: 'none' };
      cond.expression = unqualify(stripParens(left));
      cond.expressionColumn = inside;
    }
    // LIKE is only index-friendly for a constant prefix with the right operator class.
    if (op === '~~' || op === '~~*') cond.kind = 'other';
    return cond;
  }
  return { text, kind: 'other', other: 'none' };
}

/** All top-level AND-ed conditions of a plan condition string. */
export function parseConditions(expr: string | undefined): Condition[] {
  if (!expr) return [];
  return splitTop(stripParens(expr), ' AND ').map(parseCondition);
}

export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

const RESERVED = new Set(['all', 'analyse', 'analyze', 'and', 'any', 'array', 'as', 'asc', 'asymmetric', 'both', 'case', 'cast', 'check', 'collate', 'column', 'constraint', 'create', 'current_catalog', 'current_date', 'current_role', 'current_time', 'current_timestamp', 'current_user', 'default', 'deferrable', 'desc', 'distinct', 'do', 'else', 'end', 'except', 'false', 'fetch', 'for', 'foreign', 'from', 'grant', 'group', 'having', 'in', 'initially', 'intersect', 'into', 'lateral', 'leading', 'limit', 'localtime', 'localtimestamp', 'not', 'null', 'offset', 'on', 'only', 'or', 'order', 'placing', 'primary', 'references', 'returning', 'select', 'session_user', 'some', 'symmetric', 'table', 'then', 'to', 'trailing', 'true', 'union', 'unique', 'user', 'using', 'variadic', 'when', 'where', 'window', 'with']);
