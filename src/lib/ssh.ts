/**
 * The one way opsctl uses OpenSSH (ecs-ssh, pi --host, cert push ssh): the
 * user's own `ssh` and config decide how a name is reached (`ssh -G`), argv is
 * built as data (never a local shell string), a default ConnectTimeout applies
 * unless the user's config sets one, and exit 255 (ssh's own failure) becomes
 * one line with a hint.
 */
import os from 'node:os';
import { OpsError, firstLine } from './errors.js';
import { shellQuote, type CommandResult, type CommandSpec, type ProcessRunner } from './process.js';

/** Seconds to wait for the TCP connection and the ssh handshake when the config does not say. */
export const DEFAULT_CONNECT_TIMEOUT = 10;

/** What OpenSSH resolves a name to (`ssh -G`), after Include, Match, wildcards and %h. */
export interface SshResolved {
  /** The name asked about. */
  name: string;
  hostname: string;
  user: string;
  port: number;
  proxyJump?: string;
  proxyCommand?: string;
  /** undefined when the config sets none (`connecttimeout none`). */
  connectTimeout?: number;
  /** True when `user` came from the config (or a user@ prefix), not from the local login name. */
  userFromConfig: boolean;
  /** Every key → values as OpenSSH printed them (lowercase keys). */
  raw: Map<string, string[]>;
}

export interface SshTarget {
  /** [user@]host or an alias from the ssh config. */
  host: string;
  /** -l USER (only when the user asked or nothing in the config sets one). */
  user?: string;
  port?: number;
  /** ssh -F FILE. */
  configFile?: string;
  /** Extra `-o Key=Value`. */
  options?: string[];
}

export interface SshArgvOptions {
  /** argv run on the far side; each word quoted for the remote POSIX shell. */
  remote?: string[];
  /** -t (force a TTY), -T (none); default -T. */
  tty?: boolean;
  /** -n: stdin from /dev/null. */
  noStdin?: boolean;
  /** -N: no remote command (port forwarding). */
  noCommand?: boolean;
  /** -L specs (`[bind:]port:host:hostport`). */
  localForwards?: string[];
  /** Add -o ConnectTimeout=N (pass undefined when the config sets its own). */
  connectTimeout?: number;
  /** -o BatchMode=yes: never prompt (unattended paths). */
  batchMode?: boolean;
  /** -o ControlMaster/ControlPath/ControlPersist for a multiplexed session. */
  control?: { path: string; master?: boolean; persist?: string };
  /** -o ExitOnForwardFailure=yes etc. */
  extraOptions?: string[];
}

/** A host argument must never be read by ssh as an option. */
export function assertSshHost(host: string, what = 'ssh host'): void {
  if (host === '' || host.startsWith('-') || /[\s\u0000-\u001f\u007f]/.test(host)) {
    throw new OpsError(`"${escapeForMessage(host)}" is not a valid ${what}.`, { exitCode: 2, code: 'usage', hint: 'use HOST, USER@HOST or an alias from ~/.ssh/config' });
  }
}

function escapeForMessage(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * ssh hands its command to the remote user's login shell as one string, so
 * every argument is single-quoted: the far side receives exactly this argv.
 */
export function remoteCommandLine(argv: string[]): string {
  // zsh (a possible login shell) expands a word starting with "=" to a path.
  return argv
    .map((a) => {
      const q = shellQuote(a);
      return q === a && a.startsWith('=') ? `'${a}'` : q;
    })
    .join(' ');
}

/** `ssh [-F cfg] -t|-T [-n] [-N] [-o …] [-l user] [-p port] [-L …] -- host [command]` as data. */
export function sshCommand(target: SshTarget, opts: SshArgvOptions = {}): CommandSpec {
  assertSshHost(target.host);
  const args: string[] = [];
  if (target.configFile) args.push('-F', target.configFile);
  args.push(opts.tty ? '-t' : '-T');
  if (opts.noStdin) args.push('-n');
  if (opts.noCommand) args.push('-N');
  if (opts.connectTimeout !== undefined) args.push('-o', `ConnectTimeout=${opts.connectTimeout}`);
  if (opts.batchMode) args.push('-o', 'BatchMode=yes');
  if (opts.control) {
    args.push('-o', `ControlPath=${opts.control.path}`);
    if (opts.control.master) args.push('-o', 'ControlMaster=auto', '-o', `ControlPersist=${opts.control.persist ?? '60'}`);
  }
  for (const o of opts.extraOptions ?? []) args.push('-o', o);
  for (const o of target.options ?? []) args.push('-o', o);
  if (target.user) args.push('-l', target.user);
  if (target.port !== undefined) args.push('-p', String(target.port));
  for (const f of opts.localForwards ?? []) args.push('-L', f);
  // `--` ends ssh's options: a host name can never be read as a flag.
  args.push('--', target.host);
  if (opts.remote && opts.remote.length > 0) args.push(remoteCommandLine(opts.remote));
  return { file: 'ssh', args };
}

/** Parse `ssh -G` output. */
export function parseSshG(name: string, text: string, localUser: string): SshResolved {
  const raw = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    raw.set(key, [...(raw.get(key) ?? []), m[2]!]);
  }
  const one = (k: string) => raw.get(k)?.[0];
  const ct = one('connecttimeout');
  const pj = one('proxyjump');
  const pc = one('proxycommand');
  const user = one('user') ?? localUser;
  const atUser = name.includes('@');
  return {
    name,
    hostname: one('hostname') ?? name,
    user,
    port: Number(one('port') ?? 22),
    proxyJump: pj && pj !== 'none' ? pj : undefined,
    proxyCommand: pc && pc !== 'none' ? pc : undefined,
    connectTimeout: ct && ct !== 'none' ? Number(ct) : undefined,
    userFromConfig: atUser || user !== localUser,
    raw,
  };
}

