/**
 * The setup plan: from what the target looks like (facts) and what was asked
 * (options) to a list of steps, each with the exact file contents, links and
 * commands it would change. Pure: no I/O, so --dry-run and tests see exactly
 * what apply would do.
 */
import { ExitCode, OpsError } from '../../lib/errors.js';
import { contentOf, type Entry, type TargetCommand } from './target.js';
import { addMember, iniValue, paIncludes, upsertBlock } from './edit.js';
import { describeArch, isDebianFamily, userUnitPath, type Facts } from './facts.js';
import type { DeviceInfo } from './bluetooth.js';
import { PIPEWIRE_SETUP_PACKAGES, planPipeWire } from './pipewire.js';
import {
  BLUETOOTH_PA, CLIENT_CONF, CONNECT_SCRIPT, CONNECT_TEMPLATE_UNIT, CONNECT_TIMER_UNIT, PACKAGES, PATHS, PIPEWIRE_USER_UNITS,
  PULSE_USER_UNITS, RECONNECT_EVERY_S, SERVICE_UNIT, SYSTEM_PA_INCLUDE, connectWantsPath, reconnectTimerName, timerWantsPath,
} from './recipe.js';

export type Change =
  | { kind: 'write'; path: string; mode: number; before: Entry; after: string; members?: Array<{ user: string; group: string }>; owner?: { uid?: number; gid?: number } }
  | { kind: 'link'; path: string; target: string; before: Entry }
  | { kind: 'remove'; path: string; before: Entry }
  | {
      kind: 'run';
      cmd: TargetCommand;
      why: string;
      optional?: boolean;
      /** `verify`: bluetoothctl's exit code says nothing with --timeout; `info` must show this afterwards. */
      bluetooth?: { action: 'power on' | 'scan' | 'pair' | 'trust' | 'connect'; mac: string; verify?: 'paired' | 'trusted' };
      group?: { user: string; group: string };
    };

export interface Step {
  id: string;
  /** The speaker MAC of a speaker step. */
  speaker?: string;
  title: string;
  changes: Change[];
  notes: string[];
}

export interface Plan {
  target: string;
  live: boolean;
  steps: Step[];
}

export interface SetupOptions {
  speaker?: string;
  user?: string;
  force?: boolean;
  soundServer?: SoundServerChoice;
  /** When pairing: controller and device state read from bluetoothctl (live only). */
  bluetooth?: { powered?: boolean; device?: DeviceInfo };
}

export const changeCount = (plan: Plan) => plan.steps.reduce((n, s) => n + s.changes.length, 0);

const fileText = (e: Entry | undefined) => contentOf(e);

/** A whole file opsctl owns: written when missing or different. */
function own(facts: Facts, path: string, content: string, mode = 0o644): Change[] {
  const before = facts.files.get(path) ?? { type: 'missing' };
  if (before.type === 'file' && before.content === content && (before.mode & 0o777) === mode) return [];
  return [{ kind: 'write', path, mode, before, after: content }];
}

function link(facts: Facts, path: string, target: string): Change[] {
  const before = facts.files.get(path) ?? { type: 'missing' };
  if (before.type === 'symlink' && before.target === target) return [];
  return [{ kind: 'link', path, target, before }];
}

