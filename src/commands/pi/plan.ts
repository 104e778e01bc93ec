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
import {
  BLUETOOTH_PA, CLIENT_CONF, CONNECT_TEMPLATE_UNIT, PACKAGES, PATHS, PIPEWIRE_USER_UNITS,
  PULSE_USER_UNITS, SERVICE_UNIT, SYSTEM_PA_INCLUDE, connectUnitName, connectWantsPath,
} from './recipe.js';

export type Change =
  | { kind: 'write'; path: string; mode: number; before: Entry; after: string; members?: Array<{ user: string; group: string }>; owner?: { uid?: number; gid?: number } }
  | { kind: 'link'; path: string; target: string; before: Entry }
  | { kind: 'remove'; path: string; before: Entry }
  | { kind: 'run'; cmd: TargetCommand; why: string; optional?: boolean; bluetooth?: { action: 'power on' | 'scan' | 'pair' | 'trust' | 'connect'; mac: string }; group?: { user: string; group: string } };

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

export function preflight(facts: Facts, opts: SetupOptions, target: { live: boolean; kind: string }): string[] {
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
  if (pw.packages.length || pw.running.length) {
    const removed = pw.wouldRemove.length ? pw.wouldRemove.join(', ') : 'none';
    const masked = PIPEWIRE_USER_UNITS.filter((u) => pw.userUnits.includes(u));
    const what = `installing PulseAudio removes: ${removed}; masked for all users: ${masked.join(', ') || 'none'}`;
    if (!opts.force) {
      throw new OpsError(`PipeWire is the sound server here (${[...new Set([...pw.packages, ...pw.running.map((r) => `${r} running`)])].join(', ')}); ${what}.`, {
        code: 'pipewire-present',
        hint: 'run again with --force to replace it with system-wide PulseAudio (`opsctl pi audio uninstall` does not bring PipeWire back: `apt-get install pipewire-audio`)',
      });
    }
    found.push(`PipeWire (replaced because of --force: ${what})`);
  }
  return found;
}

export function resolveUser(facts: Facts, requested: string | undefined, target: { live: boolean }): string | undefined {
  const user = requested ?? facts.invokingUser;
  if (user === undefined || user === 'root') return undefined;
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) {
    throw new OpsError(`"${user}" is not a valid user name.`, { exitCode: ExitCode.USAGE, code: 'bad-user', hint: 'lower-case letters, digits, - and _, starting with a letter' });
  }
  if (facts.users.size && !facts.users.has(user)) {
    throw new OpsError(`There is no user "${user}" on ${target.live ? 'the target' : 'the root'}.`, { exitCode: ExitCode.USAGE, code: 'bad-user', hint: 'pass --user with an existing login (the one that plays audio)' });
  }
  return user;
}

const inGroup = (facts: Facts, user: string, group: string) => (facts.groups.get(group) ?? []).includes(user);

