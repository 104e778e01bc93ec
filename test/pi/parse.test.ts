import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bluetoothctlError, normalizeMac, parseController, parseDeviceInfo, parseShortModules, parseShortSinks } from '../../src/commands/pi/bluetooth.js';
import { parseAptSimulation, parseDpkgQuery, parseDpkgStatus, parseOsRelease, isDebianFamily, removedByInstalling } from '../../src/commands/pi/facts.js';
import { iniValue, removeBlock, unifiedDiff, upsertBlock, addMember, removeMember } from '../../src/commands/pi/edit.js';
import { parseReadLine } from '../../src/commands/pi/remote.js';
import { DPKG, bookwormFixtures } from '../support/pi-root.js';

const sample = (name: string) => readFileSync(path.join(bookwormFixtures, '..', 'samples', name), 'utf8');
const res = (stdout: string, exitCode = 1) => ({ stdout, stderr: '', exitCode });
const MAC = '00:11:22:33:44:55';

describe('bluetoothctl output', () => {
  it('reads Paired/Trusted/Connected and the Audio Sink profile from `info`', () => {
    expect(parseDeviceInfo(sample('bluetoothctl-info-connected.txt'))).toEqual({ mac: MAC, name: 'JBL Flip 5', paired: true, trusted: true, connected: true, audioSink: true });
    expect(parseDeviceInfo(sample('bluetoothctl-info-discovered.txt'))).toMatchObject({ paired: false, trusted: false, connected: false, audioSink: true });
    expect(parseDeviceInfo(sample('bluetoothctl-info-unknown.txt'))).toBeUndefined();
  });

  it('reads the controller from `show`', () => {
    expect(parseController(sample('bluetoothctl-show-off.txt'))).toEqual({ address: 'B8:27:EB:12:34:56', powered: false });
    expect(parseController(sample('bluetoothctl-no-controller.txt'))).toBeUndefined();
  });

  it('explains org.bluez.Error.Failed in plain words', () => {
    for (const f of ['bluetoothctl-connect-failed.txt', 'bluetoothctl-connect-profile-unavailable.txt']) {
      const err = bluetoothctlError('connect', MAC, res(sample(f)))!;
      expect(err.code).toBe('bluez-failed');
      expect(err.message).toBe(`the speaker ${MAC} refused the audio connection (org.bluez.Error.Failed): no audio service was registered with BlueZ to take it.`);
      expect(err.hint).toContain('PulseAudio must be running with module-bluetooth-discover loaded before connecting');
    }
  });

  it('tells a speaker that is off from one that refuses, and other failures', () => {
    expect(bluetoothctlError('connect', MAC, res(sample('bluetoothctl-connect-page-timeout.txt')))).toMatchObject({ code: 'speaker-unreachable' });
    expect(bluetoothctlError('pair', MAC, res(sample('bluetoothctl-pair-auth-failed.txt')))).toMatchObject({ code: 'pairing-rejected' });
    expect(bluetoothctlError('info', MAC, res(sample('bluetoothctl-info-unknown.txt')))).toMatchObject({ code: 'device-not-found' });
    expect(bluetoothctlError('power on', MAC, res(sample('bluetoothctl-no-controller.txt')))).toMatchObject({ code: 'no-controller' });
    expect(bluetoothctlError('connect', MAC, res('Failed to connect: org.bluez.Error.AlreadyConnected\n'))).toBeUndefined();
    expect(bluetoothctlError('connect', MAC, res(sample('bluetoothctl-connect-ok.txt'), 0))).toBeUndefined();
    expect(bluetoothctlError('pair', MAC, res(sample('bluetoothctl-pair-ok.txt'), 0))).toBeUndefined();
  });

  it('accepts MACs in the usual spellings and rejects others with exit 2', () => {
    expect(normalizeMac('00:11:22:aa:bb:cc')).toBe('00:11:22:AA:BB:CC');
    expect(normalizeMac('00-11-22-AA-BB-CC')).toBe('00:11:22:AA:BB:CC');
    for (const bad of ['00:11:22:33:44', '00:11:22:33:44:55:66', 'gg:11:22:33:44:55', '00:11:22:33:44:55; reboot', '']) {
      expect(() => normalizeMac(bad)).toThrow(expect.objectContaining({ exitCode: 2, code: 'bad-mac' }));
    }
  });
});

describe('pactl output', () => {
  it('lists modules and sinks', () => {
    expect(parseShortModules(sample('pactl-modules.txt'))).toContain('module-bluetooth-discover');
    expect(parseShortModules(sample('pactl-modules.txt'))).toHaveLength(14);
    expect(parseShortSinks(sample('pactl-sinks.txt'))).toEqual([
      { name: 'alsa_output.platform-bcm2835_audio.analog-stereo', state: 'SUSPENDED' },
      { name: 'bluez_sink.00_11_22_33_44_55.a2dp_sink', state: 'IDLE' },
    ]);
    expect(parseShortModules(sample('pactl-refused.txt'))).toEqual([]);
  });
});

