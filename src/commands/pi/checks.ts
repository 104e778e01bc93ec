/**
 * Every property of a working setup as one check with ok / problem and a hint:
 * `status` prints them all, `setup` runs the live ones as its last step.
 */
import type { TargetSystem } from './target.js';
import { parseController, parseDeviceInfo, parseShortModules, parseShortSinks } from './bluetooth.js';
import { paIncludes } from './edit.js';
import { userUnitPath, type Facts } from './facts.js';
import { BLUETOOTH_PA, CLIENT_CONF, CONNECT_TEMPLATE_UNIT, PACKAGES, PATHS, PULSE_SOCKET, PULSE_USER_UNITS, SERVICE_UNIT, connectUnitName, connectWantsPath } from './recipe.js';

export interface Check {
  id: string;
  label: string;
  status: 'ok' | 'problem' | 'skipped';
  detail?: string;
  hint?: string;
}

const SETUP_HINT = 'run `sudo opsctl pi audio setup`';
const ok = (id: string, label: string, detail?: string): Check => ({ id, label, status: 'ok', detail });
const problem = (id: string, label: string, detail: string, hint = SETUP_HINT): Check => ({ id, label, status: 'problem', detail, hint });
const check = (cond: boolean, id: string, label: string, bad: string, hint?: string, good?: string) => (cond ? ok(id, label, good) : problem(id, label, bad, hint));

/** Checks that need only files (work under --root too). */
export function configChecks(facts: Facts, opts: { user?: string; speakers: string[] }): Check[] {
  const f = (p: string) => facts.files.get(p);
  const same = (p: string, content: string) => {
    const e = f(p);
    return e?.type === 'file' && e.content === content;
  };
  const fileCheck = (id: string, path: string, content: string, what: string) => {
    const e = f(path);
    if (e?.type !== 'file') return problem(id, what, `${path} is missing`);
    return check(same(path, content), id, what, `${path} differs from what setup writes (edited by hand?)`, `${SETUP_HINT} to rewrite it`, path);
  };
  const out: Check[] = [];
  for (const p of PACKAGES) out.push(check(facts.installed.has(p), `package:${p}`, `package ${p}`, 'not installed', SETUP_HINT, facts.installed.get(p)));
  out.push(fileCheck('unit', PATHS.service, SERVICE_UNIT, 'system-wide pulseaudio.service'));
  const wants = f(PATHS.serviceWants);
  out.push(check(wants?.type === 'symlink' && wants.target === PATHS.service, 'enabled', 'pulseaudio.service enabled at boot', 'not enabled'));
  const masked = PULSE_USER_UNITS.filter((u) => {
    const e = f(userUnitPath(u));
    return e?.type === 'symlink' && e.target === '/dev/null';
  });
  out.push(check(masked.length === PULSE_USER_UNITS.length, 'user-masked', 'per-user PulseAudio masked', `not masked: ${PULSE_USER_UNITS.filter((u) => !masked.includes(u)).join(', ')}`));
  out.push(fileCheck('client-conf', PATHS.clientConf, CLIENT_CONF, `clients use ${PULSE_SOCKET}, no autospawn`));
  out.push(fileCheck('bluetooth-pa', PATHS.bluetoothPa, BLUETOOTH_PA, 'Bluetooth modules in system.pa.d'));
  const systemPa = f(PATHS.systemPa);
  out.push(check(systemPa?.type === 'file' && paIncludes(systemPa.content, '/etc/pulse/system.pa.d'), 'system-pa', 'system.pa includes system.pa.d', systemPa?.type === 'file' ? 'no .include /etc/pulse/system.pa.d line' : `${PATHS.systemPa} is missing`));
  const members: Array<[string, string]> = [['root', 'pulse-access'], ...(opts.user ? [[opts.user, 'pulse-access'] as [string, string]] : [])];
  for (const [u, g] of members) {
    out.push(check((facts.groups.get(g) ?? []).includes(u), `group:${u}:${g}`, `${u} in group ${g}`, facts.groups.has(g) ? 'not a member' : `group ${g} does not exist`));
  }
  for (const mac of opts.speakers) {
    const l = f(connectWantsPath(mac));
    const unitOk = same(PATHS.connectTemplate, CONNECT_TEMPLATE_UNIT) && l?.type === 'symlink' && l.target === PATHS.connectTemplate;
    out.push(check(unitOk, `connect-unit:${mac}`, `${connectUnitName(mac)} enabled`, 'missing or not enabled', `run \`sudo opsctl pi audio pair ${mac}\``));
  }
  return out;
}

