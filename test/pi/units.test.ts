import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { CONNECT_SCRIPT, CONNECT_TEMPLATE_UNIT, CONNECT_TIMER_UNIT } from '../../src/commands/pi/recipe.js';
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
    for (const unit of ['pulseaudio.service', 'bt-speaker-connect@001122334455.service', 'bt-speaker-connect@001122334455.timer']) {
      const r = verify(unit);
      expect({ unit, stderr: r.stderr, status: r.status }).toEqual({ unit, stderr: '', status: 0 });
    }
    // The real instance name: systemd-analyze reads "a:b" as FILE:ALIAS, so hand it the template file with the alias.
    for (const kind of ['service', 'timer']) {
      const r = verify(`${root}/etc/systemd/system/bt-speaker-connect@.${kind}:bt-speaker-connect@${MAC}.${kind}`);
      expect({ kind, stderr: r.stderr, status: r.status }).toEqual({ kind, stderr: '', status: 0 });
    }

    // A broken unit is caught by the same check (the check itself works).
    writeFileSync(path.join(root, 'etc/systemd/system/broken.service'), '[Service]\nType=notify\nExecStart=pulseaudio --system\nRestart=sometimes\n');
    expect(verify('broken.service').stderr).not.toBe('');

    const sc = (...args: string[]) => spawnSync('systemctl', [`--root=${root}`, ...args], { encoding: 'utf8' }).stdout.trim();
    expect(sc('is-enabled', 'pulseaudio.service')).toBe('enabled');
    expect(sc('is-enabled', `bt-speaker-connect@${MAC}.timer`)).toBe('enabled');
    // The service is started by the timer only (no [Install] of its own).
    expect(sc('is-enabled', `bt-speaker-connect@${MAC}.service`)).toBe('static');
    expect(sc('--global', 'is-enabled', 'pulseaudio.service')).toBe('masked');
    expect(sc('--global', 'is-enabled', 'pulseaudio.socket')).toBe('masked');
  });
});

describe('bt-speaker-connect (the script the reconnect timer runs)', () => {
  // A bluetoothctl like BlueZ's: `connect` with --timeout exits 0 whatever happened; only `info` tells.
  const fake = (dir: string, speakerOn: boolean) => {
    const state = path.join(dir, 'connected');
    writeFileSync(
      path.join(dir, 'bluetoothctl'),
      `#!/bin/sh
echo "$@" >> ${dir}/calls
case "$*" in
  *"info "*) if [ -e ${state} ]; then printf 'Device ${MAC} (public)\\n\\tConnected: yes\\n'; else printf 'Device ${MAC} (public)\\n\\tConnected: no\\n'; fi ;;
  *"connect "*) ${speakerOn ? `touch ${state}; echo 'Connection successful'` : `echo 'Attempting to connect to ${MAC}'`} ;;
esac
exit 0
`,
      { mode: 0o755 },
    );
  };
  const runScript = (dir: string) => {
    writeFileSync(path.join(dir, 'connect.sh'), CONNECT_SCRIPT, { mode: 0o755 });
    return spawnSync('sh', [path.join(dir, 'connect.sh'), MAC], { encoding: 'utf8', env: { PATH: `${dir}:${process.env.PATH}` } });
  };

  it('reports "not yet" (75) when the speaker is off although bluetoothctl exited 0, and 0 once it is connected', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bt-connect-'));
    fake(dir, false);
    const off = runScript(dir);
    expect(off.status).toBe(75);
    expect(off.stdout).toContain(`${MAC}: not connected yet; next attempt in 20 s`);
    expect(readFileSync(path.join(dir, 'calls'), 'utf8')).toContain(`--timeout 25 connect ${MAC}`);
    fake(dir, true);
    const on = runScript(dir);
    expect({ status: on.status, stdout: on.stdout }).toEqual({ status: 0, stdout: `${MAC}: connected now\n` });
    // Connected already: no connect attempt at all.
    writeFileSync(path.join(dir, 'calls'), '');
    expect(runScript(dir).stdout).toBe(`${MAC}: connected\n`);
    expect(readFileSync(path.join(dir, 'calls'), 'utf8')).not.toContain('connect ' + MAC + '\n');
  });

  it('the timer retries 20 s after every attempt, from boot, for as long as the Pi runs', () => {
    expect(CONNECT_TIMER_UNIT).toMatch(/^OnBootSec=10$/m);
    expect(CONNECT_TIMER_UNIT).toMatch(/^OnUnitInactiveSec=20$/m);
    expect(CONNECT_TIMER_UNIT).toMatch(/^WantedBy=timers\.target$/m);
    expect(CONNECT_TEMPLATE_UNIT).toMatch(/^SuccessExitStatus=75$/m);
  });
});

afterAll(cleanupPiRoots);

describe('status interrupted (Ctrl-C) while a check waits', () => {
  it('is exit 130 and names what it was waiting for, told apart from "not running" and "not answering"', async () => {
    const { liveChecks } = await import('../../src/commands/pi/checks.js');
    const controller = new AbortController();
    const target = localTarget({ runner: processRunner, root: undefined, signal: controller.signal });
    // The first stage asks systemd and D-Bus; a runner that hangs until aborted stands in for a slow Pi.
    const hanging = { ...target, live: true, execMany: (_cmds: unknown[]) => new Promise<never>((_r, reject) => controller.signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { exitCode: 130 })))) };
    setTimeout(() => controller.abort(), 50);
    await expect(liveChecks(hanging, { speakers: [] })).rejects.toMatchObject({ exitCode: 130, code: 'interrupted', message: 'Interrupted while waiting for systemd to report pulseaudio.service.' });
  });
});