export function preflight(facts: Facts, opts: SetupOptions, target: { live: boolean; kind: string }, server: SoundServer = 'pulseaudio'): string[] {
  const found: string[] = [];
  if (!isDebianFamily(facts.os)) {
    throw new OpsError(`This is ${facts.os ? facts.os.prettyName : 'not a system with /etc/os-release'}, not Debian or Raspberry Pi OS.`, {
      code: 'wrong-os',
      hint: 'opsctl pi audio sets up Debian-family systems with apt and systemd (Raspberry Pi OS bookworm or bullseye)',
    });
  }
  found.push(facts.os!.prettyName);
  const arch = describeArch(facts.arch);
  if (arch) found.push(arch);
  if (!facts.hasApt) throw new OpsError(`${facts.os!.prettyName} has no apt-get.`, { code: 'wrong-os', hint: 'install apt, or set the Pi up from a standard Raspberry Pi OS image' });
  found.push('apt');
  if (!facts.hasSystemctl) throw new OpsError(`${facts.os!.prettyName} has no systemd (systemctl not found).`, { code: 'wrong-os', hint: 'PulseAudio runs as a systemd service here: use a systemd-based image' });
  if (target.live && !facts.systemdRunning) {
    throw new OpsError('systemd is installed but is not running as the init system here.', { code: 'wrong-os', hint: 'run this on the booted Pi, or use --root DIR to prepare an image' });
  }
  found.push(target.live ? 'systemd (running)' : 'systemd');
  if (target.kind === 'local' && facts.uid !== 0) {
    throw new OpsError('Changing the system needs root.', { code: 'not-root', hint: 'run it with sudo: sudo opsctl pi audio setup …' });
  }
  const pw = facts.pipewire;
  if (server === 'pulseaudio' && (pw.packages.length || pw.running.length)) {
    const removed = pw.wouldRemove.length ? pw.wouldRemove.join(', ') : 'none';
    const masked = PIPEWIRE_USER_UNITS.filter((u) => pw.userUnits.includes(u));
    const what = `installing PulseAudio removes: ${removed}; masked for all users: ${masked.join(', ') || 'none'}`;
    if (!opts.force) {
      throw new OpsError(`PipeWire is the sound server here (${[...new Set([...pw.packages, ...pw.running.map((r) => `${r} running`)])].join(', ')}); ${what}.`, {
        code: 'pipewire-present',
        hint: 'keep PipeWire with --sound-server pipewire (the default here), or add --force to replace it with system-wide PulseAudio (`opsctl pi audio uninstall` does not bring PipeWire back: `apt-get install pipewire-audio`)',
      });
    }
    found.push(`PipeWire (replaced because of --force: ${what})`);
  }
  return found;
}

export function resolveUser(facts: Facts, requested: string | undefined, target: { live: boolean }): string | undefined {
  const user = requested ?? facts.invokingUser;
  if (user === undefined || user === 'root') return undefined;
  // The login we came in with may have no entry in this root's passwd (an image being built): not an error unless asked for.
  if (requested === undefined && facts.users.size && !facts.users.has(user)) return undefined;
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) {
    throw new OpsError(`"${user}" is not a valid user name.`, { exitCode: ExitCode.USAGE, code: 'bad-user', hint: 'lower-case letters, digits, - and _, starting with a letter' });
  }
  if (facts.users.size && !facts.users.has(user)) {
    throw new OpsError(`There is no user "${user}" on ${target.live ? 'the target' : 'the root'}.`, { exitCode: ExitCode.USAGE, code: 'bad-user', hint: 'pass --user with an existing login (the one that plays audio)' });
  }
  return user;
}

const inGroup = (facts: Facts, user: string, group: string) => (facts.groups.get(group) ?? []).includes(user);

export type SoundServer = 'pulseaudio' | 'pipewire';
export type SoundServerChoice = 'auto' | SoundServer;

/** Which sound server fits the image, and why (shown in the plan). */
export function chooseSoundServer(facts: Facts, choice: SoundServerChoice = 'auto'): { server: SoundServer; reason: string } {
  const pw = ['pipewire-pulse', 'wireplumber'].filter((p) => facts.installed.has(p));
  if (choice === 'pulseaudio') return { server: 'pulseaudio', reason: 'asked for (--sound-server pulseaudio): PulseAudio in system mode' };
  if (choice === 'pipewire') return { server: 'pipewire', reason: 'asked for (--sound-server pipewire): PipeWire + WirePlumber as a lingering user service' };
  if (pw.length) {
    return { server: 'pipewire', reason: `PipeWire is this image's sound server (${pw.map((p) => `${p} ${facts.installed.get(p)}`).join(', ')}): kept, as a lingering user service, instead of being replaced` };
  }
  if (facts.installed.has('pulseaudio')) return { server: 'pulseaudio', reason: `PulseAudio ${facts.installed.get('pulseaudio')} is installed: run system-wide` };
  return { server: 'pulseaudio', reason: 'no sound server installed (Lite): PulseAudio in system mode plays from boot with nobody logged in' };
}

