import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Debian's own default files (from the bookworm .debs), committed under test/pi/fixtures. */
export const bookwormFixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'pi', 'fixtures', 'bookworm');

const stanza = (pkg: string, version: string, extra: string[] = []) =>
  [`Package: ${pkg}`, 'Status: install ok installed', 'Priority: optional', 'Architecture: arm64', `Version: ${version}`, ...extra].join('\n');

/** Stanzas as in /var/lib/dpkg/status, with the real bookworm versions and relations. */
export const DPKG = {
  base: [stanza('libc6', '2.36-9+deb12u10'), stanza('dpkg', '1.21.22')].join('\n\n'),
  pulseaudio: stanza('pulseaudio', '16.1+dfsg1-2+b1', ['Depends: libc6 (>= 2.34), pulseaudio-utils']),
  pulseBluetooth: stanza('pulseaudio-module-bluetooth', '16.1+dfsg1-2+b1', ['Depends: pulseaudio (= 16.1+dfsg1-2+b1), bluez (>= 5.23)']),
  bluez: stanza('bluez', '5.66-1+deb12u2', ['Depends: libc6 (>= 2.34), dbus']),
  pipewirePulse: stanza('pipewire-pulse', '0.3.65-3+deb12u1', ['Depends: pipewire (= 0.3.65-3+deb12u1), init-system-helpers (>= 1.52)', 'Breaks: pipewire-bin (<< 0.3.27-2)']),
  pipewireAudio: stanza('pipewire-audio', '0.3.65-3+deb12u1', ['Depends: libspa-0.2-bluetooth, pipewire-alsa, pipewire-pulse, wireplumber', 'Conflicts: pulseaudio, pulseaudio-module-bluetooth']),
  wireplumber: stanza('wireplumber', '0.4.13-1', ['Depends: libc6 (>= 2.34), pipewire (>= 0.3.52)', 'Conflicts: pipewire-media-session']),
};

const made: string[] = [];
/** Removes every root makePiRoot made in this process. */
export async function cleanupPiRoots(): Promise<void> {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

export interface PiRootOptions {
  /** PulseAudio, its Bluetooth module and BlueZ already installed (as an image builder's chroot apt would). */
  packages?: boolean;
  /** Raspberry Pi OS desktop: pipewire-audio, pipewire-pulse, wireplumber installed and enabled. */
  pipewire?: boolean;
  osRelease?: string;
}

/**
 * A temporary root seeded like a Raspberry Pi OS (Debian 12) image: the
 * packages' real default files, accounts with the groups the packages create,
 * a dpkg status file, and stand-ins for the apt-get and systemctl binaries.
 */
export async function makePiRoot(opts: PiRootOptions = {}): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'opsctl-pi-root-'));
  made.push(root);
  await cp(bookwormFixtures, root, { recursive: true, preserveTimestamps: true });
  if (opts.osRelease !== undefined) await writeFile(path.join(root, 'etc/os-release'), opts.osRelease);
  for (const bin of ['usr/bin/apt-get', 'usr/bin/systemctl', 'usr/bin/pulseaudio', 'usr/bin/bluetoothctl', 'usr/libexec/bluetooth/bluetoothd']) {
    await mkdir(path.dirname(path.join(root, bin)), { recursive: true });
    await writeFile(path.join(root, bin), '#!/bin/sh\nexit 0\n');
    await chmod(path.join(root, bin), 0o755);
  }
  await mkdir(path.join(root, 'etc/pulse/client.conf.d'), { recursive: true });
  await mkdir(path.join(root, 'etc/systemd/system'), { recursive: true });
  await symlink('/run/pulseaudio-enable-autospawn', path.join(root, 'etc/pulse/client.conf.d/01-enable-autospawn.conf'));
  await writeFile(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n' + (opts.packages ? 'pulse:x:105:112:PulseAudio daemon,,,:/run/pulse:/usr/sbin/nologin\n' : ''));
  const groups = ['root:x:0:', 'audio:x:29:pi', 'pi:x:1000:', ...(opts.packages ? ['bluetooth:x:111:', 'pulse:x:112:', 'pulse-access:x:113:'] : [])];
  await writeFile(path.join(root, 'etc/group'), groups.join('\n') + '\n');
  await writeFile(path.join(root, 'etc/gshadow'), groups.map((g) => g.replace(/:x:\d+:/, ':!::')).join('\n') + '\n', { mode: 0o640 });
  await chmod(path.join(root, 'etc/gshadow'), 0o640);
  const pkgs = [DPKG.base, ...(opts.packages ? [DPKG.pulseaudio, DPKG.pulseBluetooth, DPKG.bluez] : []), ...(opts.pipewire ? [DPKG.pipewirePulse, DPKG.pipewireAudio, DPKG.wireplumber] : [])];
  await mkdir(path.join(root, 'var/lib/dpkg'), { recursive: true });
  await writeFile(path.join(root, 'var/lib/dpkg/status'), pkgs.join('\n\n') + '\n');
  if (!opts.pipewire) {
    for (const u of ['pipewire-pulse.service', 'pipewire-pulse.socket', 'wireplumber.service']) await rm(path.join(root, 'usr/lib/systemd/user', u));
  }
  return root;
}

/** Every file under a root, with content (or link target) and mode: to compare trees byte for byte. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      const st = lstatSync(full);
      const rel = path.relative(root, full);
      if (st.isSymbolicLink()) out[rel] = `link:${readlinkSync(full)}`;
      else if (st.isDirectory()) walk(full);
      else out[rel] = `${(st.mode & 0o7777).toString(8)}:${readFileSync(full, 'base64')}`;
    }
  };
  walk(root);
  return out;
}