describe('system facts', () => {
  it('recognises Debian and Raspberry Pi OS, not others', () => {
    expect(isDebianFamily(parseOsRelease(readFileSync(path.join(bookwormFixtures, 'etc/os-release'), 'utf8')))).toBe(true);
    expect(isDebianFamily(parseOsRelease('PRETTY_NAME="Raspbian GNU/Linux 11 (bullseye)"\nID=raspbian\nID_LIKE=debian\n'))).toBe(true);
    expect(isDebianFamily(parseOsRelease('ID=fedora\n'))).toBe(false);
    expect(isDebianFamily(parseOsRelease(undefined))).toBe(false);
  });

  it('reads dpkg-query, the dpkg status file and apt-get -s', () => {
    expect(parseDpkgQuery('pulseaudio\tii \t16.1+dfsg1-2+b1\nbluez\tun \t\n')).toEqual(new Map([['pulseaudio', '16.1+dfsg1-2+b1']]));
    const status = [DPKG.base, DPKG.bluez, DPKG.pipewirePulse, DPKG.pipewireAudio, DPKG.wireplumber].join('\n\n') + '\n';
    expect([...parseDpkgStatus(status, ['bluez', 'pulseaudio', 'wireplumber']).keys()]).toEqual(['bluez', 'wireplumber']);
    expect(removedByInstalling(status, ['pulseaudio', 'pulseaudio-module-bluetooth'])).toEqual(['pipewire-audio']);
    expect(parseAptSimulation(sample('apt-get-simulate-pipewire.txt'))).toEqual(['pipewire-audio']);
  });

  it('decodes the remote file reader lines', () => {
    expect(parseReadLine(`F 640 ${Buffer.from('a\nb\n').toString('base64')}`)).toEqual({ type: 'file', mode: 0o640, content: 'a\nb\n' });
    expect(parseReadLine(`L ${Buffer.from('/dev/null').toString('base64')} N`)).toEqual({ type: 'symlink', target: '/dev/null', resolved: { type: 'missing' } });
    // A link carries what it resolves to inside the root, owner included.
    expect(parseReadLine(`L ${Buffer.from('../usr/lib/os-release').toString('base64')} F 644:0:42 ${Buffer.from('ID=debian\n').toString('base64')}`)).toEqual({
      type: 'symlink',
      target: '../usr/lib/os-release',
      resolved: { type: 'file', mode: 0o644, uid: 0, gid: 42, content: 'ID=debian\n' },
    });
    expect(parseReadLine('D')).toEqual({ type: 'dir' });
    expect(parseReadLine('N')).toEqual({ type: 'missing' });
  });
});

describe('edits that keep the user\'s lines', () => {
  const main = readFileSync(path.join(bookwormFixtures, 'etc/bluetooth/main.conf'), 'utf8');
  it('puts the INI block at the end of its section and removes exactly it', () => {
    const off = main.replace('\nAutoEnable=true\n', '\nAutoEnable=false\n');
    expect(iniValue(off, 'Policy', 'AutoEnable')).toBe('false');
    const on = upsertBlock(off, 'AutoEnable=true\n', 'Policy');
    expect(iniValue(on, 'Policy', 'AutoEnable')).toBe('true');
    expect(iniValue(on, 'General', 'AutoEnable')).toBeUndefined();
    expect(upsertBlock(on, 'AutoEnable=true\n', 'Policy')).toBe(on);
    expect(removeBlock(on)).toBe(off);
    const noSection = '[General]\nName = x\n';
    expect(removeBlock(upsertBlock(noSection, 'AutoEnable=true\n', 'Policy'))).toBe(noSection);
  });

  it('adds and removes group members', () => {
    const g = 'audio:x:29:pi\npulse-access:x:113:\n';
    expect(addMember(addMember(g, 'pulse-access', 'root'), 'pulse-access', 'pi')).toBe('audio:x:29:pi\npulse-access:x:113:root,pi\n');
    expect(addMember('pulse-access:x:113:root\n', 'pulse-access', 'root')).toBe('pulse-access:x:113:root\n');
    expect(removeMember('pulse-access:x:113:root,pi\n', 'pulse-access', 'root')).toBe('pulse-access:x:113:pi\n');
  });

  it('makes unified diffs', () => {
    expect(unifiedDiff('a\nb\nc\n', 'a\nB\nc\n', '/etc/x')).toBe('--- a/etc/x\n+++ b/etc/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n');
    expect(unifiedDiff(undefined, 'x\n', '/etc/y')).toBe('--- /dev/null\n+++ b/etc/y\n@@ -0,0 +1,1 @@\n+x\n');
    expect(unifiedDiff('same\n', 'same\n', '/z')).toBe('');
  });
});