function packagesStep(facts: Facts, packages: readonly string[], live: boolean): Step {
  const missing = packages.filter((p) => !facts.installed.has(p));
  const pkg: Step = { id: 'packages', title: 'Packages', changes: [], notes: [] };
  const have = packages.filter((p) => facts.installed.has(p));
  if (have.length) pkg.notes.push(`installed already: ${have.map((p) => `${p} ${facts.installed.get(p)}`).join(', ')}`);
  if (missing.length) {
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    if (!live) pkg.notes.push(`no running system under --root: install ${missing.join(' ')} in the image yourself (e.g. \`chroot DIR apt-get install …\`), then run setup again`);
    pkg.changes.push({ kind: 'run', cmd: { argv: ['apt-get', 'update', '-q'], env }, why: 'refresh package lists' });
    pkg.changes.push({
      kind: 'run',
      // Recommends pull a desktop's worth onto Lite: PulseAudio is 368 packages with them on bookworm, 123 without (measured with apt-get -s in a minbase root).
      cmd: { argv: ['apt-get', 'install', '-y', '-q', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', ...missing], env },
      why: `install ${missing.join(', ')}`,
    });
  }
  return pkg;
}

/** PipeWire path: packages, linger + headless WirePlumber, restart WirePlumber when its config changed, the speaker. */
function planPipeWireSetup(facts: Facts, opts: SetupOptions, target: { live: boolean }, user: string | undefined, steps: Step[]): Plan & { target: string } {
  steps.push(packagesStep(facts, PIPEWIRE_SETUP_PACKAGES, target.live));
  const pw = planPipeWire(facts, user, target.live, (path, content) => own(facts, path, content));
  steps.push(pw);
  const run: Step = { id: 'services', title: 'Services', changes: [], notes: [] };
  if (target.live && pw.changes.some((c) => c.kind === 'write')) {
    run.changes.push({ kind: 'run', cmd: { argv: ['systemctl', '--user', '-M', `${user}@`, 'restart', 'wireplumber.service'], timeoutS: 30, waitsFor: `${user}'s WirePlumber to restart` }, why: 'load the headless setting', optional: true });
  }
  steps.push(run);
  if (opts.speaker) steps.push(planSpeaker(facts, opts.speaker, opts.bluetooth, target.live));
  return { target: '', live: target.live, steps };
}

export function planSetup(facts: Facts, opts: SetupOptions, target: { live: boolean; kind: string; label: string }): Plan {
  const choice = chooseSoundServer(facts, opts.soundServer);
  const found = preflight(facts, opts, target, choice.server);
  const user = resolveUser(facts, opts.user, target);
  const steps: Step[] = [];
  steps.push({ id: 'preflight', title: 'Preflight', changes: [], notes: [`found ${found.join(', ')}`, `sound server: ${choice.server} — ${choice.reason}`] });
  if (choice.server === 'pipewire') return { ...planPipeWireSetup(facts, opts, target, user, steps), target: target.label };

  // 2. Packages
  const missing = PACKAGES.filter((p) => !facts.installed.has(p));
  steps.push(packagesStep(facts, PACKAGES, target.live));

  // 3. System-mode service; no per-user daemons.
  const svc: Step = { id: 'service', title: 'PulseAudio system service', changes: [], notes: [] };
  svc.changes.push(...own(facts, PATHS.service, SERVICE_UNIT));
  svc.changes.push(...own(facts, PATHS.clientConf, CLIENT_CONF));
  for (const u of PULSE_USER_UNITS) svc.changes.push(...link(facts, userUnitPath(u), '/dev/null'));
  if (opts.force) for (const u of facts.pipewire.userUnits) svc.changes.push(...link(facts, userUnitPath(u), '/dev/null'));
  if (opts.force && facts.pipewire.running.length) svc.notes.push(`${facts.pipewire.running.join(' and ')} keep running in open sessions until those users log out (or the Pi reboots)`);
  steps.push(svc);

  // 4. Bluetooth module, and the two distro files it depends on.
  const bt: Step = { id: 'bluetooth-module', title: 'Bluetooth module for PulseAudio', changes: [], notes: [] };
  bt.changes.push(...own(facts, PATHS.bluetoothPa, BLUETOOTH_PA));
  const systemPa = fileText(facts.files.get(PATHS.systemPa));
  if (systemPa !== undefined && !paIncludes(systemPa, '/etc/pulse/system.pa.d')) {
    const after = upsertBlock(systemPa, SYSTEM_PA_INCLUDE);
    if (after !== systemPa) bt.changes.push({ kind: 'write', path: PATHS.systemPa, mode: modeOf(facts, PATHS.systemPa), before: facts.files.get(PATHS.systemPa)!, after });
  } else if (systemPa !== undefined) bt.notes.push('system.pa already includes /etc/pulse/system.pa.d');
  // BlueZ ≥ 5.65 (bookworm 5.66, trixie 5.82) powers controllers on by itself: AutoEnable defaults to true.
  const mainConf = fileText(facts.files.get(PATHS.mainConf));
  if (mainConf !== undefined && iniValue(mainConf, 'Policy', 'AutoEnable') === 'false') bt.notes.push('main.conf sets AutoEnable=false: power the controller on yourself (`bluetoothctl power on`), or remove that line');
  steps.push(bt);

  // 5. Permissions: D-Bus policy and groups.
  const perm: Step = { id: 'permissions', title: 'Permissions', changes: [], notes: [] };
  // No D-Bus policy and no bluetooth group for pulse: BlueZ's own policy
  // (bluetooth.conf) lets every local user talk to org.bluez (<policy context="default">).
  const memberships: Array<[string, string]> = [['root', 'pulse-access'], ...(user ? [[user, 'pulse-access'] as [string, string]] : [])];
  const toAdd: Array<{ user: string; group: string }> = [];
  for (const [u, g] of memberships) {
    if (inGroup(facts, u, g)) perm.notes.push(`${u} is in ${g}`);
    else if (target.live) perm.changes.push({ kind: 'run', cmd: { argv: ['usermod', '-a', '-G', g, u] }, why: `add ${u} to ${g}`, group: { user: u, group: g } });
    else if (facts.groups.has(g)) toAdd.push({ user: u, group: g });
    else perm.notes.push(`cannot add ${u} to ${g} under the root: group ${g} does not exist there yet (install the packages in the image first)`);
  }
  // Under --root there is no usermod to run: edit the group files as `usermod --root` would.
  for (const file of [PATHS.group, PATHS.gshadow]) {
    const text = fileText(facts.files.get(file));
    if (!toAdd.length || text === undefined) continue;
    const after = toAdd.reduce((t, m) => addMember(t, m.group, m.user), text);
    if (after !== text) perm.changes.push({ kind: 'write', path: file, mode: modeOf(facts, file), before: facts.files.get(file)!, after, members: toAdd });
  }
  if (!user) perm.notes.push('no --user and not run through sudo: only root joins pulse-access (pass --user NAME for the account that plays audio)');
  steps.push(perm);

  // 6. Enable and (re)start.
  const run: Step = { id: 'services', title: 'Services', changes: [], notes: [] };
  run.changes.push(...link(facts, PATHS.serviceWants, PATHS.service));
  const speakerSteps = opts.speaker ? planSpeaker(facts, opts.speaker, opts.bluetooth, target.live) : undefined;
  const touched = (paths: string[]) => steps.concat(speakerSteps ? [speakerSteps] : []).some((s) => s.changes.some((c) => c.kind !== 'run' && paths.includes(c.path)));
  const unitsChanged = touched([PATHS.service, PATHS.serviceWants]) || run.changes.length > 0;
  const pulseChanged = touched([PATHS.service, PATHS.bluetoothPa, PATHS.systemPa]) || missing.length > 0;
  const bluezChanged = missing.includes('bluez');
  const pulseState = facts.active.get('pulseaudio.service');
  if (unitsChanged) run.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'daemon-reload'] }, why: 'load the new unit files' });
  if (pulseState === 'active' && pulseChanged) run.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'restart', 'pulseaudio.service'] }, why: 'apply the new configuration' });
  else if ((target.live && pulseState !== 'active') || (!target.live && pulseChanged)) run.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'start', 'pulseaudio.service'] }, why: 'start system-wide PulseAudio' });
  else run.notes.push('pulseaudio.service is enabled and active');
  const btState = facts.active.get('bluetooth.service');
  if (target.live && btState !== undefined && btState !== 'active') run.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'start', 'bluetooth.service'] }, why: `start BlueZ (bluetooth.service is ${btState})` });
  else if (bluezChanged && !target.live) run.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'restart', 'bluetooth.service'] }, why: 'start BlueZ with the new package' });
  steps.push(run);

  if (speakerSteps) steps.push(speakerSteps);
  return { target: target.label, live: target.live, steps };
}