export function planSetup(facts: Facts, opts: SetupOptions, target: { live: boolean; kind: string; label: string }): Plan {
  const found = preflight(facts, opts, target);
  const user = resolveUser(facts, opts.user, target);
  const steps: Step[] = [];
  steps.push({ id: 'preflight', title: 'Preflight', changes: [], notes: [`found ${found.join(', ')}`] });

  // 2. Packages
  const missing = PACKAGES.filter((p) => !facts.installed.has(p));
  const pkg: Step = { id: 'packages', title: 'Packages', changes: [], notes: [] };
  const have = PACKAGES.filter((p) => facts.installed.has(p));
  if (have.length) pkg.notes.push(`installed already: ${have.map((p) => `${p} ${facts.installed.get(p)}`).join(', ')}`);
  if (missing.length) {
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    if (!target.live) pkg.notes.push(`no running system under --root: install ${missing.join(' ')} in the image yourself (e.g. \`chroot DIR apt-get install …\`), then run setup again`);
    pkg.changes.push({ kind: 'run', cmd: { argv: ['apt-get', 'update', '-q'], env }, why: 'refresh package lists' });
    pkg.changes.push({
      kind: 'run',
      // Recommends would pull a desktop's worth onto Lite (~380 packages / 933 MB on trixie, 123 without).
      cmd: { argv: ['apt-get', 'install', '-y', '-q', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', ...missing], env },
      why: `install ${missing.join(', ')}`,
    });
  }
  steps.push(pkg);

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
  const unitsChanged = touched([PATHS.service, PATHS.serviceWants, PATHS.connectTemplate, ...(opts.speaker ? [connectWantsPath(opts.speaker)] : [])]) || run.changes.length > 0;
  const pulseChanged = touched([PATHS.service, PATHS.bluetoothPa, PATHS.systemPa]) || missing.length > 0;
  const bluezChanged = missing.includes('bluez');
  const pulseState = facts.active.get('pulseaudio.service');
  if (unitsChanged) run.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'daemon-reload'] }, why: 'load the new unit files' });
  if (pulseState === 'active' && pulseChanged) run.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'restart', 'pulseaudio.service'] }, why: 'apply the new configuration' });
  else if ((target.live && pulseState !== 'active') || (!target.live && pulseChanged)) run.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'start', 'pulseaudio.service'] }, why: 'start system-wide PulseAudio' });
  else run.notes.push('pulseaudio.service is enabled and active');
  if (bluezChanged) run.changes.push({ kind: 'run', cmd: { argv: ['systemctl', 'restart', 'bluetooth.service'] }, why: 'reload BlueZ settings and D-Bus policy' });
  steps.push(run);

  if (speakerSteps) steps.push(speakerSteps);
  return { target: target.label, live: target.live, steps };
}

function modeOf(facts: Facts, path: string): number {
  const e = facts.files.get(path);
  return e?.type === 'file' ? e.mode & 0o777 : 0o644;
}

/**
 * Step 7: the boot-time connect unit, and pairing commands for what is not done
 * yet. Without a running system (--root) pairing is planned only alongside the
 * unit files, so a second run shows no change.
 */
export function planSpeaker(facts: Facts, mac: string, bt: SetupOptions['bluetooth'] = {}, live = true): Step {
  const step: Step = { id: 'speaker', speaker: mac, title: `Speaker ${mac}`, changes: [], notes: [] };
  step.changes.push(...own(facts, PATHS.connectTemplate, CONNECT_TEMPLATE_UNIT));
  step.changes.push(...link(facts, connectWantsPath(mac), PATHS.connectTemplate));
  step.notes.push(`${connectUnitName(mac)} connects it at every boot`);
  if (!live && step.changes.length === 0) {
    step.notes.push(`pairing needs the running Pi: run \`opsctl pi audio pair ${mac}\` on it once`);
    return step;
  }
  const d = bt.device;
  const ctl = (action: 'power on' | 'scan' | 'pair' | 'trust' | 'connect', argv: string[], why: string): Change => ({ kind: 'run', cmd: { argv: ['bluetoothctl', ...argv] }, why, bluetooth: { action, mac } });
  if (bt.powered !== true) step.changes.push(ctl('power on', ['power', 'on'], 'power the Bluetooth controller on'));
  if (!d) step.changes.push(ctl('scan', ['--timeout', '20', 'scan', 'on'], 'discover the speaker (it must be in pairing mode)'));
  if (!d?.paired) step.changes.push(ctl('pair', ['--timeout', '30', 'pair', mac], 'pair'));
  if (!d?.trusted) step.changes.push(ctl('trust', ['trust', mac], 'trust, so it may reconnect by itself'));
  if (!d?.connected) step.changes.push(ctl('connect', ['--timeout', '30', 'connect', mac], 'connect now'));
  if (d?.paired && d.trusted && d.connected) step.notes.push(`${d.name ?? mac} is paired, trusted and connected`);
  return step;
}
