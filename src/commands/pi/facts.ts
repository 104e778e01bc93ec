/**
 * What the target looks like now, read in as few round trips as possible: one
 * batch of file reads, then dpkg-query / apt-get -s / systemctl / pgrep on live
 * systems (an alternate root has no running system: its dpkg status file is read instead).
 */
import { contentOf, type Entry, type TargetSystem } from './target.js';
import { withTimeout } from './timeouts.js';
import { lingerPath, pipewirePaths, PIPEWIRE_SETUP_PACKAGES } from './pipewire.js';
import { EXTRA_PACKAGES, PACKAGES, PATHS, PIPEWIRE_PACKAGES, PIPEWIRE_USER_UNITS, PULSE_USER_UNITS, connectWantsPath, timerWantsPath } from './recipe.js';

export interface Manifest {
  version: 1;
  /** Every path setup changed: whether it existed, where its backup is. */
  files: Record<string, { existed: boolean; backup?: string; mode?: number; uid?: number; gid?: number; link?: string; sha256?: string }>;
  /** sha256 of what setup wrote to each path, so uninstall can tell a user's later edit from its own. */
  written?: Record<string, string>;
  /** Group memberships setup added (uninstall takes them away again). */
  groups: Array<{ user: string; group: string }>;
  /** Packages setup installed (left installed by uninstall). */
  packages: string[];
  speakers: string[];
  /** Which sound server setup configured, and for whom (PipeWire runs per user). */
  soundServer?: 'pulseaudio' | 'pipewire';
  user?: string;
}

export interface OsInfo {
  id: string;
  idLike: string[];
  prettyName: string;
  codename?: string;
}

export interface Facts {
  os?: OsInfo;
  /** dpkg's architecture (arm64, armhf, amd64…), when known. */
  arch?: string;
  hasApt: boolean;
  hasSystemctl: boolean;
  systemdRunning: boolean;
  /** Installed package name → version. */
  installed: Map<string, string>;
  /** PipeWire pieces found, and what installing PulseAudio would remove. */
  pipewire: { packages: string[]; userUnits: string[]; running: string[]; wouldRemove: string[] };
  files: Map<string, Entry>;
  groups: Map<string, string[]>;
  users: Set<string>;
  uid: number;
  invokingUser?: string;
  manifest?: Manifest;
  /** Live only: `systemctl is-active` per unit. */
  active: Map<string, string>;
}

export const userUnitPath = (unit: string) => `${PATHS.userUnitDir}/${unit}`;

/**
 * /etc/gshadow is read only under --root, where setup edits it directly: on a
 * live system usermod does that, and `status` must work without root (gshadow is 0640).
 */
export function pathsToRead(speakers: string[], live = true): string[] {
  return [
    PATHS.osRelease,
    PATHS.osReleaseFallback,
    PATHS.aptGet,
    ...PATHS.systemctl,
    PATHS.systemdRunning,
    PATHS.passwd,
    PATHS.group,
    ...(live ? [] : [PATHS.gshadow]),
    PATHS.service,
    PATHS.serviceWants,
    PATHS.connectTemplate,
    PATHS.connectTimer,
    PATHS.connectScript,
    PATHS.clientConf,
    PATHS.bluetoothPa,
    PATHS.systemPa,
    PATHS.dbusPolicy,
    PATHS.mainConf,
    PATHS.manifest,
    ...[...PULSE_USER_UNITS, ...PIPEWIRE_USER_UNITS].map(userUnitPath),
    ...PIPEWIRE_USER_UNITS.map((u) => `${PATHS.vendorUserUnitDir}/${u}`),
    ...speakers.flatMap((m) => [connectWantsPath(m), timerWantsPath(m)]),
  ];
}

