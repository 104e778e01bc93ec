import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli.js';
import type { TargetSystem } from '../../src/commands/pi/target.js';
import { remoteTarget } from '../../src/commands/pi/remote.js';
import { processRunner } from '../../src/lib/process.js';
import { run as setup } from '../../src/commands/pi/setup.js';
import { run as pair } from '../../src/commands/pi/pair.js';
import { run as status } from '../../src/commands/pi/status.js';
import { run as uninstall } from '../../src/commands/pi/uninstall.js';
import { changeCount } from '../../src/commands/pi/plan.js';
import { SERVICE_UNIT } from '../../src/commands/pi/recipe.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { installFakePi, type FakePiState } from '../support/pi-fakes.js';
import { bookwormFixtures, cleanupPiRoots, makePiRoot, snapshot } from '../support/pi-root.js';
import { memoryStreams } from '../support/cli.js';
import { missingTools } from '../support/tools.js';

const MAC = '00:11:22:33:44:55';
const DPKG_FORMAT = '-f=${Package}\\t${db:Status-Abbrev}\\t${Version}\\n';
const QUERY = ['dpkg-query', '-W', DPKG_FORMAT, 'pulseaudio', 'pulseaudio-module-bluetooth', 'bluez', 'pipewire-audio', 'pipewire-pulse', 'wireplumber', 'pipewire', 'libspa-0.2-bluetooth', 'pipewire-bin'];
const TIMER = `bt-speaker-connect@00:11:22:33:44:55.timer`;
const STATES = [['systemctl', 'is-active', 'pulseaudio.service'], ['systemctl', 'is-active', 'bluetooth.service'], ['systemctl', 'is-active', TIMER]];
const NAME_HAS_OWNER = ['busctl', '--system', 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', 'org.bluez'];
const PGREP = ['pgrep', '-l', '-x', 'pipewire-pulse|wireplumber'];

describe.skipIf(missingTools('/usr/sbin/sshd', 'ssh'))('pi audio over ssh (real OpenSSH, recording programs on the Pi side)', () => {
  let sshd: TestSshd;
  let root: string;
  let fake: Awaited<ReturnType<typeof installFakePi>>;
  // Files go under a temp root on the far side (so this machine's /etc is never touched); commands run for real.
  let opened: TargetSystem[] = [];
  const target = () => {
    const t = remoteTarget({ runner: processRunner, host: sshd.alias, sshConfig: sshd.sshConfigPath, root, liveUnderRoot: true });
    opened.push(t);
    return t;
  };
  /** Calls other than sudo and id, as argv with the program name first. */
  const commands = async () => (await sshd.calls()).filter((c) => c.name !== 'sudo' && c.name !== 'id').map((c) => [c.name, ...c.argv]);

  beforeAll(async () => {
    sshd = await startSshd({ alias: 'pi' });
  });
  afterAll(async () => {
    await sshd?.stop();
    await cleanupPiRoots();
  });
  afterEach(async () => {
    await Promise.all(opened.map((t) => t.close()));
    opened = [];
  });
  beforeEach(async () => {
    root = await makePiRoot({ packages: true });
    mkdirSync(path.join(root, 'run/systemd/system'), { recursive: true });
    await sshd.clearCalls();
    // Logs in as a normal user (uid 1000, "pi"), so everything must go through sudo -n.
    fake = await installFakePi(sshd.binDir, sshd.logFile, { uid: 1000 } as Partial<FakePiState>, ['id', 'sudo']);
  });

  it('setup on a fresh Pi: the exact commands in order, through sudo; a second run changes nothing', { timeout: 120_000 }, async () => {
    const result = await setup({ speaker: MAC }, { target: target() });
    expect(result.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(await commands()).toEqual([
      QUERY,
      PGREP,
      ...STATES,
      ['apt-get', 'update', '-q'],
      ['apt-get', 'install', '-y', '-q', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', 'pulseaudio', 'pulseaudio-module-bluetooth', 'bluez'],
      QUERY,
      PGREP,
      ...STATES,
      ['bluetoothctl', 'show'],
      ['bluetoothctl', 'info', MAC],
      ['usermod', '-a', '-G', 'pulse-access', 'root'],
      ['usermod', '-a', '-G', 'pulse-access', 'pi'],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'start', 'pulseaudio.service'],
      ['systemctl', 'start', 'bluetooth.service'],
      ['bluetoothctl', 'power', 'on'],
      ['bluetoothctl', '--timeout', '20', 'scan', 'on'],
      ['bluetoothctl', '--agent', 'NoInputNoOutput', '--timeout', '30', 'pair', MAC],
      ['bluetoothctl', 'info', MAC], // bluetoothctl --timeout exits 0 whatever happened: the state is read back
      ['bluetoothctl', 'trust', MAC],
      ['bluetoothctl', 'info', MAC],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'start', TIMER],
      ['bluetoothctl', '--timeout', '30', 'connect', MAC],
      // Verify: D-Bus is asked before bluetoothctl, so a dead bluetoothd never hangs it.
      ['systemctl', 'is-active', 'pulseaudio.service'],
      ['systemctl', 'is-active', 'bluetooth.service'],
      NAME_HAS_OWNER,
      ['bluetoothctl', 'list'],
      ['bluetoothctl', 'show'],
      ['pactl', '-s', '/run/pulse/native', 'list', 'short', 'modules'],
      ['pactl', '-s', '/run/pulse/native', 'list', 'short', 'sinks'],
      ['bluetoothctl', 'info', MAC],
      ['systemctl', 'is-active', TIMER],
    ]);
    const calls = await sshd.calls();
    const sudo = calls.filter((c) => c.name === 'sudo');
    expect(sudo.every((c) => c.argv[0] === '-n' && c.argv[1] === '--')).toBe(true);
    // Commands travel as one `sh -c` per batch, every argument shell-quoted.
    expect(sudo.every((c) => c.argv[2] === 'sh' && c.argv[3] === '-c')).toBe(true);
    expect(sudo.some((c) => c.argv[4]!.includes('{ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef'))).toBe(true);
    // Every bluetoothctl/systemctl/pactl runs under a time limit.
    expect(sudo.some((c) => c.argv[4]!.includes('{ timeout -k 1 5 bluetoothctl list; }'))).toBe(true);
    expect(sudo.filter((c) => /\{ (bluetoothctl|systemctl|pactl|busctl) /.test(c.argv[4]!))).toEqual([]);
    expect(sudo.some((c) => c.argv[4]!.includes("{ pgrep -l -x 'pipewire-pulse|wireplumber'; }"))).toBe(true);
    expect(calls.every((c) => !c.tty)).toBe(true);
    // Files were written atomically on the far side, with their modes.
    expect(readFileSync(path.join(root, 'etc/systemd/system/pulseaudio.service'), 'utf8')).toBe(SERVICE_UNIT);
    expect(statSync(path.join(root, 'etc/systemd/system/pulseaudio.service')).mode & 0o777).toBe(0o644);
    expect(readlinkSync(path.join(root, `etc/systemd/system/timers.target.wants/${TIMER}`))).toBe('/etc/systemd/system/bt-speaker-connect@.timer');
    expect(readdirSync(path.join(root, 'etc/systemd/system')).filter((n) => n.startsWith('.opsctl'))).toEqual([]);
    expect(JSON.parse(readFileSync(path.join(root, 'var/lib/opsctl/pi-audio/manifest.json'), 'utf8'))).toMatchObject({
      packages: ['pulseaudio', 'pulseaudio-module-bluetooth', 'bluez'],
      groups: [{ user: 'root', group: 'pulse-access' }, { user: 'pi', group: 'pulse-access' }],
      speakers: [MAC],
    });

    // The recording usermod changed nothing; on a real Pi the memberships now exist.
    const { writeFileSync } = await import('node:fs');
    const group = readFileSync(path.join(root, 'etc/group'), 'utf8').replace('pulse-access:x:113:', 'pulse-access:x:113:root,pi');
    writeFileSync(path.join(root, 'etc/group'), group);
    await sshd.clearCalls();
    const again = await setup({ speaker: MAC }, { target: target() });
    expect(changeCount(again.plan)).toBe(0);
    expect((await commands()).map((c) => c[0])).not.toContain('apt-get');
    expect((await commands()).filter((c) => ['usermod', 'apt-get'].includes(c[0]!) || (c[0] === 'systemctl' && c[1] !== 'is-active'))).toEqual([]);

    const st = await status({}, { target: target() });
    expect(st.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(st.user).toBe('pi');

    await sshd.clearCalls();
    await uninstall({}, { target: target() });
    expect((await commands()).filter((c) => c[0] !== 'dpkg-query' && c[0] !== 'pgrep')).toEqual([
      ['systemctl', 'stop', TIMER, `bt-speaker-connect@${MAC}.service`],
      ['systemctl', 'stop', 'pulseaudio.service'],
      ['gpasswd', '-d', 'root', 'pulse-access'],
      ['gpasswd', '-d', 'pi', 'pulse-access'],
      ['systemctl', 'daemon-reload'],
    ]);
    expect(readdirSync(path.join(root, 'var/lib/opsctl'))).toEqual([]);
  });

  it('explains org.bluez.Error.Failed from a real bluetoothctl failure', async () => {
    await fake.state().then(async (s) => {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(fake.stateFile, JSON.stringify({ ...s, installed: ['pulseaudio', 'pulseaudio-module-bluetooth', 'bluez'], failConnect: 'org.bluez.Error.Failed br-connection-profile-unavailable' }));
    });
    const err = await pair({ mac: MAC.toLowerCase() }, { target: target() }).catch((e) => e);
    expect(err).toMatchObject({ code: 'bluez-failed', exitCode: 1 });
    expect(err.message).toContain('refused the audio connection (org.bluez.Error.Failed): no audio service was registered with BlueZ');
    const cmds = await commands();
    expect(cmds.filter((c) => c[0] === 'bluetoothctl').map((c) => c.slice(1).join(' '))).toEqual([
      'show',
      `info ${MAC}`,
      'power on',
      '--timeout 20 scan on',
      `--agent NoInputNoOutput --timeout 30 pair ${MAC}`,
      `info ${MAC}`,
      `trust ${MAC}`,
      `info ${MAC}`,
      `--timeout 30 connect ${MAC}`,
    ]);
    // Paired and trusted, so the reconnect timer is on before the connect attempt: it keeps trying by itself.
    expect(readlinkSync(path.join(root, `etc/systemd/system/timers.target.wants/${TIMER}`))).toBe('/etc/systemd/system/bt-speaker-connect@.timer');
    expect(cmds).toContainEqual(['systemctl', 'start', TIMER]);
  });

  it('pair that silently failed (bluetoothctl exits 0) enables nothing and says so', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(fake.stateFile, JSON.stringify({ ...(await fake.state()), installed: ['pulseaudio', 'pulseaudio-module-bluetooth', 'bluez'], active: ['pulseaudio.service', 'bluetooth.service'], pairSilentlyFails: true }));
    const err = await pair({ mac: MAC }, { target: target() }).catch((e) => e);
    expect(err).toMatchObject({ code: 'pairing-failed', exitCode: 1 });
    expect(err.message).toBe(`Pairing ${MAC} did not take effect (bluetoothctl info ${MAC} says Paired: no); the reconnect timer was not enabled.`);
    expect(() => readlinkSync(path.join(root, `etc/systemd/system/timers.target.wants/${TIMER}`))).toThrow();
    expect((await commands()).filter((c) => c[0] === 'systemctl' && c[1] !== 'is-active')).toEqual([]);
  });

  it('status with bluetoothd stopped: never asks bluetoothctl (which would wait forever), names the cause, and is quick', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(fake.stateFile, JSON.stringify({ ...(await fake.state()), installed: ['pulseaudio', 'pulseaudio-module-bluetooth', 'bluez'], active: ['pulseaudio.service'], bluetoothdDown: true }));
    const t0 = Date.now();
    const st = await status({}, { target: target() });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(st.checks.find((c) => c.id === 'bluetoothd')).toMatchObject({ status: 'problem', detail: 'bluetoothd not running (nobody owns org.bluez; bluetooth.service inactive)' });
    expect(st.checks.find((c) => c.id === 'controller')).toMatchObject({ status: 'skipped' });
    expect((await commands()).filter((c) => c[0] === 'bluetoothctl')).toEqual([]);

    // bluetoothd owns its name but hangs: bluetoothctl is stopped at its limit and the message says what it waited for.
    writeFileSync(fake.stateFile, JSON.stringify({ ...(await fake.state()), bluetoothdDown: false, bluetoothdHung: true, active: ['pulseaudio.service', 'bluetooth.service'] }));
    const t1 = Date.now();
    const hung = await status({}, { target: target() });
    expect(Date.now() - t1).toBeLessThan(15_000);
    expect(hung.checks.find((c) => c.id === 'controller')).toMatchObject({ status: 'problem', detail: '`bluetoothctl list` did not answer within 5 s (waited for bluetoothd to list controllers)' });
  });

  it('status on a Pi without a Bluetooth adapter says "no controller"', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(fake.stateFile, JSON.stringify({ ...(await fake.state()), installed: ['pulseaudio', 'pulseaudio-module-bluetooth', 'bluez'], active: ['pulseaudio.service', 'bluetooth.service'], noController: true }));
    const st = await status({}, { target: target() });
    expect(st.checks.find((c) => c.id === 'bluetoothd')).toMatchObject({ status: 'ok' });
    expect(st.checks.find((c) => c.id === 'controller')).toMatchObject({ status: 'problem', detail: 'no controller: bluetoothd runs but sees no Bluetooth adapter' });
  });

  it('refuses a PipeWire desktop image, listing what apt-get -s says it would remove, and changes nothing', async () => {
    root = await makePiRoot({ packages: true, pipewire: true });
    mkdirSync(path.join(root, 'run/systemd/system'), { recursive: true });
    const { writeFileSync } = await import('node:fs');
    const simulate = readFileSync(path.join(bookwormFixtures, '..', 'samples', 'apt-get-simulate-pipewire.txt'), 'utf8');
    writeFileSync(fake.stateFile, JSON.stringify({ ...(await fake.state()), installed: ['bluez', 'pipewire-audio', 'pipewire-pulse', 'wireplumber'], aptSimulate: simulate }));
    const before = snapshot(root);
    const err = await setup({ soundServer: 'pulseaudio' }, { target: target() }).catch((e) => e);
    expect(err).toMatchObject({ code: 'pipewire-present', exitCode: 1 });
    expect(err.message).toContain('installing PulseAudio removes: pipewire-audio; masked for all users: pipewire-pulse.service, pipewire-pulse.socket, wireplumber.service');
    expect(await commands()).toEqual([QUERY, PGREP, ['systemctl', 'is-active', 'pulseaudio.service'], ['systemctl', 'is-active', 'bluetooth.service'], ['apt-get', 'install', '-s', '-y', 'pulseaudio', 'pulseaudio-module-bluetooth']]);
    expect(snapshot(root)).toEqual(before);
  });

  it('reads /etc/os-release through relative and absolute links inside the remote root', async () => {
    const { rmSync, symlinkSync, writeFileSync } = await import('node:fs');
    const { gatherFacts } = await import('../../src/commands/pi/facts.js');
    mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
    writeFileSync(path.join(root, 'usr/lib/os-release'), 'ID=debian\nVERSION_CODENAME=trixie\nPRETTY_NAME="Debian GNU/Linux 13 (trixie)"\n');
    rmSync(path.join(root, 'etc/os-release'));
    symlinkSync('../usr/lib/os-release', path.join(root, 'etc/os-release'));
    expect((await gatherFacts(target())).os?.prettyName).toBe('Debian GNU/Linux 13 (trixie)');
    // Absolute: the far side's own /usr/lib/os-release (this machine: bookworm) must not be read.
    rmSync(path.join(root, 'etc/os-release'));
    symlinkSync('/usr/lib/os-release', path.join(root, 'etc/os-release'));
    expect((await gatherFacts(target())).os?.codename).toBe('trixie');
    // A directory link on the way, and a climb above the root.
    mkdirSync(path.join(root, 'opt/img'), { recursive: true });
    writeFileSync(path.join(root, 'opt/img/rel'), 'ID=debian\nPRETTY_NAME="via /srv"\n');
    symlinkSync('/opt/img', path.join(root, 'srv-img'));
    rmSync(path.join(root, 'etc/os-release'));
    symlinkSync('../../../../srv-img/rel', path.join(root, 'etc/os-release'));
    expect((await gatherFacts(target())).os?.prettyName).toBe('via /srv');
  });

  it('a --host run killed with SIGTERM leaves no ssh control master and no temp folder', async () => {
    const { writeFileSync, readdirSync: ls } = await import('node:fs');
    const { spawn, spawnSync } = await import('node:child_process');
    writeFileSync(fake.stateFile, JSON.stringify({ ...(await fake.state()), installed: ['pulseaudio', 'pulseaudio-module-bluetooth', 'bluez'], active: ['pulseaudio.service', 'bluetooth.service'], bluetoothdHung: true }));
    const before = new Set(ls('/tmp').filter((n) => n.startsWith('opsctl-ssh-')));
    const child = spawn(process.execPath, [path.resolve('bin/opsctl.js'), 'pi', 'audio', 'status', '--host', sshd.alias, '--ssh-config', sshd.sshConfigPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: mkdtempSync(path.join(os.tmpdir(), 'home-')) } });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    // status only reads (this machine's /etc over ssh) and asks the recording programs.
    // Wait until it is inside the hung bluetoothctl (the master is up by then).
    for (let i = 0; i < 200 && !/bluetoothd on the system bus/.test(stdout); i++) await new Promise((r) => setTimeout(r, 100));
    const mine = ls('/tmp').filter((n) => n.startsWith('opsctl-ssh-') && !before.has(n));
    expect(mine).toHaveLength(1);
    const masters = () => spawnSync('pgrep', ['-f', `ControlPath=/tmp/${mine[0]}`], { encoding: 'utf8' }).stdout.trim();
    expect(masters()).not.toBe('');
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code).toBe(143);
    expect(ls('/tmp')).not.toContain(mine[0]);
    expect(masters()).toBe('');
  });

  it('explains a sudo that wants a password', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(fake.stateFile, JSON.stringify({ ...(await fake.state()), sudoPassword: true }));
    const err = await status({}, { target: target() }).catch((e) => e);
    expect(err).toMatchObject({ code: 'sudo-password', exitCode: 1, message: 'sudo on pi wants a password, and opsctl runs it non-interactively.' });
    expect(err.hint).toContain('passwordless sudo');
  });

  it('says when the Pi cannot be reached, and --dry-run over ssh changes nothing', async () => {
    const cfg = await sshd.writeClientConfig([{ host: 'deadpi', hostName: '127.0.0.2' }]);
    const home = mkdtempSync(path.join(os.tmpdir(), 'home-'));
    const m = memoryStreams();
    expect(await runCli(['pi', 'audio', 'status', '--host', 'deadpi', '--ssh-config', cfg], { streams: m.streams, stdin: process.stdin, env: { HOME: home, PATH: process.env.PATH } })).toBe(1);
    expect(m.stderr).toMatch(/error: Cannot connect to deadpi over ssh: .*(refused|Connection)/);
    expect(m.stderr).toContain('hint: nothing listens on the ssh port there');

    const m2 = memoryStreams();
    expect(await runCli(['--dry-run', 'pi', 'audio', 'setup', '--host', 'pi', '--ssh-config', sshd.sshConfigPath, '--root', root], { streams: m2.streams, stdin: process.stdin, env: { HOME: home, PATH: process.env.PATH } })).toBe(0);
    expect(m2.stdout).toContain('[dry run] would write /etc/systemd/system/pulseaudio.service — mode 0644');
    expect(m2.stdout).toContain('[dry run] nothing was changed');
    expect((await commands()).map((c) => c[0])).toEqual([]); // under --root nothing is asked or run on the far side
    expect(snapshot(root)['etc/systemd/system/pulseaudio.service']).toBeUndefined();
  });
});

describe('pi audio over ssh: answers that cannot be trusted', () => {
  it('an empty or odd answer to `id -u` is an error with a hint, never taken for root (which would skip sudo)', async () => {
    for (const stdout of ['', 'Welcome to the Pi!\n']) {
      const runner = { which: () => undefined, run: async () => ({ exitCode: 0, stdout, stderr: '' }) };
      const t = remoteTarget({ runner, host: 'pi' });
      await expect(t.uid()).rejects.toMatchObject({ code: 'remote-shell', hint: expect.stringContaining('ssh pi id -u') });
      await t.close();
    }
  });
});
