import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import SSHConfig from 'ssh-config';
import { usageError } from '../../lib/errors.js';

/** One `Host` block of the user's ssh config: its literal aliases and HostName. */
export interface SshHostEntry {
  aliases: string[];
  hostName?: string;
}

export interface SshConfigHosts {
  /** The file read ("" when there was none). */
  file: string;
  entries: SshHostEntry[];
}

/** How the ssh host was chosen, most specific first. */
export type HostSource = 'name-tag-alias' | 'hostname-alias' | 'private-ip' | 'public-ip';

export interface InstanceAddresses {
  nameTag?: string;
  privateIp?: string;
  privateDns?: string;
  publicIp?: string;
  publicDns?: string;
}

export interface SshHostChoice {
  host: string;
  source: HostSource;
  /** Set when ssh must log in as a given user (IP fallback, or --user). */
  user?: string;
}

/**
 * Read an ssh config (default ~/.ssh/config) for its Host aliases, following
 * Include lines. A missing default file is an empty config; a missing
 * explicit one (--ssh-config) is an error.
 */
export function readSshConfigHosts(explicit: string | undefined, home: string): SshConfigHosts {
  const sshDir = path.join(home, '.ssh');
  const file = explicit ? path.resolve(expandHome(explicit, home)) : path.join(sshDir, 'config');
  if (!existsSync(file)) {
    if (explicit) throw usageError(`ssh config file ${file} does not exist.`, 'check --ssh-config (or ecs.sshConfig in the opsctl config)', 'ssh-config-missing');
    return { file: '', entries: [] };
  }
  const entries: SshHostEntry[] = [];
  const seen = new Set<string>();
  const visit = (f: string, depth: number) => {
    if (depth > 16 || seen.has(f)) return;
    seen.add(f);
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (err) {
      if (f === file) throw usageError(`Cannot read ssh config ${f}: ${(err as Error).message}`, undefined, 'ssh-config-unreadable');
      return;
    }
    let parsed: SSHConfig;
    try {
      parsed = SSHConfig.parse(text);
    } catch (err) {
      throw usageError(`Cannot parse ssh config ${f}: ${(err as Error).message}`, undefined, 'ssh-config-malformed');
    }
    const includes = (line: SSHConfig[number]) => {
      if (line.type !== SSHConfig.DIRECTIVE || line.param.toLowerCase() !== 'include') return;
      for (const pattern of values(line.value)) for (const inc of expandInclude(pattern, sshDir, home)) visit(inc, depth + 1);
    };
    for (const line of parsed) {
      includes(line);
      if (line.type !== SSHConfig.DIRECTIVE || !('config' in line)) continue;
      if (line.param.toLowerCase() !== 'host') continue;
      const aliases = values(line.value).filter((p) => !/[*?!]/.test(p));
      let hostName: string | undefined;
      for (const inner of line.config) {
        if (inner.type !== SSHConfig.DIRECTIVE) continue;
        if (inner.param.toLowerCase() === 'hostname' && hostName === undefined) hostName = values(inner.value)[0];
        includes(inner);
      }
      if (aliases.length > 0) entries.push({ aliases, hostName });
    }
  };
  visit(file, 0);
  return { file, entries };
}

/**
 * Pick the ssh host for an instance, the way a person would: its Name tag
 * when that is an alias in the ssh config, else an alias whose HostName is
 * one of the instance's addresses, else the bare IP (private, or public with
 * --public) as the fallback user.
 */
export function chooseSshHost(addr: InstanceAddresses, hosts: SshConfigHosts, opts: { public: boolean; fallbackUser: string; user?: string }): SshHostChoice | undefined {
  const lc = (s: string) => s.toLowerCase();
  if (addr.nameTag) {
    const tag = lc(addr.nameTag);
    for (const e of hosts.entries) {
      const alias = e.aliases.find((a) => lc(a) === tag);
      if (alias) return { host: alias, source: 'name-tag-alias', user: opts.user };
    }
  }
  const mine = [addr.privateIp, addr.privateDns, addr.publicIp, addr.publicDns].filter((a): a is string => Boolean(a)).map(lc);
  for (const e of hosts.entries) {
    if (e.hostName && !e.hostName.includes('%') && mine.includes(lc(e.hostName))) return { host: e.aliases[0]!, source: 'hostname-alias', user: opts.user };
  }
  // The bare-IP fallback takes the address from the API: only a real IP is handed to ssh.
  const ip = opts.public ? addr.publicIp : addr.privateIp;
  if (!ip || !isIP(ip)) return undefined;
  return { host: ip, source: opts.public ? 'public-ip' : 'private-ip', user: opts.user ?? opts.fallbackUser };
}

function values(v: SSHConfig[number] extends infer L ? (L extends { value: infer V } ? V : never) : never): string[] {
  if (typeof v === 'string') return v.split(/\s+/).filter(Boolean);
  return (v as Array<{ val: string }>).map((x) => x.val);
}

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

/** Include paths: ~ expanded, relative to ~/.ssh, with * and ? globs in the last component. */
function expandInclude(pattern: string, sshDir: string, home: string): string[] {
  const p = expandHome(pattern, home);
  const abs = path.isAbsolute(p) ? p : path.join(sshDir, p);
  const base = path.basename(abs);
  if (!/[*?]/.test(base)) return [abs];
  const dir = path.dirname(abs);
  const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  try {
    return readdirSync(dir)
      .filter((n) => re.test(n))
      .sort()
      .map((n) => path.join(dir, n));
  } catch {
    return [];
  }
}
