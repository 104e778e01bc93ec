/**
 * Where to connect, the way libpq (psql) decides it: --db / config /
 * DATABASE_URL as a URL, keyword/value string or database name, then a
 * PGSERVICE service file section, then the PG* variables, then the defaults
 * (the OS user, the Unix socket). The password falls back to the password
 * file. `connectPg` opens it with sslmode's semantics (prefer: TLS, else
 * plain). Failures become one-line OpsErrors with a hint.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ExitCode, OpsError, firstLine, usageError } from './errors.js';
import { ENV_KEYWORDS, lookupService, parseConninfo, pgpassLookup, realFiles, redactUri, serviceFiles, type FileReader, type Params } from './pg-conninfo.js';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export interface ConnectionSpec {
  /** For pg.Client; `ssl` is the first attempt (connectPg retries as sslmode allows). */
  config: pg.ClientConfig;
  /** user@host:port/database — never the password. */
  display: string;
  /** A host name, an address, or a Unix socket directory (starts with /). */
  host: string;
  port: number;
  database: string;
  user: string;
  /** Where the connection string came from: --db, DATABASE_URL, PG* variables … */
  source: string;
  sslmode: SslMode;
  socket: boolean;
  /** Where the password came from, if there is one. */
  passwordFrom?: 'connection string' | 'service file' | 'PGPASSWORD' | 'password file';
  service?: { name: string; file: string };
  /** libpq's warnings (an ignored password file); callers print them to stderr. */
  warnings: string[];
}

export interface ResolveOptions {
  /** Socket directories tried in order when no host is given (Debian's libpq: /var/run/postgresql). */
  socketDirs?: string[];
  home?: string;
  sysconfdir?: string;
  files?: FileReader;
  osUser?: string;
}

/** libpq on Debian looks in /var/run/postgresql; /tmp is the upstream default other builds use. */
export const DEFAULT_SOCKET_DIRS = ['/var/run/postgresql', '/tmp'];
const DEBIAN_SOCKET_DIR = '/var/run/postgresql';
const DEFAULT_SYSCONFDIR = '/etc/postgresql-common';

/** Hide the password of a postgres:// URL (for messages that must show one). */
export const redactUrl = redactUri;

function osUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'postgres';
  }
}

