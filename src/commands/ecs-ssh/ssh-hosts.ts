/**
 * Which ssh destination reaches a task's EC2 host. OpenSSH decides: every
 * candidate name (the instance's Name tag, then the literal Host names of the
 * user's config files, Includes followed) is put to `ssh -G`, and a name is
 * used only when what OpenSSH resolves it to is one of *this* instance's
 * addresses (or it jumps through a host the user's config names). Otherwise
 * the instance's own IP. The config files are scanned only to find names to
 * ask about; nothing in them is interpreted here.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import { usageError } from '../../lib/errors.js';
import type { ProcessRunner } from '../../lib/process.js';
import { resolveSsh, type SshResolved } from '../../lib/ssh.js';
import { escapeLine } from '../../lib/terminal.js';

export interface SshConfigScan {
  /** The explicit config (--ssh-config) as ssh -F gets it, ~ expanded; undefined for ssh's defaults. */
  configFile?: string;
  /** Literal names from `Host` lines, in file order (patterns and negations left out). */
  hostNames: string[];
  /** Every value of a `User` line: tells a config's `User me` from ssh's default login name. */
  userValues: Set<string>;
}

/** How the ssh host was chosen, most specific first. */
export type HostSource = 'name-tag' | 'name-tag-jump' | 'hostname-alias' | 'private-ip' | 'public-ip';

export interface InstanceAddresses {
  id?: string;
  nameTag?: string;
  privateIp?: string;
  privateDns?: string;
  publicIp?: string;
  publicDns?: string;
}

export interface SshHostChoice {
  host: string;
  source: HostSource;
  /** -l USER: --user, or the fallback user when nothing in the config sets one. */
  user?: string;
  /** What `ssh -G host` said. */
  resolved: SshResolved;
  /** A jump host carried over from the Name tag's config to the instance's IP (`-o ProxyJump=`). */
  proxyJump?: string;
  /** One line: why this destination. */
  why: string;
}

/** Scan the config ssh would read (explicit file, else ~/.ssh/config and /etc/ssh/ssh_config) for Host names. */
export function scanSshConfig(explicit: string | undefined, home: string): SshConfigScan {
  const userDir = path.join(home, '.ssh');
  const scan: SshConfigScan = { hostNames: [], userValues: new Set() };
  const seen = new Set<string>();
  const visit = (file: string, baseDir: string, depth: number, required: boolean) => {
    if (depth > 16 || seen.has(file)) return;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (required) throw usageError(`Cannot read ssh config ${file}: ${(err as Error).message}`, undefined, 'ssh-config-unreadable');
      return;
    }
    for (const raw of text.split(/\r?\n/)) {
      const words = configWords(raw);
      if (words.length < 2) continue;
      const key = words[0]!.toLowerCase();
      if (key === 'host') {
        for (const w of words.slice(1)) if (!/[*?!]/.test(w) && !scan.hostNames.includes(w)) scan.hostNames.push(w);
      } else if (key === 'user') {
        scan.userValues.add(words[1]!);
      } else if (key === 'include') {
        for (const pattern of words.slice(1)) for (const f of expandInclude(pattern, baseDir, home)) visit(f, baseDir, depth + 1, false);
      }
    }
  };
  if (explicit) {
    const file = path.resolve(expandHome(explicit, home));
    if (!existsSync(file)) throw usageError(`ssh config file ${file} does not exist.`, 'check --ssh-config (or ecs.sshConfig in the opsctl config)', 'ssh-config-missing');
    scan.configFile = file;
    visit(file, userDir, 0, true);
  } else {
    visit(path.join(userDir, 'config'), userDir, 0, false);
    visit('/etc/ssh/ssh_config', '/etc/ssh', 0, false);
  }
  return scan;
}

