/**
 * A bootable Debian image for the pi audio end-to-end test: debootstrap with
 * systemd, openssh-server, a Debian kernel, BlueZ (and its test tools for
 * btvirt) and PulseAudio preinstalled in the chroot, root's authorized key,
 * DHCP on the virtio NIC, and a unit that starts a virtual Bluetooth
 * controller (btvirt over hci_vhci) at boot. Cached like the --root roots.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CACHE_DIR, MIRROR, type Suite } from './pi-debian.js';

export const VM_PACKAGES = ['systemd', 'systemd-sysv', 'udev', 'dbus', 'openssh-server', 'linux-image-amd64', 'sudo', 'kmod', 'iproute2', 'bluez', 'bluez-test-tools', 'pulseaudio', 'pulseaudio-module-bluetooth', 'pulseaudio-utils'];

const run = (file: string, args: string[], what: string) => {
  const r = spawnSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' } });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${(r.stderr || r.stdout || String(r.error)).slice(-2000)}`);
  return r.stdout;
};

export interface VmImage {
  dir: string;
  image: string;
  kernel: string;
  initrd: string;
  /** Private key that logs in as root. */
  key: string;
}

const BTVIRT_UNIT = `[Unit]
Description=Virtual Bluetooth controller for tests (btvirt over hci_vhci)
Before=bluetooth.service

[Service]
Type=simple
ExecStartPre=/sbin/modprobe hci_vhci
ExecStart=/usr/bin/btvirt -l1
Restart=on-failure

[Install]
WantedBy=multi-user.target
`;

/** Builds (once) and returns the cached image for `suite`. */
export function vmImage(suite: Suite = 'bookworm'): VmImage {
  const key = `${suite}-vm-${createHash('sha256').update(VM_PACKAGES.join(',') + BTVIRT_UNIT).digest('hex').slice(0, 10)}`;
  const dir = path.join(CACHE_DIR, key);
  const root = path.join(dir, 'root');
  const out: VmImage = { dir, image: path.join(dir, 'disk.img'), kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img'), key: path.join(dir, 'id_ed25519') };
  if (existsSync(path.join(dir, '.opsctl-complete'))) return out;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  run('debootstrap', ['--variant=minbase', `--include=${VM_PACKAGES.join(',')}`, suite, root, MIRROR], `debootstrap ${suite} (VM)`);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', out.key], 'ssh-keygen');
  mkdirSync(path.join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
  copyFileSync(`${out.key}.pub`, path.join(root, 'root/.ssh/authorized_keys'));
  chmodSync(path.join(root, 'root/.ssh/authorized_keys'), 0o600);
  writeFileSync(path.join(root, 'etc/hostname'), 'opsctl-pi-vm\n');
  writeFileSync(path.join(root, 'etc/fstab'), '/dev/vda / ext4 rw,relatime 0 1\n');
  mkdirSync(path.join(root, 'etc/systemd/network'), { recursive: true });
  writeFileSync(path.join(root, 'etc/systemd/network/10-dhcp.network'), '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n');
  writeFileSync(path.join(root, 'etc/systemd/system/btvirt.service'), BTVIRT_UNIT);
  run('chroot', [root, 'systemctl', 'enable', 'systemd-networkd.service', 'btvirt.service'], 'enable networkd and btvirt');
  run('chroot', [root, 'sh', '-c', 'echo root:opsctl | chpasswd'], 'root password (serial console debugging)');
  const boot = readdirSync(path.join(root, 'boot'));
  copyFileSync(path.join(root, 'boot', boot.find((n) => n.startsWith('vmlinuz-'))!), out.kernel);
  copyFileSync(path.join(root, 'boot', boot.find((n) => n.startsWith('initrd.img-'))!), out.initrd);
  run('chroot', [root, 'apt-get', 'clean'], 'apt-get clean');
  run('truncate', ['-s', '3G', out.image], 'truncate');
  run('mkfs.ext4', ['-q', '-F', '-d', root, out.image], 'mkfs.ext4 -d');
  rmSync(root, { recursive: true, force: true });
  writeFileSync(path.join(dir, '.opsctl-complete'), new Date().toISOString() + '\n');
  return out;
}
