/**
 * libpq's connection conventions, as data: conninfo strings (URI and
 * keyword/value), service files and the password file. Pure parsing plus
 * file reads, so src/lib/postgres.ts resolves a connection exactly the way
 * psql would, and the tests can compare the two.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { usageError } from './errors.js';

/** The libpq keywords opsctl understands (others are refused, as libpq does). */
export const KEYWORDS = [
  'host',
  'hostaddr',
  'port',
  'dbname',
  'user',
  'password',
  'passfile',
  'service',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'application_name',
  'fallback_application_name',
  'connect_timeout',
  'options',
  'client_encoding',
  // Accepted and ignored: they tune libpq's own socket handling or multi-host choice.
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'target_session_attrs',
  'gssencmode',
  'sslcompression',
  'requiressl',
] as const;
export type Keyword = (typeof KEYWORDS)[number];
export type Params = Partial<Record<Keyword, string>>;

/** Environment variables → keywords (libpq's PQconndefaults table). */
export const ENV_KEYWORDS: Array<[string, Keyword]> = [
  ['PGHOST', 'host'],
  ['PGHOSTADDR', 'hostaddr'],
  ['PGPORT', 'port'],
  ['PGDATABASE', 'dbname'],
  ['PGUSER', 'user'],
  ['PGPASSWORD', 'password'],
  ['PGPASSFILE', 'passfile'],
  ['PGSERVICE', 'service'],
  ['PGSSLMODE', 'sslmode'],
  ['PGSSLROOTCERT', 'sslrootcert'],
  ['PGSSLCERT', 'sslcert'],
  ['PGSSLKEY', 'sslkey'],
  ['PGAPPNAME', 'application_name'],
  ['PGCONNECT_TIMEOUT', 'connect_timeout'],
  ['PGOPTIONS', 'options'],
  ['PGCLIENTENCODING', 'client_encoding'],
  ['PGTARGETSESSIONATTRS', 'target_session_attrs'],
];

const isKeyword = (k: string): k is Keyword => (KEYWORDS as readonly string[]).includes(k);

function setParam(out: Params, key: string, value: string, from: string): void {
  // JDBC-style ?ssl=true, which libpq also accepts in URIs.
  if (key === 'ssl' && value === 'true') key = 'sslmode', value = 'require';
  if (!isKeyword(key)) throw usageError(`${from}: invalid connection option "${key}".`, 'libpq keywords: host, port, dbname, user, password, sslmode, service, application_name, connect_timeout, options …', 'pg-bad-conninfo');
  out[key] = value;
}

export const isUri = (s: string): boolean => /^postgres(ql)?:\/\//i.test(s);

/** `host=db dbname='my app' password=it\'s` → params, with libpq's quoting rules. */
export function parseKeywordValue(text: string, from: string): Params {
  const out: Params = {};
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  for (;;) {
    ws();
    if (i >= text.length) return out;
    const start = i;
    while (i < text.length && text[i] !== '=' && !/\s/.test(text[i]!)) i++;
    const key = text.slice(start, i);
    ws();
    if (text[i] !== '=') throw usageError(`${from}: missing "=" after "${key}" in the connection string.`, "write key=value pairs, e.g. host=localhost dbname=app (quote values with spaces: 'my app')", 'pg-bad-conninfo');
    i++;
    ws();
    let value = '';
    if (text[i] === "'") {
      i++;
      for (;;) {
        if (i >= text.length) throw usageError(`${from}: unterminated quoted string in the connection string.`, "close the value with '", 'pg-bad-conninfo');
        const c = text[i++]!;
        if (c === '\\' && i < text.length) value += text[i++];
        else if (c === "'") break;
        else value += c;
      }
    } else {
      while (i < text.length && !/\s/.test(text[i]!)) {
        const c = text[i++]!;
        if (c === '\\' && i < text.length) value += text[i++];
        else value += c;
      }
    }
    setParam(out, key, value, from);
  }
}

const decode = (s: string, from: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    throw usageError(`${from}: invalid percent-encoding in the URL.`, 'percent-encode special characters in the password (@ → %40, : → %3A, / → %2F)', 'pg-bad-url');
  }
};

/**
 * postgresql://[user[:password]@][host][:port][,host2…][/dbname][?key=value&…]
 * Read the way libpq reads it (conninfo_uri_parse): the user part ends at the
 * first @ or /, a host may be a percent-encoded socket directory (%2Fvar%2Frun)
 * or [IPv6], and every query parameter is a keyword.
 */
