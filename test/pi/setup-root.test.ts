import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import { localTarget, type TargetSystem } from '../../src/commands/pi/target.js';
import { processRunner } from '../../src/lib/process.js';
import { run as setup } from '../../src/commands/pi/setup.js';
import { run as uninstall } from '../../src/commands/pi/uninstall.js';
import { run as status } from '../../src/commands/pi/status.js';
import { changeCount } from '../../src/commands/pi/plan.js';
import { BLOCK_BEGIN } from '../../src/commands/pi/edit.js';
import { BLUETOOTH_PA, CLIENT_CONF, CONNECT_SCRIPT, CONNECT_TEMPLATE_UNIT, CONNECT_TIMER_UNIT, SERVICE_UNIT } from '../../src/commands/pi/recipe.js';
import { cleanupPiRoots, makePiRoot, snapshot } from '../support/pi-root.js';
import { memoryStreams, runBin } from '../support/cli.js';

const MAC = '00:11:22:33:44:55';
const rootTarget = (root: string) => localTarget({ runner: processRunner, root });
const at = (root: string, p: string) => path.join(root, p);
const read = (root: string, p: string) => readFileSync(at(root, p), 'utf8');
const mode = (root: string, p: string) => statSync(at(root, p)).mode & 0o777;
const env = () => ({ HOME: mkdtempSync(path.join(os.tmpdir(), 'home-')), PATH: process.env.PATH });

