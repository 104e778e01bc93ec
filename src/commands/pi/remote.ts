/**
 * A Raspberry Pi over real OpenSSH (the user's ssh, honouring ~/.ssh/config):
 * one multiplexed connection per run, everything as root (sudo -n when the
 * login is not root), every argument shell-quoted, file contents and paths
 * base64-encoded on the wire, writes atomic on the far side.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OpsError, firstLine } from '../../lib/errors.js';
import { shellQuote, type CommandResult, type ProcessRunner } from '../../lib/process.js';
import { connectTimeoutFor, resolveSsh, sshCommand, sshFailure, type SshTarget } from '../../lib/ssh.js';
import { limitedArgv, type Entry, type TargetCommand, type TargetSystem } from './target.js';

export interface RemoteTargetOptions {
  runner: ProcessRunner;
  /** [user@]host or an alias from ~/.ssh/config. */
  host: string;
  /** ssh -F file (default: ssh's own, i.e. ~/.ssh/config). */
  sshConfig?: string;
  /** Alternate root on the far side (--host with --root). */
  root?: string;
  /**
   * Run commands even though files go under `root`. Only the remote test suite
   * sets this, so commands reach recording programs while files stay in a temp dir.
   */
  liveUnderRoot?: boolean;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

// Resolves $1 inside the root $R the way the Pi's kernel would with $R as /
// (relative link targets from the link's directory, absolute ones from $R,
// ".." never above $R); $2=1 follows the last component too. Sets r.
const RESOLVE = `res() {
_rr=\${1#/}; _rc=; _rn=0
while [ -n "$_rr" ]; do
  case $_rr in */*) _rk=\${_rr%%/*}; _rr=\${_rr#*/} ;; *) _rk=$_rr; _rr= ;; esac
  case $_rk in ''|.) continue ;; ..) _rc=\${_rc%/*}; continue ;; esac
  if [ -z "$_rr" ] && [ "$2" = 0 ]; then _rc=$_rc/$_rk; break; fi
  if [ -L "$R$_rc/$_rk" ]; then
    _rn=$((_rn+1)); [ $_rn -le 40 ] || return 1
    _rt=$(readlink "$R$_rc/$_rk")
    case $_rt in /*) _rc= ;; esac
    _rr=\${_rt#/}\${_rr:+/$_rr}
  else _rc=$_rc/$_rk; fi
done
r=$R$_rc
}`;
// Reads each path given as an argument (after the root): one line per path,
// base64 so any bytes survive; a symlink line carries what it resolves to.
const READ_SCRIPT = `R=$1; shift; [ "$R" = / ] && R=
${RESOLVE}
ent() { if [ -f "$1" ]; then printf 'F %s %s\\n' "$(stat -c %a:%u:%g "$1")" "$(base64 -w0 < "$1")"; elif [ -d "$1" ]; then echo D; else echo N; fi; }
for p in "$@"; do
  if ! res "$p" 0; then echo N; continue; fi
  if [ -L "$r" ]; then
    l=$(printf %s "$(readlink "$r")" | base64 -w0)
    if res "$p" 1 && [ ! -L "$r" ]; then printf 'L %s ' "$l"; ent "$r"; else printf 'L %s N\\n' "$l"; fi
  else ent "$r"; fi
done`;
// File operations read from stdin, one per line, every field base64 so no byte
// of a path or content is ever interpreted by the shell. Writes are atomic:
// temp file in the same directory, owner and mode set, then rename.
const FILES_SCRIPT = `set -e
R=$1; [ "$R" = / ] && R=
${RESOLVE}
t=
trap '[ -z "$t" ] || rm -f "$t"' EXIT
while read -r op a b c; do
  res "$(printf %s "$a" | base64 -d)" 0; p=$r
  case "$op" in
  W) d=$(dirname "$p"); mkdir -p "$d"; t=$(mktemp "$d/.opsctl.XXXXXX"); printf %s "$c" | base64 -d > "$t"
     o=\${b#*:}; [ "$o" = "$b" ] || chown "$o" "$t"; chmod "\${b%%:*}" "$t"; mv -f "$t" "$p"; t= ;;
  L) mkdir -p "$(dirname "$p")"; ln -sfn "$(printf %s "$b" | base64 -d)" "$p" ;;
  R) if [ "$b" = tree ]; then rm -rf -- "$p"; else rm -f -- "$p"; fi ;;
  esac
done`;
const MARK = '\x1eopsctl-exit';