/** Checks that ask the running system (systemctl, pactl, bluetoothctl). */
export async function liveChecks(target: TargetSystem, speakers: string[]): Promise<Check[]> {
  const labels = ['pulseaudio.service active', 'bluetooth.service active', 'module-bluetooth-discover loaded', 'Bluetooth controller powered', ...speakers.flatMap((m) => [`speaker ${m} paired, trusted, connected`, `speaker ${m} has a bluez_sink`])];
  if (!target.live) return labels.map((label, i) => ({ id: `live:${i}`, label, status: 'skipped', detail: 'needs the running system (not checked under --root)' }));
  const out: Check[] = [];
  const units = ['pulseaudio.service', 'bluetooth.service'];
  const pactl = (what: string) => ({ argv: ['pactl', '-s', PULSE_SOCKET, 'list', 'short', what], optional: true });
  // One round trip for every question.
  const results = await target.execMany([
    ...units.map((u) => ({ argv: ['systemctl', 'is-active', u], optional: true })),
    pactl('modules'),
    { argv: ['bluetoothctl', 'show'], optional: true },
    ...(speakers.length ? [pactl('sinks'), ...speakers.map((m) => ({ argv: ['bluetoothctl', 'info', m], optional: true }))] : []),
  ]);
  const r = (i: number) => results[i] ?? { exitCode: 1, stdout: '', stderr: '' };
  units.forEach((unit, i) => {
    const state = r(i).stdout.trim().split('\n').pop() || 'unknown';
    out.push(check(state === 'active', `active:${unit}`, `${unit} active`, state, `see \`systemctl status ${unit}\` and \`journalctl -u ${unit}\``, state));
  });
  const mods = r(2);
  const loaded = mods.exitCode === 0 ? parseShortModules(mods.stdout) : [];
  out.push(
    mods.exitCode !== 0
      ? problem('module', 'module-bluetooth-discover loaded', `pactl cannot reach PulseAudio: ${mods.stdout.trim().split('\n')[0] || `exit ${mods.exitCode}`}`, 'is pulseaudio.service running? see `journalctl -u pulseaudio`')
      : check(loaded.includes('module-bluetooth-discover'), 'module', 'module-bluetooth-discover loaded', 'not loaded', `check ${PATHS.bluetoothPa} and \`journalctl -u pulseaudio\``),
  );
  const ctl = parseController(r(3).stdout);
  out.push(ctl ? check(ctl.powered, 'controller', 'Bluetooth controller powered', `${ctl.address} is powered off`, 'run `bluetoothctl power on`; AutoEnable=true in /etc/bluetooth/main.conf powers it at boot', ctl.address) : problem('controller', 'Bluetooth controller powered', 'no controller found', 'check `rfkill list` and `systemctl status bluetooth`'));
  if (speakers.length) {
    const sinks = r(4);
    const names = sinks.exitCode === 0 ? parseShortSinks(sinks.stdout).map((x) => x.name) : [];
    speakers.forEach((mac, i) => {
      const info = parseDeviceInfo(r(5 + i).stdout);
      const missing = info ? (['paired', 'trusted', 'connected'] as const).filter((k) => !info[k]) : ['known to BlueZ'];
      out.push(check(missing.length === 0, `speaker:${mac}`, `speaker ${mac} paired, trusted, connected`, `not ${missing.join(', not ')}`, `switch the speaker on and run \`sudo opsctl pi audio pair ${mac}\``, info?.name));
      const sink = names.find((n) => n.startsWith(`bluez_sink.${mac.replace(/:/g, '_')}`));
      out.push(check(Boolean(sink), `sink:${mac}`, `speaker ${mac} has a bluez_sink`, 'no bluez_sink for it in `pactl list short sinks`', 'it appears once the speaker is connected and PulseAudio loaded module-bluetooth-discover', sink));
    });
  }
  return out;
}