export async function gatherFacts(target: TargetSystem, opts: { speakers?: string[]; units?: string[]; user?: string } = {}): Promise<Facts> {
  const uid = await target.uid();
  const invokingUser = await target.invokingUser();
  const extra: string[] = target.live ? [] : [PATHS.dpkgStatus];
  // The user's linger flag (PipeWire path); only a valid name becomes a path.
  const user = opts.user ?? invokingUser;
  if (user && /^[a-z_][a-z0-9_-]{0,31}$/.test(user)) extra.push(lingerPath(user));
  let files = await target.read([...pathsToRead(opts.speakers ?? [], target.live), ...pipewirePaths(), ...extra]);
  const manifest = parseManifest(files.get(PATHS.manifest));
  // Speakers an earlier setup recorded: their boot links are read too.
  const more = [...(manifest?.speakers ?? []).flatMap((m) => [connectWantsPath(m), timerWantsPath(m)]), ...(manifest?.user ? [lingerPath(manifest.user)] : [])].filter((p) => !files.has(p));
  if (more.length) files = new Map([...files, ...(await target.read(more))]);
  const text = (p: string) => contentOf(files.get(p));
  // os-release(5): /etc/os-release, else /usr/lib/os-release.
  const os = parseOsRelease(text(PATHS.osRelease) ?? text(PATHS.osReleaseFallback));
  const { groups, users } = parseAccounts(text(PATHS.group), text(PATHS.passwd));
  const hasApt = files.get(PATHS.aptGet)?.type === 'file' || files.get(PATHS.aptGet)?.type === 'symlink';
  const hasSystemctl = PATHS.systemctl.some((p) => files.get(p)?.type === 'file' || files.get(p)?.type === 'symlink');
  const userUnits = PIPEWIRE_USER_UNITS.filter((u) => files.get(`${PATHS.vendorUserUnitDir}/${u}`)?.type === 'file');

  let installed = new Map<string, string>();
  let running: string[] = [];
  let wouldRemove: string[] = [];
  const active = new Map<string, string>();
  const wanted = [...new Set([...PACKAGES, ...PIPEWIRE_PACKAGES, ...EXTRA_PACKAGES, ...PIPEWIRE_SETUP_PACKAGES])];
  let arch: string | undefined;
  if (target.live) {
    if (hasApt || hasSystemctl) {
      // One round trip for all the questions.
      const units = opts.units ?? [];
      const [q, pg, ar, ...states] = await target.execMany([
        { argv: ['dpkg-query', '-W', '-f=${Package}\\t${db:Status-Abbrev}\\t${Version}\\n', ...wanted], optional: true },
        { argv: ['pgrep', '-l', '-x', 'pipewire-pulse|wireplumber'], optional: true },
        { argv: ['dpkg', '--print-architecture'], optional: true },
        ...units.map((u) => withTimeout({ argv: ['systemctl', 'is-active', u], optional: true }, 10)),
      ]);
      if (ar?.exitCode === 0 && /^[a-z0-9-]+$/.test(ar.stdout.trim())) arch = ar.stdout.trim();
      installed = parseDpkgQuery(q?.stdout ?? '');
      running = [...new Set((pg?.exitCode === 0 ? pg.stdout : '').split('\n').map((l) => l.trim().split(/\s+/)[1]).filter((x): x is string => Boolean(x)))];
      units.forEach((u, i) => active.set(u, states[i]?.stdout.trim().split('\n').pop() || 'unknown'));
    }
  } else {
    installed = parseDpkgStatus(text(PATHS.dpkgStatus) ?? '', wanted);
    arch = dpkgArch(text(PATHS.dpkgStatus) ?? '');
  }
  const pwPackages = PIPEWIRE_PACKAGES.filter((p) => installed.has(p));
  const missing = PACKAGES.filter((p) => !installed.has(p));
  if (pwPackages.length && missing.length) {
    if (target.live) {
      const sim = await target.exec({ argv: ['apt-get', 'install', '-s', '-y', ...missing] });
      wouldRemove = parseAptSimulation(sim.stdout);
    } else {
      wouldRemove = removedByInstalling(text(PATHS.dpkgStatus) ?? '', missing);
    }
  }
  return {
    os,
    arch,
    hasApt,
    hasSystemctl,
    systemdRunning: files.get(PATHS.systemdRunning)?.type === 'dir',
    installed,
    pipewire: { packages: pwPackages, userUnits, running, wouldRemove },
    files,
    groups,
    users,
    uid,
    invokingUser,
    manifest,
    active,
  };
}

export function parseManifest(e: Entry | undefined): Manifest | undefined {
  if (e?.type !== 'file') return undefined;
  try {
    const m = JSON.parse(e.content) as Manifest;
    return m && m.version === 1 ? { version: 1, files: m.files ?? {}, groups: m.groups ?? [], packages: m.packages ?? [], speakers: m.speakers ?? [], ...(m.written ? { written: m.written } : {}), ...(m.soundServer ? { soundServer: m.soundServer } : {}), ...(m.user ? { user: m.user } : {}) } : undefined;
  } catch {
    return undefined;
  }
}