export function remoteTarget(opts: RemoteTargetOptions): TargetSystem {
  if (!/^([A-Za-z0-9._][A-Za-z0-9._-]*@)?[A-Za-z0-9._:[\]-]+$/.test(opts.host) || opts.host.startsWith('-')) {
    throw new OpsError(`"${opts.host}" is not a valid ssh host.`, { exitCode: 2, code: 'usage', hint: 'use HOST, USER@HOST or an alias from ~/.ssh/config' });
  }
  const root = opts.root ? path.posix.resolve(opts.root) : '/';
  // One connection for the whole run (a setup is a few dozen round trips), closed in close().
  // Short path: a unix socket path must stay under ~104 bytes (macOS tmpdirs are long).
  const controlDir = mkdtempSync(path.join(existsSync('/tmp') ? '/tmp' : os.tmpdir(), 'opsctl-ssh-'));
  const controlPath = `${controlDir}/%C`;
  const sshTarget: SshTarget = { host: opts.host, configFile: opts.sshConfig };
  let connectTimeout: Promise<number | undefined> | undefined;
  let uidCache: number | undefined;
  let userCache: string | undefined;
  let closed = false;

  const ssh = async (remoteArgv: string[], input?: string): Promise<CommandResult> => {
    // Our ConnectTimeout unless the user's own config sets one (asked of `ssh -G` once).
    connectTimeout ??= resolveSsh(opts.runner, opts.host, { configFile: opts.sshConfig, env: opts.env }).then(connectTimeoutFor);
    const spec = sshCommand(sshTarget, { remote: remoteArgv, connectTimeout: await connectTimeout, batchMode: true, control: { path: controlPath, master: true, persist: '120' } });
    const res = await opts.runner.run({ ...spec, input, env: opts.env, signal: opts.signal });
    const failure = sshFailure(res, opts.host, { configFile: opts.sshConfig });
    if (failure) throw failure;
    return res;
  };
  const exitArgs = () => [...(opts.sshConfig ? ['-F', opts.sshConfig] : []), '-o', `ControlPath=${controlPath}`, '-O', 'exit', '--', opts.host];
  const uid = async () => {
    if (uidCache === undefined) {
      const res = await ssh(['sh', '-c', 'id -u; id -un']);
      const [u, name] = res.stdout.trim().split('\n');
      // Number('') is 0: an empty answer must not pass for root (and skip sudo).
      uidCache = /^\d+$/.test(u ?? '') ? Number(u) : NaN;
      userCache = name;
      if (res.exitCode !== 0 || !Number.isInteger(uidCache)) {
        uidCache = undefined;
        throw new OpsError(`unexpected answer from ${opts.host} to \`id -u\`: ${firstLine(res.stdout + res.stderr || `exit ${res.exitCode}`)}`, {
          code: 'remote-shell',
          hint: `check that \`ssh ${opts.host} id -u\` prints a number (a login banner or a restricted shell gets in the way)`,
        });
      }
    }
    return uidCache;
  };
  // Everything on the far side runs as root: directly when we log in as root, else via sudo -n.
  const asRoot = async (argv: string[], input?: string): Promise<CommandResult> => {
    const prefix = (await uid()) === 0 ? [] : ['sudo', '-n', '--'];
    const res = await ssh([...prefix, ...argv], input);
    if (prefix.length && res.exitCode !== 0 && /sudo: (a password is required|a terminal is required)/.test(res.stderr)) {
      throw new OpsError(`sudo on ${opts.host} wants a password, and opsctl runs it non-interactively.`, {
        hint: `log in as root (--host root@…), or allow ${userCache ?? 'the user'} passwordless sudo (e.g. a NOPASSWD line in /etc/sudoers.d/)`,
        code: 'sudo-password',
      });
    }
    return res;
  };
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const withEnv = (cmd: TargetCommand) => [...(cmd.env ? ['env', ...Object.entries(cmd.env).map(([k, v]) => `${k}=${v}`)] : []), ...limitedArgv(cmd)];

  const target: TargetSystem = {
    kind: 'remote',
    label: opts.root ? `${opts.host} (root ${root})` : opts.host,
    live: !opts.root || Boolean(opts.liveUnderRoot),
    root,
    async read(paths) {
      const res = await asRoot(['sh', '-c', READ_SCRIPT, 'sh', root, ...paths]);
      if (res.exitCode !== 0) throw new OpsError(`reading files on ${opts.host} failed: ${firstLine(res.stderr)}`, { code: 'remote-file' });
      const lines = res.stdout.split('\n');
      const out = new Map<string, Entry>();
      paths.forEach((p, i) => out.set(p, parseReadLine(lines[i] ?? '')));
      return out;
    },
    async applyFiles(ops) {
      if (!ops.length) return;
      const input = ops
        .map((o) => (o.op === 'write' ? `W ${b64(o.path)} ${o.mode.toString(8)}${o.uid !== undefined ? `:${o.uid}:${o.gid ?? o.uid}` : ''} ${b64(o.content)}` : o.op === 'link' ? `L ${b64(o.path)} ${b64(o.target)}` : `R ${b64(o.path)} ${o.tree ? 'tree' : 'file'}`))
        .join('\n') + '\n';
      const res = await asRoot(['sh', '-c', FILES_SCRIPT, 'sh', root], input);
      if (res.exitCode !== 0) throw new OpsError(`changing files on ${opts.host} failed: ${firstLine(res.stderr || res.stdout)}`, { code: 'remote-file', hint: ops.map((o) => o.path).join(', ') });
    },
    async exec(cmd) {
      return asRoot(withEnv(cmd), cmd.input);
    },
    async execMany(cmds) {
      if (!cmds.length) return [];
      // Each command quoted argument by argument; a marker line after each carries its exit code.
      const script = cmds
        .map((c, i) => `{ ${withEnv(c).map(shellQuote).join(' ')}; } </dev/null 2>&1; s=$?; printf '\\n${MARK} %d %d\\n' ${i} $s; ${c.optional ? '' : '[ $s -eq 0 ] || exit 0; '}`)
        .join('\n');
      const res = await asRoot(['sh', '-c', script]);
      const out: CommandResult[] = [];
      let rest = res.stdout;
      for (;;) {
        const m = new RegExp(`\\n${MARK} (\\d+) (\\d+)\\n`).exec(rest);
        if (!m) break;
        out.push({ exitCode: Number(m[2]), stdout: rest.slice(0, m.index), stderr: '' });
        rest = rest.slice(m.index + m[0].length);
      }
      if (out.length === 0 && res.exitCode !== 0) throw new OpsError(`running commands on ${opts.host} failed: ${firstLine(res.stderr || res.stdout)}`, { code: 'remote-exec' });
      return out;
    },
    uid,
    async invokingUser() {
      await uid();
      return userCache && userCache !== 'root' ? userCache : undefined;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (existsSync(controlDir) && readdirSync(controlDir).length) await opts.runner.run({ file: 'ssh', args: exitArgs(), env: opts.env, timeoutMs: 5000 }).catch(() => undefined);
      rmSync(controlDir, { recursive: true, force: true });
    },
    closeSync() {
      // On SIGTERM/SIGHUP or exit: no event loop left for close(). The master would otherwise live on for ControlPersist.
      if (closed) return;
      closed = true;
      if (existsSync(controlDir) && readdirSync(controlDir).length) spawnSync('ssh', exitArgs(), { env: opts.env, stdio: 'ignore', timeout: 5000 });
      rmSync(controlDir, { recursive: true, force: true });
    },
  };
  return target;
}

export function parseReadLine(line: string): Entry {
  const [tag, a, ...rest] = line.split(' ');
  if (tag === 'L') {
    const resolved = parseReadLine(rest.join(' '));
    return { type: 'symlink', target: Buffer.from(a ?? '', 'base64').toString('utf8'), resolved: resolved.type === 'symlink' ? { type: 'missing' } : resolved };
  }
  if (tag === 'F') {
    const [mode, uid, gid] = (a ?? '644').split(':');
    return { type: 'file', mode: parseInt(mode ?? '644', 8), ...(uid !== undefined ? { uid: Number(uid), gid: Number(gid) } : {}), content: Buffer.from(rest[0] ?? '', 'base64').toString('utf8') };
  }
  if (tag === 'D') return { type: 'dir' };
  return { type: 'missing' };
}
