import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { localTarget } from '../../src/commands/pi/target.js';
import { processRunner } from '../../src/lib/process.js';
import { run as setup } from '../../src/commands/pi/setup.js';
import { cleanupPiRoots, makePiRoot } from '../support/pi-root.js';
import { missingTools } from '../support/tools.js';

const MAC = '00:11:22:33:44:55';

describe.skipIf(missingTools('systemd-analyze', 'systemctl'))('unit files written by setup', () => {
  it('pass systemd-analyze verify --root with nothing on stderr, and systemctl --root sees them enabled and masked', async () => {
    const root = await makePiRoot({ packages: true });
    await setup({ user: 'pi', speaker: MAC }, { target: localTarget({ runner: processRunner, root }) });
    // The units they reference (multi-user.target, dbus.service, sound.target…) as on a real system.
    cpSync('/lib/systemd/system', path.join(root, 'lib/systemd/system'), { recursive: true, force: false, errorOnExist: false, verbatimSymlinks: true });
    mkdirSync(path.join(root, 'usr/lib/systemd/system'), { recursive: true });
    const verify = (unit: string) => spawnSync('systemd-analyze', ['verify', '--man=no', `--root=${root}`, unit], { encoding: 'utf8' });
    for (const unit of ['pulseaudio.service', 'bt-speaker-connect@001122334455.service']) {
      const r = verify(unit);
      expect({ unit, stderr: r.stderr, status: r.status }).toEqual({ unit, stderr: '', status: 0 });
    }
    // The real instance name: systemd-analyze reads "a:b" as FILE:ALIAS, so hand it the template file with the alias.
    const r = verify(`${root}/etc/systemd/system/bt-speaker-connect@.service:bt-speaker-connect@${MAC}.service`);
    expect({ stderr: r.stderr, status: r.status }).toEqual({ stderr: '', status: 0 });

    // A broken unit is caught by the same check (the check itself works).
    writeFileSync(path.join(root, 'etc/systemd/system/broken.service'), '[Service]\nType=notify\nExecStart=pulseaudio --system\nRestart=sometimes\n');
    expect(verify('broken.service').stderr).not.toBe('');

    const sc = (...args: string[]) => spawnSync('systemctl', [`--root=${root}`, ...args], { encoding: 'utf8' }).stdout.trim();
    expect(sc('is-enabled', 'pulseaudio.service')).toBe('enabled');
    expect(sc('is-enabled', `bt-speaker-connect@${MAC}.service`)).toBe('enabled');
    expect(sc('--global', 'is-enabled', 'pulseaudio.service')).toBe('masked');
    expect(sc('--global', 'is-enabled', 'pulseaudio.socket')).toBe('masked');
  });
});

describe.skipIf(missingTools('dbus-daemon'))('D-Bus policy written by setup', () => {
  const parse = (root: string, file: string) => {
    const wrapper = path.join(root, 'dbus-wrapper.conf');
    writeFileSync(
      wrapper,
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=${root}/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow user="*"/></policy>
  <include>${file}</include>
</busconfig>
`,
    );
    const r = spawnSync('timeout', ['2', 'dbus-daemon', `--config-file=${wrapper}`, '--nofork'], { encoding: 'utf8' });
    // This test machine has no "pulse" user and no CAP_SYS_RESOURCE: those two notes are expected; nothing else is.
    const other = r.stderr.split('\n').filter((l) => l && !/Unknown username "pulse"|Failed to set fd limit/.test(l));
    return { status: r.status, other };
  };

  it('parses with dbus-daemon (a corrupted copy does not)', async () => {
    const root = await makePiRoot({ packages: true });
    await setup({ user: 'pi' }, { target: localTarget({ runner: processRunner, root }) });
    const policy = path.join(root, 'etc/dbus-1/system.d/pulseaudio-bluetooth.conf');
    expect(readFileSync(policy, 'utf8')).toContain('<policy user="pulse">\n    <allow send_destination="org.bluez"/>');
    expect(parse(root, policy)).toEqual({ status: 124, other: [] });
    const bad = path.join(root, 'bad.conf');
    writeFileSync(bad, readFileSync(policy, 'utf8').replace('<allow send_destination="org.bluez"/>', '<allow send_destination="org.bluez">'));
    expect(parse(root, bad).status).toBe(1);
  });
});

afterAll(cleanupPiRoots);
