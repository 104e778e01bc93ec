/**
 * Real Debian roots for the pi audio tests: `debootstrap --variant=minbase`
 * of bookworm or trixie, then the packages installed by apt inside the chroot
 * (so dpkg's status, the packages' own config files, users and groups, and
 * /etc/os-release → ../usr/lib/os-release are what an image really has).
 *
 * Built once and cached under OPSCTL_TEST_ROOTS (default
 * /var/cache/opsctl-test-roots), keyed by suite + package list; tests get a
 * private copy (`cp -a`) they may change. A lock file keeps parallel test
 * files from building the same root twice.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Suite = 'bookworm' | 'trixie';

export const CACHE_DIR = process.env.OPSCTL_TEST_ROOTS ?? '/var/cache/opsctl-test-roots';
export const MIRROR = process.env.OPSCTL_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const BASE_INCLUDE = ['systemd', 'dbus', 'apt'];

/** What a Raspberry Pi OS image of each kind has, as Debian packages. */
export const IMAGE_PACKAGES = {
  /** Lite: no sound server; BlueZ is there (Pi OS Lite ships bluez). */
  lite: ['bluez'],
  /** Lite after the PulseAudio path was installed by hand or by an older opsctl. */
  pulse: ['pulseaudio', 'pulseaudio-module-bluetooth', 'bluez'],
  /** Desktop: PipeWire + WirePlumber with Bluetooth (libspa-0.2-bluetooth). */
  desktop: ['pipewire-audio', 'pipewire-pulse', 'wireplumber', 'libspa-0.2-bluetooth', 'bluez'],
} as const;

const run = (file: string, args: string[], what: string) => {
  const r = spawnSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' } });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${(r.stderr || r.stdout || String(r.error)).slice(-2000)}`);
  return r.stdout;
};

/** Whether this machine can build roots (root, debootstrap present); a reason when not. */
export function debootstrapUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (debootstrap, chroot)';
  if (!existsSync('/usr/sbin/debootstrap')) return 'debootstrap not installed (scripts/install-test-tools.sh)';
  return undefined;
}

function withLock<T>(name: string, work: () => T): T {
  mkdirSync(CACHE_DIR, { recursive: true });
  // flock(1) holds the lock for the life of the child; the build runs in this process, so take it with a sentinel dir.
  const lock = path.join(CACHE_DIR, `${name}.lock`);
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      // A lock left by a killed build is stale after 20 minutes.
      spawnSync('sleep', ['2']);
      const st = spawnSync('find', [lock, '-maxdepth', '0', '-mmin', '+20'], { encoding: 'utf8' }).stdout.trim();
      if (st) rmSync(lock, { recursive: true, force: true });
    }
  }
  try {
    return work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The cached minbase root of a suite (built on first use, ~4 min). */
export function baseRoot(suite: Suite, include: readonly string[] = BASE_INCLUDE): string {
  const key = `${suite}-base-${createHash('sha256').update(include.join(',')).digest('hex').slice(0, 8)}`;
  const dir = path.join(CACHE_DIR, key);
  if (existsSync(path.join(dir, '.opsctl-complete'))) return dir;
  return withLock(key, () => {
    if (existsSync(path.join(dir, '.opsctl-complete'))) return dir;
    rmSync(dir, { recursive: true, force: true });
    run('debootstrap', ['--variant=minbase', `--include=${include.join(',')}`, suite, dir, MIRROR], `debootstrap ${suite}`);
    run('chroot', [dir, 'apt-get', 'clean'], 'apt-get clean');
    writeFileSync(path.join(dir, '.opsctl-complete'), new Date().toISOString() + '\n');
    return dir;
  });
}

/** The cached root of `suite` with `packages` installed by apt (no recommends), as a Pi image would have them. */
export function packagedRoot(suite: Suite, packages: readonly string[]): string {
  const base = baseRoot(suite);
  if (packages.length === 0) return base;
  const key = `${suite}-${createHash('sha256').update([...packages].sort().join(',')).digest('hex').slice(0, 12)}`;
  const dir = path.join(CACHE_DIR, key);
  if (existsSync(path.join(dir, '.opsctl-complete'))) return dir;
  return withLock(key, () => {
    if (existsSync(path.join(dir, '.opsctl-complete'))) return dir;
    rmSync(dir, { recursive: true, force: true });
    run('cp', ['-a', base, dir], 'copy base root');
    rmSync(path.join(dir, '.opsctl-complete'), { force: true });
    // Package scripts must not start daemons on this machine.
    writeFileSync(path.join(dir, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    run('chroot', [dir, 'apt-get', 'update', '-q'], `apt-get update in ${suite}`);
    run('chroot', [dir, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...packages], `apt-get install ${packages.join(' ')} in ${suite}`);
    run('chroot', [dir, 'apt-get', 'clean'], 'apt-get clean');
    rmSync(path.join(dir, 'usr/sbin/policy-rc.d'), { force: true });
    writeFileSync(path.join(dir, '.opsctl-packages'), packages.join('\n') + '\n');
    writeFileSync(path.join(dir, '.opsctl-complete'), new Date().toISOString() + '\n');
    return dir;
  });
}

const copies: string[] = [];

/**
 * A private copy of a cached root. Only what opsctl reads and writes is copied
 * (etc, var/lib, the usr-merge links and the binaries it looks for, usr/lib's
 * os-release and unit dirs): a full copy is ~300 MB per test.
 */
export function debianRoot(suite: Suite, packages: readonly string[]): string {
  const src = packagedRoot(suite, packages);
  const dst = mkdtempSync(path.join(os.tmpdir(), `opsctl-pi-${suite}-`));
  copies.push(dst);
  const parts = ['etc', 'var/lib/dpkg', 'bin', 'sbin', 'lib', 'usr/lib/os-release', 'usr/lib/systemd', 'usr/bin/apt-get', 'usr/bin/systemctl', 'usr/bin/bluetoothctl', 'usr/bin/pulseaudio', 'usr/bin/pipewire', 'usr/bin/wireplumber', 'usr/bin/dpkg', 'usr/share/wireplumber', 'usr/share/dbus-1', 'usr/share/pipewire', 'usr/share/doc/wireplumber'];
  for (const p of parts) {
    const from = path.join(src, p);
    if (!existsSync(from) && !isLink(from)) continue;
    mkdirSync(path.dirname(path.join(dst, p)), { recursive: true });
    run('cp', ['-a', from, path.join(dst, p)], `copy ${p}`);
  }
  return dst;
}

function isLink(p: string): boolean {
  return spawnSync('test', ['-L', p]).status === 0;
}

export function cleanupDebianRoots(): void {
  for (const d of copies.splice(0)) rmSync(d, { recursive: true, force: true });
}