export function resolveConnection(flag: string | undefined, env: NodeJS.ProcessEnv, source = '--db', opts: ResolveOptions = {}): ConnectionSpec {
  const files = opts.files ?? realFiles;
  const home = opts.home ?? env.HOME ?? os.homedir();
  const text = flag ?? env.DATABASE_URL;
  const from = flag !== undefined ? source : env.DATABASE_URL !== undefined ? 'DATABASE_URL' : 'PG* variables';
  const given: Params = text !== undefined && text !== '' ? parseConninfo(text, from) : {};
  const fromEnv: Params = {};
  for (const [name, key] of ENV_KEYWORDS) if (env[name] !== undefined && env[name] !== '') fromEnv[key] = env[name];

  // libpq: the connection string wins, then the service, then the environment.
  const serviceName = given.service ?? fromEnv.service;
  let service: ConnectionSpec['service'];
  let fromService: Params = {};
  if (serviceName) {
    const found = lookupService(serviceName, serviceFiles(env, home, opts.sysconfdir ?? DEFAULT_SYSCONFDIR), files);
    fromService = found.params;
    service = { name: serviceName, file: found.file };
  }
  const p: Params = { ...fromEnv, ...fromService, ...given };

  const user = p.user || opts.osUser || osUserName();
  const database = p.dbname || user;
  const portText = (p.port ?? '').split(',')[0] || '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw usageError(`Invalid port "${portText}" (from ${from}).`, 'a number from 1 to 65535, e.g. 5432', 'pg-bad-url');
  // Several hosts are libpq's failover list; opsctl diagnoses one server, the first.
  const hostGiven = (p.host ?? '').split(',')[0] || (p.hostaddr ?? '').split(',')[0] || '';
  const dirs = opts.socketDirs ?? DEFAULT_SOCKET_DIRS;
  const host = hostGiven || dirs.find((d) => existsSync(path.join(d, `.s.PGSQL.${port}`))) || dirs[0] || DEBIAN_SOCKET_DIR;
  const socket = host.startsWith('/');

  const sslmode = (p.sslmode || 'prefer') as SslMode;
  if (!SSL_MODES.includes(sslmode)) throw usageError(`Invalid sslmode "${p.sslmode}" (from ${from}).`, `one of ${SSL_MODES.join(', ')}`, 'pg-bad-url');

  const warnings: string[] = [];
  let password = p.password;
  let passwordFrom: ConnectionSpec['passwordFrom'] = given.password !== undefined ? 'connection string' : fromService.password !== undefined ? 'service file' : fromEnv.password !== undefined ? 'PGPASSWORD' : undefined;
  if (password === undefined) {
    const passfile = p.passfile || (home ? path.join(home, '.pgpass') : undefined);
    if (passfile) {
      // 'localhost' in the file matches no host at all, or the default socket directory.
      const pwHost = !hostGiven || host === DEBIAN_SOCKET_DIR ? 'localhost' : host;
      const r = pgpassLookup(passfile, { host: pwHost, port: String(port), dbname: database, user }, files);
      if (r.warning) warnings.push(r.warning);
      if (r.password !== undefined) (password = r.password), (passwordFrom = 'password file');
    }
  }

  const attempts = sslAttempts(sslmode, socket, p, files);
  const timeoutS = Number(p.connect_timeout ?? '');
  // libpq: 0 or unset waits forever, and anything under 2 s means 2 s; opsctl never waits forever (10 s).
  const connectionTimeoutMillis = p.connect_timeout && timeoutS > 0 ? Math.max(2, timeoutS) * 1000 : 10_000;
  const config: pg.ClientConfig = {
    host,
    port,
    user,
    database,
    // A function, so the pg driver never falls back to its own (deprecated) password-file reader,
    // and a server that asks for a password we lack gets libpq's answer.
    password: async () => {
      if (password === undefined) throw Object.assign(new Error('fe_sendauth: no password supplied'), { code: 'pg-no-password' });
      return password;
    },
    application_name: p.application_name || p.fallback_application_name || 'opsctl',
    connectionTimeoutMillis,
    ssl: attempts[0]!,
    ...(p.options ? { options: p.options } : {}),
    ...(p.client_encoding ? { client_encoding: p.client_encoding } : {}),
  };
  sslFallbacks.set(config, attempts.slice(1));
  const display = `${user}@${host}:${port}/${database}`;
  return { config, host, port, user, database, display, source: service ? `${from} (service "${service.name}" in ${service.file})` : from, sslmode, socket, passwordFrom, service, warnings };
}

type SslConfig = pg.ClientConfig['ssl'];
/** The later sslmode attempts of each resolved config (kept out of the spec, which is printed). */
const sslFallbacks = new WeakMap<pg.ClientConfig, SslConfig[]>();

/** The TLS settings to try, in order, for an sslmode (libpq never uses TLS on a Unix socket). */
export function sslAttempts(mode: SslMode, socket: boolean, p: Params = {}, files: FileReader = realFiles): SslConfig[] {
  if (socket || mode === 'disable') return [false];
  const read = (file: string | undefined, what: string) => {
    if (!file) return undefined;
    const text = files.read(file);
    if (text === undefined) throw usageError(`Cannot read the ${what} file "${file}".`, undefined, 'pg-ssl-file');
    return text;
  };
  const base = { ca: read(p.sslrootcert && p.sslrootcert !== 'system' ? p.sslrootcert : undefined, 'sslrootcert'), cert: read(p.sslcert, 'sslcert'), key: read(p.sslkey, 'sslkey') };
  const clean = Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined));
  const encrypt = { ...clean, rejectUnauthorized: false };
  switch (mode) {
    case 'allow':
      return [false, encrypt];
    case 'prefer':
      return [encrypt, false];
    case 'require':
      return [encrypt];
    case 'verify-ca':
      // The chain must verify; the name need not match.
      return [{ ...clean, rejectUnauthorized: true, checkServerIdentity: () => undefined }];
    case 'verify-full':
      return [{ ...clean, rejectUnauthorized: true }];
  }
}

/** The server said no to this attempt in a way the next sslmode attempt may fix. */
function worthRetrying(err: unknown, triedSsl: boolean): boolean {
  const e = err as { code?: string; message?: string };
  const msg = String(e?.message ?? '');
  if (triedSsl) return /does not support SSL/i.test(msg) || (e?.code === '28000' && /SSL/i.test(msg));
  return e?.code === '28000' && /no encryption/i.test(msg);
}

/**
 * Open a connection as libpq would for the spec's sslmode: prefer tries TLS
 * and falls back to plain when the server has no SSL (or pg_hba refuses it);
 * allow tries plain first. Errors are translated OpsErrors.
 */