describe('pi audio setup --root (Debian bookworm defaults)', () => {
  it('plans every step, writes the files with their modes, and a second run changes nothing', async () => {
    const root = await makePiRoot({ packages: true });
    const target = rootTarget(root);
    const dry = await setup({ speaker: MAC, user: 'pi', dryRun: true }, { target });
    expect(dry.plan.steps.map((s) => s.id)).toEqual(['preflight', 'packages', 'service', 'bluetooth-module', 'permissions', 'services', 'speaker']);
    expect(dry.plan.steps[0]!.notes[0]).toBe('found Debian GNU/Linux 12 (bookworm), arm64 (64-bit), apt, systemd');
    expect(dry.plan.steps[0]!.notes[1]).toBe('sound server: pulseaudio — PulseAudio 16.1+dfsg1-2+b1 is installed: run system-wide');
    expect(existsSync(at(root, 'etc/systemd/system/pulseaudio.service'))).toBe(false); // dry run wrote nothing

    const first = await setup({ speaker: MAC, user: 'pi' }, { target });
    // service, client.conf, 2 masks, bluetooth.pa, group, gshadow, enable link; script, template, timer, timer link
    expect(first.changed).toBe(12);
    expect(first.notRun).toBe(7); // daemon-reload, start, and the five bluetoothctl steps (power, scan, pair, trust, connect)
    expect(read(root, 'etc/systemd/system/pulseaudio.service')).toBe(SERVICE_UNIT);
    expect(SERVICE_UNIT).toContain('ExecStart=/usr/bin/pulseaudio --daemonize=no --system --disallow-exit --disable-shm --exit-idle-time=-1 --log-target=journal');
    expect(SERVICE_UNIT).not.toContain('--disallow-module-loading');
    expect(SERVICE_UNIT).toMatch(/Type=notify[\s\S]*Restart=on-failure/);
    expect(SERVICE_UNIT).toMatch(/Wants=bluetooth\.service[\s\S]*After=bluetooth\.service/);
    expect(mode(root, 'etc/systemd/system/pulseaudio.service')).toBe(0o644);
    expect(read(root, 'etc/pulse/client.conf.d/99-opsctl-system-mode.conf')).toBe(CLIENT_CONF);
    expect(CLIENT_CONF).toMatch(/^autospawn = no$/m);
    expect(CLIENT_CONF).toMatch(/^default-server = \/run\/pulse\/native$/m);
    expect(read(root, 'etc/pulse/system.pa.d/bluetooth.pa')).toBe(BLUETOOTH_PA);
    expect(existsSync(at(root, 'etc/dbus-1/system.d/pulseaudio-bluetooth.conf'))).toBe(false);
    expect(read(root, 'etc/systemd/system/bt-speaker-connect@.service')).toBe(CONNECT_TEMPLATE_UNIT);
    expect(read(root, 'etc/systemd/system/bt-speaker-connect@.timer')).toBe(CONNECT_TIMER_UNIT);
    expect(read(root, 'usr/local/lib/opsctl/bt-speaker-connect')).toBe(CONNECT_SCRIPT);
    expect(mode(root, 'usr/local/lib/opsctl/bt-speaker-connect')).toBe(0o755);
    expect(readlinkSync(at(root, 'etc/systemd/user/pulseaudio.service'))).toBe('/dev/null');
    expect(readlinkSync(at(root, 'etc/systemd/user/pulseaudio.socket'))).toBe('/dev/null');
    expect(readlinkSync(at(root, 'etc/systemd/system/multi-user.target.wants/pulseaudio.service'))).toBe('/etc/systemd/system/pulseaudio.service');
    expect(readlinkSync(at(root, `etc/systemd/system/timers.target.wants/bt-speaker-connect@${MAC}.timer`))).toBe('/etc/systemd/system/bt-speaker-connect@.timer');
    expect(existsSync(at(root, `etc/systemd/system/multi-user.target.wants/bt-speaker-connect@${MAC}.service`))).toBe(false);
    expect(read(root, 'etc/group')).toContain('bluetooth:x:111:\n');
    expect(read(root, 'etc/group')).toContain('pulse-access:x:113:root,pi\n');
    expect(read(root, 'etc/gshadow')).toContain('pulse-access:!::root,pi\n');
    expect(mode(root, 'etc/gshadow')).toBe(0o640);
    // Debian's own files were already right and are untouched.
    expect(read(root, 'etc/pulse/system.pa')).toBe(read(path.resolve('test/pi/fixtures/bookworm'), 'etc/pulse/system.pa'));
    expect(read(root, 'etc/bluetooth/main.conf')).toBe(read(path.resolve('test/pi/fixtures/bookworm'), 'etc/bluetooth/main.conf'));

    const before = snapshot(root);
    const second = await setup({ speaker: MAC, user: 'pi' }, { target });
    expect(changeCount(second.plan)).toBe(0);
    expect(second.changed).toBe(0);
    expect(snapshot(root)).toEqual(before);
  });

  it('says so on a second run and prints diffs on --dry-run (CLI)', async () => {
    const root = await makePiRoot({ packages: true });
    const m = memoryStreams();
    expect(await runCli(['--dry-run', 'pi', 'audio', 'setup', '--root', root, '--user', 'pi'], { streams: m.streams, stdin: process.stdin, env: env() })).toBe(0);
    expect(m.stdout).toContain('[dry run] nothing was changed');
    expect(m.stdout).toContain('[dry run] would write /etc/systemd/system/pulseaudio.service — mode 0644');
    expect(m.stdout).toContain('+++ b/etc/systemd/system/pulseaudio.service');
    expect(m.stdout).toContain('+ExecStart=/usr/bin/pulseaudio --daemonize=no --system');
    expect(m.stdout).toMatch(/-pulse-access:x:113:\n\s+\+pulse-access:x:113:root,pi/);
    expect(m.stdout).toContain('    $ systemctl daemon-reload');
    const m1 = memoryStreams();
    expect(await runCli(['pi', 'audio', 'setup', '--root', root, '--user', 'pi'], { streams: m1.streams, stdin: process.stdin, env: env() })).toBe(0);
    expect(m1.stdout).toContain('[not run: no running system under --root]');
    const m2 = memoryStreams();
    expect(await runCli(['pi', 'audio', 'setup', '--root', root, '--user', 'pi'], { streams: m2.streams, stdin: process.stdin, env: env() })).toBe(0);
    expect(m2.stdout).toContain('Nothing to change on root');
    // The built binary, as a user runs it.
    const bin = await runBin(['pi', 'audio', 'setup', '--root', root, '--user', 'pi'], { env: env() });
    expect(bin).toMatchObject({ code: 0, stderr: '' });
    expect(bin.stdout).toContain('Nothing to change on root');
    const m3 = memoryStreams();
    expect(await runCli(['--json', 'pi', 'audio', 'setup', '--root', root, '--user', 'pi'], { streams: m3.streams, stdin: process.stdin, env: env() })).toBe(0);
    expect(JSON.parse(m3.stdout)).toMatchObject({ changed: 0, dryRun: false });
  });

  it('backs up once, keeps user edits elsewhere in a file, and uninstall restores everything byte for byte', async () => {
    const root = await makePiRoot({ packages: true });
    // A bullseye-era system.pa (PulseAudio 14: no system.pa.d include) and a main.conf that turned AutoEnable off.
    const systemPa = read(root, 'etc/pulse/system.pa').replace(/### Allow including a system\.pa\.d[\s\S]*$/, '');
    writeFileSync(at(root, 'etc/pulse/system.pa'), systemPa);
    const mainConf = read(root, 'etc/bluetooth/main.conf').replace('\nAutoEnable=true\n', '\nAutoEnable=false\n');
    writeFileSync(at(root, 'etc/bluetooth/main.conf'), mainConf);
    // An old hand-made unit from the write-up.
    writeFileSync(at(root, 'etc/systemd/system/pulseaudio.service'), '[Service]\nExecStart=/usr/bin/pulseaudio --system\n', { flag: 'w' });
    const original = snapshot(root);

    const target = rootTarget(root);
    await setup({ user: 'pi' }, { target });
    const pa = read(root, 'etc/pulse/system.pa');
    expect(pa.startsWith(systemPa)).toBe(true);
    expect(pa.slice(systemPa.length)).toBe(`${BLOCK_BEGIN}\n.nofail\n.include /etc/pulse/system.pa.d\n# END opsctl pi audio\n`);
    const main = read(root, 'etc/bluetooth/main.conf');
    // main.conf is the user's: AutoEnable=false is their choice, said so in the plan, never overridden.
    expect(main).toBe(mainConf);
    expect(read(root, 'var/lib/opsctl/pi-audio/backup/etc/systemd/system/pulseaudio.service')).toBe('[Service]\nExecStart=/usr/bin/pulseaudio --system\n');

    // The user edits main.conf elsewhere; setup again keeps that and does not back up again.
    const edited = read(root, 'etc/bluetooth/main.conf').replace('#Name = BlueZ', 'Name = Kitchen');
    writeFileSync(at(root, 'etc/bluetooth/main.conf'), edited);
    const again = await setup({ user: 'pi' }, { target });
    expect(changeCount(again.plan)).toBe(0);
    expect(read(root, 'etc/bluetooth/main.conf')).toBe(edited);

    // Uninstall leaves the edited main.conf alone (setup never touched it)…
    const un = await uninstall({}, { target });
    expect(un.found).toBe(true);
    expect(read(root, 'etc/bluetooth/main.conf')).toBe(mainConf.replace('#Name = BlueZ', 'Name = Kitchen'));
    // …and everything else is back byte for byte (modes and links included).
    writeFileSync(at(root, 'etc/bluetooth/main.conf'), mainConf);
    expect(snapshot(root)).toEqual(original);
    const un2 = await uninstall({}, { target });
    expect(un2.found).toBe(false);
  });

  it('uninstall of an untouched setup gives back the exact original tree', async () => {
    const root = await makePiRoot({ packages: true });
    const original = snapshot(root);
    const target = rootTarget(root);
    await setup({ user: 'pi', speaker: MAC }, { target });
    const dry = await uninstall({ dryRun: true }, { target });
    expect(dry.plan.steps.find((s) => s.id === 'files')!.changes.length).toBeGreaterThan(5);
    expect(snapshot(root)).not.toEqual(original);
    await uninstall({}, { target });
    expect(snapshot(root)).toEqual(original);
  });

  it('refuses PipeWire without --force and shows what would be removed and masked', async () => {
    const root = await makePiRoot({ pipewire: true });
    const target = rootTarget(root);
    // auto keeps PipeWire; asking for PulseAudio is refused without --force.
    const auto = await setup({ user: 'pi', dryRun: true }, { target });
    expect(auto.plan.steps[0]!.notes[1]).toMatch(/^sound server: pipewire — PipeWire is this image's sound server \(pipewire-pulse 0\.3\.65-3\+deb12u1, wireplumber 0\.4\.13-1\)/);
    const err = await setup({ user: 'pi', soundServer: 'pulseaudio' }, { target }).catch((e) => e);
    expect(err).toMatchObject({ code: 'pipewire-present', exitCode: 1 });
    expect(err.message).toBe(
      'PipeWire is the sound server here (pipewire-audio, pipewire-pulse, wireplumber); installing PulseAudio removes: pipewire-audio; masked for all users: pipewire-pulse.service, pipewire-pulse.socket, wireplumber.service.',
    );
    expect(err.hint).toContain('--force');
    expect(existsSync(at(root, 'var/lib/opsctl'))).toBe(false);

    const forced = await setup({ user: 'pi', force: true, soundServer: 'pulseaudio', dryRun: true }, { target });
    const svc = forced.plan.steps.find((s) => s.id === 'service')!;
    expect(svc.changes.filter((c) => c.kind === 'link').map((c) => (c as { path: string }).path)).toEqual([
      '/etc/systemd/user/pulseaudio.service',
      '/etc/systemd/user/pulseaudio.socket',
      '/etc/systemd/user/pipewire-pulse.service',
      '/etc/systemd/user/pipewire-pulse.socket',
      '/etc/systemd/user/wireplumber.service',
    ]);
    const pk = forced.plan.steps.find((s) => s.id === 'packages')!;
    expect(pk.changes.map((c) => (c.kind === 'run' ? c.cmd.argv.join(' ') : ''))).toEqual([
      'apt-get update -q',
      'apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold pulseaudio pulseaudio-module-bluetooth bluez',
    ]);
  });

  it('refuses a non-Debian system, a bad MAC (exit 2), an unknown user (exit 2), and non-root on the Pi itself', async () => {
    const fedora = await makePiRoot({ packages: true, osRelease: 'NAME="Fedora Linux"\nID=fedora\nPRETTY_NAME="Fedora Linux 40 (Workstation Edition)"\n' });
    await expect(setup({}, { target: rootTarget(fedora) })).rejects.toMatchObject({ code: 'wrong-os', message: 'This is Fedora Linux 40 (Workstation Edition), not Debian or Raspberry Pi OS.' });

    const root = await makePiRoot({ packages: true });
    const m = memoryStreams();
    expect(await runCli(['pi', 'audio', 'setup', '--root', root, '--speaker', '00:11:22:33:44'], { streams: m.streams, stdin: process.stdin, env: env() })).toBe(2);
    expect(m.stderr).toContain('"00:11:22:33:44" is not a Bluetooth MAC address.');
    const m2 = memoryStreams();
    expect(await runCli(['pi', 'audio', 'pair', 'zz:11:22:33:44:55', '--root', root], { streams: m2.streams, stdin: process.stdin, env: env() })).toBe(2);
    await expect(setup({ user: 'mallory' }, { target: rootTarget(root) })).rejects.toMatchObject({ exitCode: 2, code: 'bad-user' });
    await expect(setup({ user: 'x;rm -rf /' }, { target: rootTarget(root) })).rejects.toMatchObject({ exitCode: 2, code: 'bad-user' });

    // The Pi itself (kind local), not root: suggest sudo. Files come from the temp root so nothing real is read.
    const asUser: TargetSystem = { ...rootTarget(root), kind: 'local', uid: async () => 1000 };
    const err = await setup({}, { target: asUser }).catch((e) => e);
    expect(err).toMatchObject({ code: 'not-root', exitCode: 1 });
    expect(err.hint).toMatch(/^run it with sudo: sudo opsctl pi audio/);
  });

  it('on the Pi itself without sudo: status works (no root-only file is read); setup and uninstall say to use sudo', async () => {
    const root = await makePiRoot({ packages: true });
    mkdirSync(at(root, 'run/systemd/system'), { recursive: true });
    const base = rootTarget(root);
    await setup({ user: 'pi' }, { target: base });
    // As a non-root user sees it: /etc/gshadow (0640) cannot be read; commands answer as if nothing runs.
    const read = base.read.bind(base);
    const asUser: TargetSystem = {
      ...base,
      kind: 'local',
      live: true,
      uid: async () => 1000,
      read: async (paths) => {
        if (paths.includes('/etc/gshadow')) throw Object.assign(new Error("EACCES: permission denied, open '/etc/gshadow'"), { code: 'EACCES' });
        return read(paths);
      },
      exec: async () => ({ exitCode: 1, stdout: '', stderr: '' }),
      execMany: async (cmds) => cmds.map(() => ({ exitCode: 1, stdout: '', stderr: '' })),
    };
    const st = await status({ user: 'pi' }, { target: asUser });
    expect(st.checks.find((c) => c.id === 'unit')).toMatchObject({ status: 'ok' });
    await expect(setup({ user: 'pi' }, { target: asUser })).rejects.toMatchObject({ code: 'not-root', hint: expect.stringContaining('sudo') });
    await expect(uninstall({}, { target: asUser })).rejects.toMatchObject({ code: 'not-root', hint: 'run it with sudo: sudo opsctl pi audio uninstall' });
  });

  it('never prints /etc/gshadow lines (group password hashes) in --dry-run diffs or --json', async () => {
    const root = await makePiRoot({ packages: true });
    writeFileSync(at(root, 'etc/gshadow'), read(root, 'etc/gshadow').replace('pi:!::', 'pi:$6$secrethash::'));
    const m = memoryStreams();
    expect(await runCli(['--dry-run', 'pi', 'audio', 'setup', '--root', root, '--user', 'pi'], { streams: m.streams, stdin: process.stdin, env: env() })).toBe(0);
    expect(m.stdout).toContain('[dry run] would change /etc/gshadow — mode 0640');
    expect(m.stdout).toContain('(diff of /etc/gshadow not shown: it holds password hashes)');
    const j = memoryStreams();
    expect(await runCli(['--json', '--dry-run', 'pi', 'audio', 'setup', '--root', root, '--user', 'pi'], { streams: j.streams, stdin: process.stdin, env: env() })).toBe(0);
    expect(m.stdout + j.stdout).not.toContain('secrethash');
  });

  it('defaults --user to the invoking sudo user, not a hard-coded pi', async () => {
    const root = await makePiRoot({ packages: true });
    writeFileSync(at(root, 'etc/passwd'), read(root, 'etc/passwd') + 'alice:x:1001:1001::/home/alice:/bin/bash\n');
    const target = localTarget({ runner: processRunner, root, env: { SUDO_USER: 'alice' } });
    await setup({}, { target });
    expect(read(root, 'etc/group')).toContain('pulse-access:x:113:root,alice\n');
    const s = await status({}, { target });
    expect(s.user).toBe('alice');
    expect(s.checks.filter((c) => c.status === 'problem')).toEqual([]);
    expect(s.checks.find((c) => c.id === 'group:alice:pulse-access')).toMatchObject({ status: 'ok' });
  });

  it('status names each problem with a hint (and --json)', async () => {
    const root = await makePiRoot({ packages: true });
    const target = rootTarget(root);
    const before = await status({ user: 'pi' }, { target });
    expect(before.problems).toBeGreaterThan(5);
    expect(before.checks.find((c) => c.id === 'unit')).toMatchObject({ status: 'problem', detail: '/etc/systemd/system/pulseaudio.service is missing', hint: 'run `sudo opsctl pi audio setup`' });
    await setup({ user: 'pi', speaker: MAC }, { target });
    const after = await status({ user: 'pi' }, { target });
    expect(after.problems).toBe(0);
    expect(after.checks.find((c) => c.id === `connect-unit:${MAC}`)).toMatchObject({ status: 'ok' });
    expect(after.checks.filter((c) => c.status === 'skipped').map((c) => c.label)).toContain('pulseaudio.service active');
    writeFileSync(at(root, 'etc/pulse/system.pa.d/bluetooth.pa'), 'load-module module-bluetooth-discover\n');
    const m = memoryStreams();
    expect(await runCli(['--json', 'pi', 'audio', 'status', '--root', root], { streams: m.streams, stdin: process.stdin, env: env() })).toBe(1);
    const doc = JSON.parse(m.stdout);
    expect(doc.checks.find((c: { id: string }) => c.id === 'bluetooth-pa')).toMatchObject({ status: 'problem', detail: '/etc/pulse/system.pa.d/bluetooth.pa differs from what setup writes (edited by hand?)' });
  });
});

afterAll(cleanupPiRoots);