export function parseUri(uri: string, from: string): Params {
  const out: Params = {};
  let rest = uri.replace(/^postgres(ql)?:\/\//i, '');
  const stop = rest.search(/[@/?]/);
  if (stop >= 0 && rest[stop] === '@') {
    const userinfo = rest.slice(0, stop);
    rest = rest.slice(stop + 1);
    const colon = userinfo.indexOf(':');
    const user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    if (user) out.user = decode(user, from);
    if (colon >= 0) out.password = decode(userinfo.slice(colon + 1), from);
  }
  const hostEnd = rest.search(/[/?]/);
  const hostspec = hostEnd >= 0 ? rest.slice(0, hostEnd) : rest;
  rest = hostEnd >= 0 ? rest.slice(hostEnd) : '';
  const hosts: string[] = [];
  const ports: string[] = [];
  for (const part of hostspec ? hostspec.split(',') : []) {
    const m = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(part)!;
    hosts.push(decode(m[1]!.replace(/^\[(.*)\]$/, '$1'), from));
    ports.push(m[2] ?? '');
  }
  if (hosts.some((h) => h)) out.host = hosts.join(',');
  if (ports.some((p) => p)) {
    if (ports.some((p) => p && !/^\d+$/.test(p))) throw usageError(`${from}: invalid port "${ports.find((p) => p && !/^\d+$/.test(p))}" in the URL.`, 'e.g. postgres://user@localhost:5432/app', 'pg-bad-url');
    out.port = ports.join(',');
  }
  if (rest.startsWith('/')) {
    const q = rest.indexOf('?');
    const db = decode(q >= 0 ? rest.slice(1, q) : rest.slice(1), from);
    if (db) out.dbname = db;
    rest = q >= 0 ? rest.slice(q) : '';
  }
  if (rest.startsWith('?')) {
    for (const pair of rest.slice(1).split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      if (eq < 0) throw usageError(`${from}: missing "=" in URL query parameter "${pair}".`, 'e.g. ?sslmode=require', 'pg-bad-url');
      setParam(out, decode(pair.slice(0, eq), from), decode(pair.slice(eq + 1), from), from);
    }
  }
  return out;
}

/** A URL, or keyword/value pairs, or (as psql takes it) a bare database name. */
export function parseConninfo(text: string, from: string): Params {
  if (isUri(text)) return parseUri(text, from);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw usageError(`${from} must be a postgres:// or postgresql:// URL, got "${redactUri(text).slice(0, 60)}".`, 'e.g. postgres://user@localhost:5432/app or host=localhost dbname=app', 'pg-bad-url');
  }
  if (text.includes('=')) return parseKeywordValue(text, from);
  return { dbname: text };
}

/** Hide the password of a URL (for messages that must show one). */
export function redactUri(url: string): string {
  // Up to the last @: an unencoded @ in the password must not leak its tail.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:).*@/i, '$1***@');
}

export interface FileReader {
  read(file: string): string | undefined;
  /** Mode bits and whether it is a regular file; undefined when missing. */
  stat(file: string): { mode: number; regular: boolean } | undefined;
}

export const realFiles: FileReader = {
  read(file) {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  },
  stat(file) {
    try {
      const s = statSync(file);
      return { mode: s.mode & 0o777, regular: s.isFile() };
    } catch {
      return undefined;
    }
  },
};

/** One [service] section of a pg_service.conf, or undefined when the file lacks it. */
export function serviceSection(text: string, service: string, file: string): Params | undefined {
  let inSection = false;
  let found: Params | undefined;
  for (const [n, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const section = /^\[(.*)\]$/.exec(line);
    if (section) {
      if (found) return found;
      inSection = section[1]!.trim() === service;
      if (inSection) found = {};
      continue;
    }
    if (!inSection) continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw usageError(`Syntax error in service file "${file}", line ${n + 1}.`, 'each line is key=value under a [service] heading', 'pg-bad-service-file');
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === 'service') throw usageError(`Nested service specifications are not supported in service file "${file}", line ${n + 1}.`, undefined, 'pg-bad-service-file');
    setParam(found!, key, value, `service file "${file}", line ${n + 1}`);
  }
  return found;
}

/** libpq's order: PGSERVICEFILE or ~/.pg_service.conf, then PGSYSCONFDIR/pg_service.conf. The first file with the section wins. */
export function serviceFiles(env: NodeJS.ProcessEnv, home: string | undefined, sysconfdir: string): string[] {
  const user = env.PGSERVICEFILE ?? (home ? path.join(home, '.pg_service.conf') : undefined);
  return [user, path.join(env.PGSYSCONFDIR ?? sysconfdir, 'pg_service.conf')].filter((f): f is string => Boolean(f));
}

export function lookupService(service: string, files: string[], fs: FileReader): { params: Params; file: string } {
  for (const file of files) {
    const text = fs.read(file);
    if (text === undefined) continue;
    const params = serviceSection(text, service, file);
    if (params) return { params, file };
  }
  throw usageError(`Definition of service "${service}" not found.`, `looked in ${files.join(' and ')}`, 'pg-unknown-service');
}

/** Split a .pgpass line on unescaped colons, undoing \: and \\. */
function pgpassFields(line: string): string[] {
  const fields: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) cur += line[++i];
    else if (c === ':' && fields.length < 4) fields.push(cur), (cur = '');
    else cur += c;
  }
  fields.push(cur);
  return fields;
}

export interface PgpassResult {
  password?: string;
  /** libpq's warning when it ignores the file (printed to stderr). */
  warning?: string;
}

/**
 * The first matching line of the password file, as libpq reads it: fields
 * hostname:port:database:username:password, * matches anything, and a file
 * readable by group or others is ignored with a warning.
 */
export function pgpassLookup(file: string, want: { host: string; port: string; dbname: string; user: string }, fs: FileReader): PgpassResult {
  const st = fs.stat(file);
  if (!st) return {};
  if (!st.regular) return { warning: `password file "${file}" is not a plain file` };
  if (process.platform !== 'win32' && st.mode & 0o077) {
    return { warning: `password file "${file}" has group or world access; permissions should be u=rw (0600) or less` };
  }
  const text = fs.read(file) ?? '';
  for (const raw of text.split(/\r?\n/)) {
    if (!raw || raw.startsWith('#')) continue;
    const f = pgpassFields(raw);
    if (f.length < 5) continue;
    const ok = (pattern: string, value: string) => pattern === '*' || pattern === value;
    if (ok(f[0]!, want.host) && ok(f[1]!, want.port) && ok(f[2]!, want.dbname) && ok(f[3]!, want.user)) return { password: f[4] };
  }
  return {};
}