/** Ask OpenSSH how it would reach NAME (`ssh [-F file] -G -- NAME`); connects nowhere. */
export async function resolveSsh(runner: ProcessRunner, name: string, opts: { configFile?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<SshResolved> {
  assertSshHost(name);
  const base = [...(opts.configFile ? ['-F', opts.configFile] : []), '-G'];
  const res = await runner.run({ file: 'ssh', args: [...base, '--', name], env: opts.env, signal: opts.signal, timeoutMs: 10_000 });
  if (res.exitCode !== 0) {
    throw new OpsError(`ssh cannot read its configuration for "${escapeForMessage(name)}": ${firstLine(res.stderr || `exit ${res.exitCode}`)}`, {
      exitCode: 2,
      code: 'ssh-config',
      hint: opts.configFile ? `check ${opts.configFile} with \`ssh -G -F ${opts.configFile} ${name}\`` : `check ~/.ssh/config with \`ssh -G ${name}\``,
    });
  }
  return parseSshG(name, res.stdout, localUserName(opts.env));
}

/**
 * ssh takes the default login name from the password database. A config that
 * sets `User` to that same name is indistinguishable from one that sets none;
 * both reach the same account, so nothing is lost by treating them alike.
 */
function localUserName(env: NodeJS.ProcessEnv | undefined): string {
  try {
    return os.userInfo().username;
  } catch {
    return env?.USER ?? env?.LOGNAME ?? 'root';
  }
}

/** The connect timeout to add: ours unless the user's config sets one. */
export function connectTimeoutFor(resolved: Pick<SshResolved, 'connectTimeout'> | undefined): number | undefined {
  return resolved?.connectTimeout === undefined ? DEFAULT_CONNECT_TIMEOUT : undefined;
}

/**
 * ssh exits 255 for its own failures (cannot resolve, connect, authenticate);
 * any other code is the remote command's. Returns the one-line error for 255.
 */
export function sshFailure(result: Pick<CommandResult, 'exitCode' | 'stderr'>, host: string, opts: { configFile?: string } = {}): OpsError | undefined {
  if (result.exitCode !== 255) return undefined;
  const why = lastMeaningfulLine(result.stderr) || 'the connection failed';
  const cfg = opts.configFile ? ` -F ${opts.configFile}` : '';
  let hint = `check that \`ssh${cfg} ${host}\` works on its own (host name, keys, ~/.ssh/config)`;
  if (/timed out/i.test(why)) hint = `the host did not answer in time: check the address, security group / firewall, or raise ConnectTimeout in your ssh config`;
  else if (/Permission denied/i.test(why)) hint = `the host refused the key: check the user and IdentityFile for ${host} (\`ssh -v${cfg} ${host}\` shows which key was offered)`;
  else if (/Could not resolve hostname/i.test(why)) hint = `the name does not resolve: add a Host entry with HostName to your ssh config, or use the IP`;
  else if (/Connection refused/i.test(why)) hint = `nothing listens on the ssh port there: is sshd running, is the port right?`;
  else if (/Host key verification failed/i.test(why)) hint = `the host key is unknown or changed: check it, then update ~/.ssh/known_hosts`;
  return new OpsError(`Cannot connect to ${escapeForMessage(host)} over ssh: ${escapeForMessage(why)}`, { code: 'ssh-connect', hint });
}

function lastMeaningfulLine(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^Warning: Permanently added/.test(l) && !/^debug\d?:/.test(l));
  return lines[lines.length - 1] ?? '';
}
