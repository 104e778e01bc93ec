/**
 * Just enough SQL lexing to handle a statement safely without a full parser:
 * count `$n` parameters, refuse a second statement (it could COMMIT its way out
 * of the rolled-back transaction), and tell whether the statement writes.
 * Quotes, comments and dollar-quoted bodies are skipped so their contents
 * never count.
 */
import { usageError } from '../../lib/errors.js';

export interface StatementInfo {
  /** The statement without trailing semicolons and whitespace. */
  text: string;
  /** Highest `$n` referenced (0 when the statement has no parameters). */
  paramCount: number;
  /** The first keyword, upper-cased (SELECT, WITH, DELETE, …). */
  command: string;
  /** Whether it writes (INSERT/UPDATE/DELETE/MERGE anywhere, incl. data-modifying CTEs). */
  writes: boolean;
  /** Its keywords and identifiers outside quotes and comments, upper-cased, in order. */
  words: string[];
}

const WRITE_WORDS = new Set(['INSERT', 'DELETE', 'MERGE', 'TRUNCATE', 'COPY']);

export function inspectStatement(sql: string): StatementInfo {
  const words: string[] = [];
  let paramCount = 0;
  let i = 0;
  let lastSignificant = -1; // index after the last char that is not a comment/space/semicolon
  let semicolonAt = -1;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      // PostgreSQL ends a -- comment at \r as well as \n.
      const m = /[\r\n]/.exec(sql.slice(i));
      i = m ? i + m.index + 1 : n;
      continue;
    }
    if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') (depth++, (i += 2));
        else if (sql[i] === '*' && sql[i + 1] === '/') (depth--, (i += 2));
        else i++;
      }
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === ';') {
      if (semicolonAt === -1) semicolonAt = i;
      i++;
      continue;
    }
    if (semicolonAt !== -1) {
      throw usageError('Only one SQL statement can be explained at a time.', 'remove everything after the first semicolon', 'pg-multiple-statements');
    }
    if (c === "'" || c === '"') {
      // Backslash escapes only in E'…': an E that is a token of its own, not the end of a word (name'…', date'…').
      const escapes = c === "'" && /(?:^|[^A-Za-z0-9_$\u0080-\uffff])[eE]$/.test(sql.slice(Math.max(0, i - 2), i));
      i++;
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i++;
      }
      i++;
      lastSignificant = i;
      continue;
    }
    if (c === '$') {
      const param = /^\$(\d+)/.exec(sql.slice(i));
      if (param) {
        paramCount = Math.max(paramCount, Number(param[1]));
        i += param[0].length;
        lastSignificant = i;
        continue;
      }
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        i = end === -1 ? n : end + tag[0].length;
        lastSignificant = i;
        continue;
      }
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))!;
      words.push(m[0].toUpperCase());
      i += m[0].length;
      lastSignificant = i;
      continue;
    }
    i++;
    lastSignificant = i;
  }
  const text = sql.slice(0, Math.max(0, lastSignificant)).trim();
  if (text === '') throw usageError('The query is empty.', 'pass the SQL as an argument, with -f FILE, or on stdin', 'pg-empty-query');
  const writes = words.some((w, k) => WRITE_WORDS.has(w) || (w === 'UPDATE' && words[k - 1] !== 'FOR' && words[k - 1] !== 'KEY' && words[k - 1] !== 'DO'));
  return { text, paramCount, command: words[0] ?? '', writes, words };
}
