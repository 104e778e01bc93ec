/**
 * Where to connect (--db / config / DATABASE_URL / PG* variables), how to show
 * it without the password, and PostgreSQL failures turned into one-line
 * OpsErrors with a hint.
 */
import os from 'node:os';
import type pg from 'pg';
import { ExitCode, OpsError, firstLine, usageError } from './errors.js';

export interface ConnectionSpec {
  config: pg.ClientConfig;
  /** user@host:port/database — never the password. */
  display: string;
  host: string;
  port: number;
  database: string;
  user: string;
  source: string;
}

function sslFromMode(mode: string | undefined): pg.ClientConfig['ssl'] {
  switch ((mode ?? '').toLowerCase()) {
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
    default:
      return undefined;
  }
}

/** Hide the password of a postgres:// URL (for messages that must show one). */
export function redactUrl(url: string): string {
  // Up to the last @: an unencoded @ in the password must not leak its tail.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:).*@/i, '$1***@');
}

export function resolveConnection(flag: string | undefined, env: NodeJS.ProcessEnv, source = '--db'): ConnectionSpec {
  const common = { connectionTimeoutMillis: 10_000, application_name: 'opsctl' };
  const url = flag ?? env.DATABASE_URL;
  if (url) {
    const from = flag ? source : 'DATABASE_URL';
    if (!/^postgres(ql)?:\/\//i.test(url)) {
      throw usageError(`${from} must be a postgres:// or postgresql:// URL, got "${redactUrl(url).slice(0, 60)}".`, 'e.g. postgres://user@localhost:5432/app', 'pg-bad-url');
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw usageError(`${from} is not a valid URL: ${redactUrl(url)}`, 'percent-encode special characters in the password (@ → %40, : → %3A)', 'pg-bad-url');
    }
    const q = parsed.searchParams;
    const host = q.get('host') ?? (decodeURIComponent(parsed.hostname) || env.PGHOST || 'localhost');
    const port = Number(q.get('port') ?? (parsed.port || env.PGPORT || 5432));
    const user = decodeURIComponent(parsed.username) || env.PGUSER || os.userInfo().username;
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || env.PGDATABASE || user;
    const sslmode = q.get('sslmode') ?? undefined;
    const config: pg.ClientConfig = {
      ...common,
      host,
      port,
      user,
      database,
      password: parsed.password ? decodeURIComponent(parsed.password) : env.PGPASSWORD,
      ssl: sslmode === 'disable' ? false : sslFromMode(sslmode) ?? (q.get('ssl') === 'true' ? { rejectUnauthorized: false } : undefined),
    };
    return { config, host, port, user, database, display: `${user}@${host}:${port}/${database}`, source: from };
  }
  const user = env.PGUSER || os.userInfo().username;
  const host = env.PGHOST || 'localhost';
  const port = Number(env.PGPORT || 5432);
  const database = env.PGDATABASE || user;
  const config: pg.ClientConfig = { ...common, host, port, user, database, password: env.PGPASSWORD, ssl: env.PGSSLMODE === 'disable' ? false : sslFromMode(env.PGSSLMODE) };
  return { config, host, port, user, database, display: `${user}@${host}:${port}/${database}`, source: 'PG* variables' };
}

interface PgErrorLike {
  code?: string;
  message?: string;
  position?: string;
  errors?: Array<{ code?: string }>;
}

/** Translate a pg / network error into an OpsError. `sql` gives syntax errors their context. */
export function translatePgError(err: unknown, spec: Pick<ConnectionSpec, 'host' | 'port' | 'user' | 'database' | 'source'>, sql?: string): OpsError {
  if (err instanceof OpsError) return err;
  const e = (err ?? {}) as PgErrorLike;
  const code = e.code ?? e.errors?.find((x) => x.code)?.code;
  const msg = firstLine(err instanceof Error || typeof e.message !== 'string' ? err : new Error(e.message));
  const where = `${spec.host}:${spec.port}`;
  const opts = (hint: string | undefined, c: string, exitCode: number = ExitCode.FAILED) => ({ hint, code: c, exitCode, cause: err });
  switch (code) {
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
      return new OpsError(`Password authentication failed for user "${spec.user}".`, opts(`check the password in ${spec.source} (or PGPASSWORD / ~/.pgpass)`, 'pg-auth-failed'));
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
    case '42601': {
      const pos = Number(e.position);
      return new OpsError(`Syntax error in the query: ${msg}.`, opts(sql && pos ? `at character ${pos}: …${sql.slice(Math.max(0, pos - 25), pos - 1)}⟪${sql.slice(pos - 1, pos + 15)}⟫…`.replace(/\s+/g, ' ') : 'check the SQL', 'pg-syntax-error', ExitCode.USAGE));
    }
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
      return new OpsError(`The query is not valid here: ${msg}.`, opts(code === '42P18' || code === '42P02' || code === '08P01' ? 'pass one --param per $n, or none to explain the generic plan' : `checked against database "${spec.database}" (search_path matters for unqualified names)`, 'pg-invalid-query', ExitCode.USAGE));
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