export function parseOsRelease(text: string | undefined): OsInfo | undefined {
  if (!text) return undefined;
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) kv.set(m[1]!, m[2]!.replace(/^["']|["']$/g, ''));
  }
  return {
    id: kv.get('ID') ?? 'linux',
    idLike: (kv.get('ID_LIKE') ?? '').split(/\s+/).filter(Boolean),
    prettyName: kv.get('PRETTY_NAME') ?? kv.get('NAME') ?? 'Linux',
    codename: kv.get('VERSION_CODENAME'),
  };
}

export function isDebianFamily(os: OsInfo | undefined): boolean {
  return Boolean(os && (os.id === 'debian' || os.idLike.includes('debian')));
}

export function parseAccounts(group = '', passwd = ''): { groups: Map<string, string[]>; users: Set<string> } {
  const groups = new Map<string, string[]>();
  for (const line of group.split('\n')) {
    const f = line.split(':');
    if (f.length >= 4 && f[0]) groups.set(f[0], f[3]!.split(',').filter(Boolean));
  }
  const users = new Set(passwd.split('\n').map((l) => l.split(':')[0]!).filter(Boolean));
  return { groups, users };
}

export function parseDpkgQuery(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [name, status, version] = line.split('\t');
    if (name && status && /^[ih]i/.test(status)) m.set(name, version ?? '');
  }
  return m;
}

interface Stanza {
  [field: string]: string;
}
function stanzas(status: string): Stanza[] {
  return status.split(/\n\s*\n/).map((block) => {
    const s: Stanza = {};
    let last = '';
    for (const line of block.split('\n')) {
      if (/^\s/.test(line) && last) s[last] += '\n' + line.trim();
      else {
        const i = line.indexOf(':');
        if (i > 0) s[(last = line.slice(0, i))] = line.slice(i + 1).trim();
      }
    }
    return s;
  });
}
const isInstalled = (s: Stanza) => /install ok (installed|half-configured|unpacked)|hold ok installed/.test(s.Status ?? '');
const names = (field: string | undefined) => (field ?? '').split(',').map((alt) => alt.split('|').map((x) => x.trim().split(/[\s(:]/)[0]!));

/** The system's architecture as dpkg's own package records it (dpkg is Essential, so always there). */
export function dpkgArch(status: string): string | undefined {
  return stanzas(status).find((s) => s.Package === 'dpkg' && isInstalled(s))?.Architecture;
}

/** "arm64 (64-bit)", "armhf (32-bit)". */
export function describeArch(arch: string | undefined): string | undefined {
  if (!arch) return undefined;
  const bits = /^(arm64|amd64|ppc64el|riscv64|s390x)$/.test(arch) ? '64-bit' : /^(armhf|armel|i386)$/.test(arch) ? '32-bit' : undefined;
  return bits ? `${arch} (${bits})` : arch;
}

export function parseDpkgStatus(status: string, wanted: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const s of stanzas(status)) if (s.Package && wanted.includes(s.Package) && isInstalled(s)) m.set(s.Package, s.Version ?? '');
  return m;
}

/**
 * Without a running system to ask `apt-get -s`: the installed packages that
 * conflict with what we install, plus whatever depends on them alone.
 */
export function removedByInstalling(status: string, toInstall: readonly string[]): string[] {
  const installed = stanzas(status).filter((s) => s.Package && isInstalled(s));
  const removed = new Set<string>();
  for (const s of installed) {
    const against = [...names(s.Conflicts), ...names(s.Breaks)].flat();
    if (against.some((n) => toInstall.includes(n))) removed.add(s.Package!);
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of installed) {
      if (removed.has(s.Package!)) continue;
      if (names(s.Depends).some((alts) => alts.every((n) => removed.has(n)))) {
        removed.add(s.Package!);
        grew = true;
      }
    }
  }
  return [...removed].sort();
}

/** Package names apt-get -s would remove ("Remv pipewire-audio [0.3.65-3]"). */
export function parseAptSimulation(out: string): string[] {
  return out
    .split('\n')
    .map((l) => /^Remv (\S+)/.exec(l)?.[1])
    .filter((x): x is string => Boolean(x))
    .sort();
}