export async function connectPg(spec: ConnectionSpec, overrides: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const attempts = [spec.config.ssl, ...(sslFallbacks.get(spec.config) ?? sslAttempts(spec.sslmode, spec.socket).slice(1))];
  let last: unknown;
  for (const [i, ssl] of attempts.entries()) {
    const client = new pg.Client({ ...spec.config, ssl, ...overrides });
    // A server-side disconnect must surface as a failed query, not crash the process.
    client.on('error', () => {});
    try {
      await client.connect();
      return client;
    } catch (err) {
      last = err;
      await client.end().catch(() => {});
      if (i === attempts.length - 1 || !worthRetrying(err, Boolean(ssl))) break;
    }
  }
  throw translatePgError(last, spec);
}

interface PgErrorLike {
  code?: string;
  message?: string;
  position?: string;
  errors?: Array<{ code?: string }>;
}

/** Translate a pg / network error into an OpsError. `sql` gives syntax errors their context. */
/**
 * psql's context for an error position: the line of the query it is on and a
 * caret under the character (long lines cut around it with "..."). The caret
 * line is indented for the `hint: ` prefix it is printed after.
 */
export function caretLines(sql: string, position: number, indent = 'hint: '.length): string | undefined {
  if (!(position >= 1) || position > sql.length + 1) return undefined;
  const before = sql.slice(0, position - 1);
  const lineNo = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = sql.indexOf('\n', lineStart);
  let line = sql.slice(lineStart, lineEnd < 0 ? undefined : lineEnd).replace(/\t/g, ' ').replace(/\r$/, '');
  let col = position - 1 - lineStart;
  const WIDTH = 60;
  if (line.length > WIDTH) {
    const start = Math.max(0, Math.min(col - 10, line.length - WIDTH));
    const cut = line.slice(start, start + WIDTH);
    col = col - start + (start > 0 ? 3 : 0);
    line = `${start > 0 ? '...' : ''}${cut}${start + WIDTH < line.length ? '...' : ''}`;
  }
  const label = `LINE ${lineNo}: `;
  return `${label}${line}\n${' '.repeat(indent + label.length + col)}^`;
}