/** `Key value…` or `Key=value`, with "double quotes" and # comments, as ssh_config(5) splits them. */
function configWords(line: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|([^\s"=]+)|=/g;
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return words;
  let m: RegExpExecArray | null;
  while ((m = re.exec(trimmed))) {
    if (m[0] === '=') continue;
    if (m[2]?.startsWith('#')) break;
    words.push(m[1] ?? m[2]!);
  }
  return words;
}

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

/** Include paths: ~ expanded, relative to ~/.ssh (or /etc/ssh), globs in the last component. */
function expandInclude(pattern: string, baseDir: string, home: string): string[] {
  const p = expandHome(pattern, home);
  const abs = path.isAbsolute(p) ? p : path.join(baseDir, p);
  const base = path.basename(abs);
  if (!/[*?[]/.test(base)) return [abs];
  const dir = path.dirname(abs);
  const re = new RegExp(`^${base.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  try {
    return readdirSync(dir)
      .filter((n) => re.test(n))
      .sort()
      .map((n) => path.join(dir, n));
  } catch {
    return [];
  }
}

/**
 * `ssh -G` answers, asked at most once per name and a few at a time; the
 * config's own Host names are asked about while the AWS calls are in flight.
 */
export class SshResolver {
  private readonly answers = new Map<string, Promise<SshResolved | undefined>>();
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(
    private readonly runner: ProcessRunner,
    readonly scan: SshConfigScan,
    private readonly opts: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; concurrency?: number } = {},
  ) {}

  /** Start asking about `names` (default: the first few literal Host names of the config) before they are needed. */
  prewarm(names: string[] = this.scan.hostNames.slice(0, 8)): void {
    for (const name of names) void this.resolve(name).catch(() => undefined);
  }

  /** undefined when the name cannot be an ssh destination (spaces, a leading "-": Name tags can hold anything). */
  resolve(name: string): Promise<SshResolved | undefined> {
    let answer = this.answers.get(name);
    if (!answer) {
      answer = usableName(name) ? this.limited(() => resolveSsh(this.runner, name, { configFile: this.scan.configFile, env: this.opts.env, signal: this.opts.signal })) : Promise.resolve(undefined);
      this.answers.set(name, answer);
    }
    return answer;
  }

  /** True when the config, not ssh's default login name, gives this user. */
  userFromConfig(r: SshResolved): boolean {
    return r.userFromConfig || this.scan.userValues.has(r.user);
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    const max = this.opts.concurrency ?? 4;
    if (this.running >= max) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.running += 1;
    try {
      return await work();
    } finally {
      this.running -= 1;
      this.queue.shift()?.();
    }
  }
}

/**
 * net.isIP(s) !== 0, without its IPv6 test for strings that cannot be one: that regex costs ~4 ms
 * of CPU to build on first use, and most names checked here are Name tags and IPv4 addresses.
 */
export const ipLiteral = (s: string): boolean => isIPv4(s) || (s.includes(':') && isIPv6(s));

const usableName = (name: string) => name !== '' && !name.startsWith('-') && !/[\s\u0000-\u001f\u007f@%]/.test(name) && name.length <= 255;

export interface ChooseOptions {
  public: boolean;
  fallbackUser: string;
  user?: string;
  /** Other instances of this lookup carry the same Name tag: the name alone cannot tell them apart. */
  sharedNameTag?: boolean;
  /** Look a resolved DNS name up to compare its addresses (default true; tests of print mode turn it off). */
  dnsLookup?: (host: string) => Promise<string[]>;
}

/**
 * The destination for one instance: the Name tag when OpenSSH resolves it to
 * this instance (or through a jump host), else a config alias whose resolved
 * HostName is one of its addresses, else its IP (private, or --public).
 */
export async function chooseSshHost(addr: InstanceAddresses, resolver: SshResolver, opts: ChooseOptions): Promise<SshHostChoice | undefined> {
  const tag = addr.nameTag === undefined ? undefined : escapeLine(addr.nameTag);
  const mine = new Set([addr.privateIp, addr.privateDns, addr.publicIp, addr.publicDns].filter((a): a is string => Boolean(a)).map((a) => a.toLowerCase()));
  const ips = new Set([addr.privateIp, addr.publicIp].filter((a): a is string => Boolean(a)));
  const lookup = opts.dnsLookup ?? lookupAll;
  const userFor = (r: SshResolved, inherited?: SshResolved) =>
    opts.user ?? (resolver.userFromConfig(r) ? undefined : inherited && resolver.userFromConfig(inherited) ? inherited.user : opts.fallbackUser);
  /** "how" when `r` reaches this instance, else undefined. */
  const reaches = async (r: SshResolved): Promise<string | undefined> => {
    const h = r.hostname.toLowerCase();
    if (mine.has(h)) return `its HostName ${r.hostname} is this instance's address`;
    // An IP of another machine, or a name only the jump host resolves.
    if (ipLiteral(h) || r.proxyJump || r.proxyCommand) return undefined;
    // A HostName the config made up (`%h.internal.example.com`): does DNS put it on this instance?
    if (h === r.name.toLowerCase()) return undefined;
    const found = await lookup(r.hostname);
    const hit = found.find((a) => ips.has(a));
    return hit ? `${r.hostname} resolves to ${hit}, this instance's address` : undefined;
  };

  let tagResolved: SshResolved | undefined;
  if (addr.nameTag) {
    tagResolved = await resolver.resolve(addr.nameTag);
    if (tagResolved) {
      const how = await reaches(tagResolved);
      if (how) return { host: addr.nameTag, source: 'name-tag', user: userFor(tagResolved), resolved: tagResolved, why: `ssh config: Name tag "${tag}" → ${how}` };
      const jumps = tagResolved.proxyJump ?? (tagResolved.proxyCommand ? 'a ProxyCommand' : undefined);
      const farName = !ipLiteral(tagResolved.hostname) && !mine.has(tagResolved.hostname.toLowerCase());
      if (jumps && farName && !opts.sharedNameTag) {
        return { host: addr.nameTag, source: 'name-tag-jump', user: userFor(tagResolved), resolved: tagResolved, why: `ssh config: Name tag "${tag}" is reached through ${jumps} (HostName ${tagResolved.hostname})` };
      }
    }
  }
  // Asked four at a time, taken in file order (the first matching Host wins, as a person reads the file).
  const others = resolver.scan.hostNames.filter((n) => n !== addr.nameTag);
  const answers = others.map((n) => resolver.resolve(n).then((r) => ({ r }), (error: unknown) => ({ error })));
  for (const [i, name] of others.entries()) {
    const answer = await answers[i]!;
    if ('error' in answer) throw answer.error;
    const r = answer.r;
    if (!r || !mine.has(r.hostname.toLowerCase())) continue;
    return { host: name, source: 'hostname-alias', user: userFor(r), resolved: r, why: `ssh config: Host ${name} has HostName ${r.hostname}, this instance's address` };
  }
  // The bare-IP fallback takes the address from the API: only a real IP is handed to ssh.
  const ip = opts.public ? addr.publicIp : addr.privateIp;
  if (!ip || !ipLiteral(ip)) return undefined;
  const r = await resolver.resolve(ip);
  if (!r) return undefined;
  const inheritJump = !r.proxyJump && !r.proxyCommand && tagResolved?.proxyJump ? tagResolved.proxyJump : undefined;
  const shared = opts.sharedNameTag && addr.nameTag ? ` (Name tag "${tag}" is shared with other instances)` : addr.nameTag ? ` (no ssh config entry resolves Name tag "${tag}" to it)` : ' (no Name tag)';
  return {
    host: ip,
    source: opts.public ? 'public-ip' : 'private-ip',
    user: userFor(r, inheritJump ? tagResolved : undefined),
    resolved: r,
    proxyJump: inheritJump,
    why: `${opts.public ? 'public' : 'private'} IP of ${addr.id ?? 'the instance'}${shared}${inheritJump ? `, through ${inheritJump} like "${tag}"` : ''}`,
  };
}

async function lookupAll(host: string): Promise<string[]> {
  const timeout = new Promise<string[]>((resolve) => setTimeout(() => resolve([]), 500).unref());
  // Loaded only for a HostName that needs a DNS answer (most configs never do).
  const { promises: dns } = await import('node:dns');
  const answer = dns.lookup(host, { all: true }).then(
    (list) => list.map((a) => a.address),
    () => [] as string[],
  );
  return Promise.race([answer, timeout]);
}