function modeOf(facts: Facts, path: string): number {
  const e = facts.files.get(path);
  return e?.type === 'file' ? e.mode & 0o777 : 0o644;
}

/**
 * Step 7: pair and trust first, and only then the reconnect timer (a speaker
 * that failed to pair gets no unit). Connecting now comes last: a speaker that
 * is off does not stop setup, the timer keeps trying. Without a running system
 * (--root) pairing is planned only alongside the unit files, so a second run
 * shows no change.
 */
export function planSpeaker(facts: Facts, mac: string, bt: SetupOptions['bluetooth'] = {}, live = true): Step {
  const step: Step = { id: 'speaker', speaker: mac, title: `Speaker ${mac}`, changes: [], notes: [] };
  const files: Change[] = [
    ...own(facts, PATHS.connectScript, CONNECT_SCRIPT, 0o755),
    ...own(facts, PATHS.connectTemplate, CONNECT_TEMPLATE_UNIT),
    ...own(facts, PATHS.connectTimer, CONNECT_TIMER_UNIT),
    ...link(facts, timerWantsPath(mac), PATHS.connectTimer),
  ];
  // opsctl ≤ 0.1 enabled the service itself at boot (one try, never repeated).
  const old = facts.files.get(connectWantsPath(mac));
  if (old && old.type !== 'missing') files.push({ kind: 'remove', path: connectWantsPath(mac), before: old });
  step.notes.push(`${reconnectTimerName(mac)} tries to connect it at boot and every ${RECONNECT_EVERY_S} s while it is not connected`);
  if (!live && files.length === 0) {
    step.notes.push(`pairing needs the running Pi: run \`opsctl pi audio pair ${mac}\` on it once`);
    return step;
  }
  const d = bt.device;
  const ctl = (action: 'power on' | 'scan' | 'pair' | 'trust' | 'connect', argv: string[], why: string, timeoutS: number, waitsFor: string, verify?: 'paired' | 'trusted'): Change => ({
    kind: 'run',
    cmd: { argv: ['bluetoothctl', ...argv], timeoutS, waitsFor },
    why,
    bluetooth: { action, mac, ...(verify ? { verify } : {}) },
  });
  if (bt.powered !== true) step.changes.push(ctl('power on', ['power', 'on'], 'power the Bluetooth controller on', 5, 'bluetoothd'));
  if (!d) step.changes.push(ctl('scan', ['--timeout', '20', 'scan', 'on'], 'discover the speaker (it must be in pairing mode)', 25, 'the speaker to show up'));
  // NoInputNoOutput: "just works" pairing, as a speaker without keys or screen expects.
  if (!d?.paired) step.changes.push(ctl('pair', ['--agent', 'NoInputNoOutput', '--timeout', '30', 'pair', mac], 'pair (agent NoInputNoOutput: no PIN to type on the Pi)', 35, 'the speaker to accept pairing', 'paired'));
  if (!d?.trusted) step.changes.push(ctl('trust', ['trust', mac], 'trust, so it may reconnect without an agent', 5, 'bluetoothd', 'trusted'));
  step.changes.push(...files);
  if (files.length && live) step.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'daemon-reload'], timeoutS: 30, waitsFor: 'systemd to reload units' }, why: 'load the reconnect units' });
  if (live && (files.length || facts.active.get(reconnectTimerName(mac)) !== 'active')) {
    step.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'start', reconnectTimerName(mac)], timeoutS: 30, waitsFor: `systemd to start ${reconnectTimerName(mac)}` }, why: 'keep trying until the speaker is there' });
  }
  if (!d?.connected) step.changes.push(ctl('connect', ['--timeout', '30', 'connect', mac], 'connect now', 35, 'the speaker to connect'));
  if (d?.paired && d.trusted && d.connected) step.notes.push(`${d.name ?? mac} is paired, trusted and connected`);
  return step;
}
