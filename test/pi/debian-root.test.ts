/**
 * `--root` against real Debian roots (debootstrap minbase + packages installed
 * by apt in the chroot, cached under /var/cache/opsctl-test-roots): the files,
 * links, owners and dpkg records opsctl meets on a real image.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { localTarget, resolveInRoot } from '../../src/commands/pi/target.js';
import { processRunner } from '../../src/lib/process.js';
import { run as setup } from '../../src/commands/pi/setup.js';
import { run as uninstall } from '../../src/commands/pi/uninstall.js';
import { gatherFacts } from '../../src/commands/pi/facts.js';
import { changeCount } from '../../src/commands/pi/plan.js';
import { IMAGE_PACKAGES, cleanupDebianRoots, debianRoot, debootstrapUnavailable, type Suite } from '../support/pi-debian.js';
import { snapshot } from '../support/pi-root.js';
import { memoryStreams } from '../support/cli.js';
import { inCI } from '../support/tools.js';

const skip = inCI ? undefined : debootstrapUnavailable();
const rootTarget = (root: string) => localTarget({ runner: processRunner, root });
const cli = async (argv: string[]) => {
  const m = memoryStreams();
  const code = await runCli(argv, { streams: m.streams, stdin: process.stdin, env: { PATH: process.env.PATH, HOME: '/nonexistent' } });
  return { code, stdout: m.stdout, stderr: m.stderr };
};
const NAMES: Record<Suite, string> = { bookworm: 'Debian GNU/Linux 12 (bookworm)', trixie: 'Debian GNU/Linux 13 (trixie)' };

describe.skipIf(skip)('pi audio --root on debootstrapped Debian roots', () => {
  for (const suite of ['bookworm', 'trixie'] as const) {
    it(`${suite} Lite: reads /etc/os-release through its relative symlink and plans the install without recommends`, { timeout: 600_000 }, async () => {
      const root = debianRoot(suite, IMAGE_PACKAGES.lite);
      expect(readlinkSync(path.join(root, 'etc/os-release'))).toBe('../usr/lib/os-release');
      const r = await cli(['--dry-run', 'pi', 'audio', 'setup', '--root', root, '--user', 'root']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`found ${NAMES[suite]}, amd64 (64-bit), apt, systemd`);
      expect(r.stdout).toMatch(/\$ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends .* pulseaudio pulseaudio-module-bluetooth\n/);
      expect(r.stdout).toContain('sound server: pulseaudio — no sound server installed (Lite): PulseAudio in system mode plays from boot with nobody logged in');
      expect(r.stdout).toContain(`installed already: bluez ${suite === 'bookworm' ? '5.66' : '5.82'}`);
    });

    it(`${suite} with PulseAudio installed by apt: setup keeps owners (gshadow stays root:shadow), a rerun changes nothing, uninstall restores the tree`, { timeout: 600_000 }, async () => {
      const root = debianRoot(suite, IMAGE_PACKAGES.pulse);
      const shadowGid = statSync(path.join(root, 'etc/gshadow')).gid;
      expect(shadowGid).not.toBe(0);
      const original = snapshot(path.join(root, 'etc'));
      const target = rootTarget(root);
      const first = await setup({ user: 'root', speaker: '00:11:22:33:44:55' }, { target });
      expect(first.plan.steps[0]!.notes[0]).toBe(`found ${NAMES[suite]}, amd64 (64-bit), apt, systemd`);
      expect(readFileSync(path.join(root, 'etc/gshadow'), 'utf8')).toMatch(/^pulse-access:!?\*?::root$/m);
      const st = statSync(path.join(root, 'etc/gshadow'));
      expect({ gid: st.gid, uid: st.uid, mode: st.mode & 0o777 }).toEqual({ gid: shadowGid, uid: 0, mode: 0o640 });
      // The backup keeps the owner too.
      expect(statSync(path.join(root, 'var/lib/opsctl/pi-audio/backup/etc/gshadow')).gid).toBe(shadowGid);
      // Nothing that was shown to change nothing: BlueZ's own policy already lets any user reach org.bluez.
      expect(readFileSync(path.join(root, 'etc/bluetooth/main.conf'), 'utf8')).not.toContain('opsctl');
      const bluezPolicy = [path.join(root, 'etc/dbus-1/system.d/bluetooth.conf'), path.join(root, 'usr/share/dbus-1/system.d/bluetooth.conf')].map((p) => {
        try {
          return readFileSync(p, 'utf8');
        } catch {
          return '';
        }
      }).join('');
      expect(bluezPolicy).toMatch(/<policy context="default">\s*<allow send_destination="org\.bluez"\/>/);
      expect(() => lstatSync(path.join(root, 'etc/dbus-1/system.d/pulseaudio-bluetooth.conf'))).toThrow();

      const again = await setup({ user: 'root', speaker: '00:11:22:33:44:55' }, { target });
      expect(changeCount(again.plan)).toBe(0);
      await uninstall({}, { target });
      expect(snapshot(path.join(root, 'etc'))).toEqual(original);
      expect(statSync(path.join(root, 'etc/gshadow')).gid).toBe(shadowGid);
    });
  }

  it('32-bit images: the architecture comes from dpkg (armhf)', { timeout: 600_000 }, async () => {
    const root = debianRoot('bookworm', IMAGE_PACKAGES.lite);
    const status = path.join(root, 'var/lib/dpkg/status');
    writeFileSync(status, readFileSync(status, 'utf8').replace(/(Package: dpkg\n(?:[^\n]+\n)*?Architecture: )amd64/, '$1armhf'));
    const facts = await gatherFacts(rootTarget(root));
    expect(facts.arch).toBe('armhf');
    const r = await cli(['--dry-run', 'pi', 'audio', 'setup', '--root', root, '--user', 'root']);
    expect(r.stdout).toContain('found Debian GNU/Linux 12 (bookworm), armhf (32-bit), apt, systemd');
  });

  it('links never lead out of the root: absolute targets are re-rooted, .. stops at the root, chains and loops', { timeout: 600_000 }, async () => {
    const root = debianRoot('trixie', IMAGE_PACKAGES.lite);
    const p = (x: string) => path.join(root, x);
    // An absolute os-release link (as some image builders make it): this machine's /usr/lib/os-release is bookworm.
    rmSync(p('etc/os-release'));
    symlinkSync('/usr/lib/os-release', p('etc/os-release'));
    expect((await gatherFacts(rootTarget(root))).os?.codename).toBe('trixie');
    // A chain through a directory link and a climb far above the root.
    mkdirSync(p('opt/img/etc'), { recursive: true });
    writeFileSync(p('opt/img/etc/release'), 'ID=debian\nVERSION_CODENAME=trixie\nPRETTY_NAME="chained"\n');
    symlinkSync('/opt/img', p('srv-img'));
    rmSync(p('etc/os-release'));
    symlinkSync('../../../../../../srv-img/etc/release', p('etc/os-release'));
    expect((await gatherFacts(rootTarget(root))).os?.prettyName).toBe('chained');
    expect(await resolveInRoot(root, '/etc/os-release', true)).toBe(p('opt/img/etc/release'));
    // A parent directory that is an absolute link: writes land inside the root as well.
    expect(await resolveInRoot(root, '/srv-img/etc/x', false)).toBe(p('opt/img/etc/x'));
    // A loop reads as missing, and a link to the root's /etc/passwd is the root's, not this machine's.
    symlinkSync('loop-b', p('etc/loop-a'));
    symlinkSync('loop-a', p('etc/loop-b'));
    const files = await rootTarget(root).read(['/etc/loop-a', '/srv-img/etc/release']);
    expect(files.get('/etc/loop-a')).toMatchObject({ type: 'symlink', resolved: { type: 'missing' } });
    expect(files.get('/srv-img/etc/release')).toMatchObject({ type: 'file', content: expect.stringContaining('chained') });
    // No os-release under /etc at all: os-release(5) says /usr/lib/os-release.
    rmSync(p('etc/os-release'));
    expect((await gatherFacts(rootTarget(root))).os?.codename).toBe('trixie');
  });
});

afterAll(cleanupDebianRoots);

describe.skipIf(skip)('pi audio --root, PipeWire images (Desktop: pipewire-audio + WirePlumber installed by apt)', () => {
  for (const suite of ['bookworm', 'trixie'] as const) {
    it(`${suite}: auto keeps PipeWire, lingers the user, writes WirePlumber ${suite === 'bookworm' ? '0.4 Lua' : '0.5 conf.d'} headless config; rerun changes nothing; status ok; uninstall restores`, { timeout: 600_000 }, async () => {
      const root = debianRoot(suite, IMAGE_PACKAGES.desktop);
      writeFileSync(path.join(root, 'etc/passwd'), readFileSync(path.join(root, 'etc/passwd'), 'utf8') + 'pi:x:1000:1000:,,,:/home/pi:/bin/bash\n');
      const original = snapshot(path.join(root, 'etc'));
      const target = rootTarget(root);
      // No user: PipeWire is per user, so that is a usage error naming the flag.
      await expect(setup({}, { target })).rejects.toMatchObject({ exitCode: 2, code: 'bad-user', hint: expect.stringContaining('--user') });
      const first = await setup({ user: 'pi', speaker: '00:11:22:33:44:55' }, { target });
      expect(first.plan.steps[0]!.notes[1]).toMatch(/^sound server: pipewire — PipeWire is this image's sound server \(pipewire-pulse .*wireplumber 0\.[45]/);
      expect(first.plan.steps.find((s) => s.id === 'packages')!.changes).toEqual([]); // nothing removed, nothing installed
      expect(statSync(path.join(root, 'var/lib/systemd/linger/pi')).isFile()).toBe(true);
      if (suite === 'bookworm') {
        expect(readFileSync(path.join(root, 'etc/wireplumber/bluetooth.lua.d/80-opsctl-headless.lua'), 'utf8')).toContain('bluez_monitor.properties["with-logind"] = false');
        // The file it overrides is really there, with the property it changes.
        expect(readFileSync(path.join(root, 'usr/share/wireplumber/bluetooth.lua.d/50-bluez-config.lua'), 'utf8')).toContain('["with-logind"] = true');
      } else {
        expect(readFileSync(path.join(root, 'etc/wireplumber/wireplumber.conf.d/80-opsctl-headless.conf'), 'utf8')).toContain('monitor.bluez.seat-monitoring = disabled');
        expect(readFileSync(path.join(root, 'usr/share/wireplumber/wireplumber.conf'), 'utf8')).toContain('provides = monitor.bluez.seat-monitoring');
      }
      // Debian enables PipeWire and WirePlumber for every user's default.target already: linger is all it takes.
      expect(readlinkSync(path.join(root, 'etc/systemd/user/default.target.wants/pipewire.service'))).toMatch(/pipewire\.service$/);
      expect(readlinkSync(path.join(root, 'etc/systemd/user/pipewire.service.wants/wireplumber.service'))).toMatch(/wireplumber\.service$/);
      const again = await setup({ user: 'pi', speaker: '00:11:22:33:44:55' }, { target });
      expect(changeCount(again.plan)).toBe(0);
      const { run: status } = await import('../../src/commands/pi/status.js');
      const st = await status({}, { target });
      expect(st.checks.filter((c) => c.status === 'problem')).toEqual([]);
      expect(st.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['linger', 'wireplumber-headless', 'package:wireplumber']));
      await uninstall({}, { target });
      expect(snapshot(path.join(root, 'etc'))).toEqual(original);
      expect(() => statSync(path.join(root, 'var/lib/systemd/linger/pi'))).toThrow();
    });
  }
});