export function translatePgError(
  err: unknown,
  spec: Pick<ConnectionSpec, 'host' | 'port' | 'user' | 'database' | 'source'> & Partial<Pick<ConnectionSpec, 'passwordFrom' | 'socket'>>,
  sql?: string,
  /** Characters opsctl sent before the user's query (its EXPLAIN …): error positions count them. */
  positionOffset = 0,
): OpsError {
  if (err instanceof OpsError) return err;
  const e = (err ?? {}) as PgErrorLike;
  const code = e.code ?? e.errors?.find((x) => x.code)?.code;
  const msg = firstLine(err instanceof Error || typeof e.message !== 'string' ? err : new Error(e.message));
  const where = spec.socket ? `${spec.host}/.s.PGSQL.${spec.port}` : `${spec.host}:${spec.port}`;
  const opts = (hint: string | undefined, c: string, exitCode: number = ExitCode.FAILED) => ({ hint, code: c, exitCode, cause: err });
  const userPosition = Number(e.position) - positionOffset;
  const caret = sql && e.position ? caretLines(sql, userPosition) : undefined;
  switch (code) {
    case 'pg-no-password':
      return new OpsError(`The server asked for a password for user "${spec.user}" and none was given.`, opts(`put it in ${spec.source}, PGPASSWORD or ~/.pgpass (mode 0600)`, 'pg-auth-failed'));
    case 'ENOENT':
      if (spec.socket) return new OpsError(`Cannot connect to PostgreSQL: no server socket at ${spec.host}/.s.PGSQL.${spec.port}.`, opts(`is the server running locally? Set PGHOST (a host name, or the socket directory) or pass --db (connection from ${spec.source})`, 'pg-connection-refused'));
      break;
    case 'ECONNREFUSED':
      return new OpsError(`Cannot connect to PostgreSQL at ${where}: connection refused.`, opts(`is the server running and listening there? (connection from ${spec.source})`, 'pg-connection-refused'));
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new OpsError(`Cannot resolve the PostgreSQL host "${spec.host}".`, opts(`check the host name in ${spec.source}`, 'pg-host-not-found'));
    case 'ETIMEDOUT':
    case 'ECONNRESET':
      return new OpsError(`Lost or could not open the connection to PostgreSQL at ${where} (${code}).`, opts('check the network path and the server log', 'pg-connection-lost'));
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return new OpsError(`The server's SSL certificate is not trusted (${code}).`, opts('use sslmode=require to encrypt without verifying, or trust the CA with NODE_EXTRA_CA_CERTS', 'pg-ssl-untrusted'));
    case '28P01':
      return new OpsError(`Password authentication failed for user "${spec.user}".`, opts(`check the password${spec.passwordFrom ? ` (it came from the ${spec.passwordFrom})` : ''} in ${spec.source}, PGPASSWORD or ~/.pgpass`, 'pg-auth-failed'));
    case '28000':
      if (/no encryption/i.test(msg)) {
        return new OpsError(`The server requires SSL for user "${spec.user}" on database "${spec.database}".`, opts('add ?sslmode=require to the URL (or set PGSSLMODE=require)', 'pg-ssl-required'));
      }
      return new OpsError(`The server refused the connection: ${msg}.`, opts('pg_hba.conf has no entry allowing this user/database/host', 'pg-auth-rejected'));
    case '3D000':
      return new OpsError(`Database "${spec.database}" does not exist on ${where}.`, opts('list databases with: psql -l (or SELECT datname FROM pg_database)', 'pg-unknown-database'));
    case '57P03':
      return new OpsError(`PostgreSQL at ${where} is starting up or shutting down.`, opts('retry in a moment', 'pg-not-ready'));
    case '53300':
      return new OpsError(`PostgreSQL at ${where} has no free connection slots.`, opts('too many clients: close idle connections or use a pooler', 'pg-too-many-connections'));
    case '42601':
      return new OpsError(`Syntax error in the query: ${msg}.`, opts(caret ?? 'check the SQL', 'pg-syntax-error', ExitCode.USAGE));
    case '42P01':
    case '42703':
    case '42883':
    case '42P18':
    case '42804':
    case '42725':
    case '42P02':
    case '08P01':
    case '22P02':
    case '3F000':
      return new OpsError(`The query is not valid here: ${msg}.`, opts(caret && code !== '42P18' && code !== '42P02' && code !== '08P01' ? caret : code === '42P18' || code === '42P02' || code === '08P01' ? 'pass one --param per $n, or none to explain the generic plan' : `checked against database "${spec.database}" (search_path matters for unqualified names)`, 'pg-invalid-query', ExitCode.USAGE));
    case '42704':
    case '22023':
      return new OpsError(`Invalid setting: ${msg}.`, opts('check the --set NAME=VALUE options', 'pg-bad-setting', ExitCode.USAGE));
    case '25006':
      return new OpsError(`The statement tried to write, and opsctl runs it READ ONLY: ${msg}.`, opts('add --allow-writes to execute it (it still runs inside a transaction that is rolled back), or --no-analyze for the plan only', 'pg-read-only', ExitCode.USAGE));
    case '55P03':
      return new OpsError(`Could not lock the table within lock_timeout: ${msg}.`, opts('the table is busy with other transactions; retry later, or use --verify hypo (no lock)', 'pg-lock-timeout'));
    case '42501':
      return new OpsError(`Permission denied: ${msg}.`, opts(`connect as a role that may read these tables (now "${spec.user}")`, 'pg-permission-denied'));
    case '57014':
      if (/statement timeout/i.test(msg)) return new OpsError('The query ran longer than the statement timeout and was cancelled.', opts('raise --timeout (seconds), or use --no-analyze to see the plan without running it', 'pg-timeout'));
      return new OpsError(`The query was cancelled: ${msg}.`, opts(undefined, 'pg-cancelled'));
  }
  if (/does not support SSL/i.test(msg)) {
    return new OpsError(`The server at ${where} does not accept SSL connections, but SSL was requested.`, { hint: 'use sslmode=disable (or drop sslmode=require)', code: 'pg-ssl-unsupported', cause: err });
  }
  if (/timeout expired|connection timeout|Connection terminated/i.test(msg)) {
    return new OpsError(`Timed out or lost the connection to PostgreSQL at ${where}.`, { hint: 'check the host, port and firewall', code: 'pg-connect-timeout', cause: err });
  }
  if (/SASL|password must be a string|client password must be/i.test(msg)) {
    return new OpsError(`The server asked for a password for user "${spec.user}" and none was given.`, { hint: `put it in ${spec.source}, PGPASSWORD or ~/.pgpass`, code: 'pg-auth-failed', cause: err });
  }
  return new OpsError(`PostgreSQL error${code ? ` ${code}` : ''}: ${msg}`, { code: 'pg-error', cause: err });
}
