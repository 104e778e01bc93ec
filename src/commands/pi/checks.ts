/**
 * Every property of a working setup as one check with ok / problem and a hint:
 * `status` prints them all, `setup` runs the live ones as its last step.
 */
import type { CommandResult } from '../../lib/process.js';
import { OpsError } from '../../lib/errors.js';
import type { TargetCommand, TargetSystem } from './target.js';
import { timed, timedOut, timeoutMessage } from './timeouts.js';
import { PIPEWIRE_SETUP_PACKAGES, PW_PATHS, WP04_HEADLESS, WP05_HEADLESS, headless, lingerPath, wireplumberSeries } from './pipewire.js';
import { parseController, parseDeviceInfo, parseShortModules, parseShortSinks } from './bluetooth.js';
import { paIncludes } from './edit.js';
import { userUnitPath, type Facts } from './facts.js';
import { BLUETOOTH_PA, CLIENT_CONF, CONNECT_SCRIPT, CONNECT_TEMPLATE_UNIT, CONNECT_TIMER_UNIT, PACKAGES, PATHS, PULSE_SOCKET, PULSE_USER_UNITS, SERVICE_UNIT, connectUnitName, reconnectTimerName, timerWantsPath } from './recipe.js';

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
  if (facts.manifest?.soundServer === 'pipewire') return [...pipewireChecks(facts, facts.manifest.user), ...speakerChecks(facts, opts.speakers)];
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
  out.push(...speakerChecks(facts, opts.speakers));
  return out;
}

function speakerChecks(facts: Facts, speakers: string[]): Check[] {
  const f = (p: string) => facts.files.get(p);
  const same = (p: string, content: string) => {
    const e = f(p);
    return e?.type === 'file' && e.content === content;
  };
  const out: Check[] = [];
  for (const mac of speakers) {
    const l = f(timerWantsPath(mac));
    const unitOk = same(PATHS.connectTemplate, CONNECT_TEMPLATE_UNIT) && same(PATHS.connectTimer, CONNECT_TIMER_UNIT) && same(PATHS.connectScript, CONNECT_SCRIPT) && l?.type === 'symlink' && l.target === PATHS.connectTimer;
    out.push(check(unitOk, `connect-unit:${mac}`, `${reconnectTimerName(mac)} enabled`, 'missing, edited, or not enabled', `run \`sudo opsctl pi audio pair ${mac}\``));
  }
  return out;
}

/** The PipeWire path: packages, the user lingers, WirePlumber's headless setting in the format its version reads. */
function pipewireChecks(facts: Facts, user: string | undefined): Check[] {
  const out: Check[] = [];
  for (const p of PIPEWIRE_SETUP_PACKAGES) out.push(check(facts.installed.has(p), `package:${p}`, `package ${p}`, 'not installed', SETUP_HINT, facts.installed.get(p)));
  if (user) {
    const l = facts.files.get(lingerPath(user));
    out.push(check(Boolean(l && l.type !== 'missing'), 'linger', `${user} lingers (PipeWire starts at boot)`, `${lingerPath(user)} is missing`, `run \`sudo loginctl enable-linger ${user}\``));
  }
  if (headless(facts)) {
    const series = wireplumberSeries(facts);
    const [path, content] = series === '0.4' ? [PW_PATHS.wp04, WP04_HEADLESS] : [PW_PATHS.wp05, WP05_HEADLESS];
    const e = facts.files.get(path);
    out.push(check(e?.type === 'file' && e.content === content, 'wireplumber-headless', `WirePlumber ${series} takes Bluetooth without a seat`, e?.type === 'file' ? `${path} differs from what setup writes` : `${path} is missing`));
  }
  return out;
}

export interface LiveCheckOptions {
  speakers: string[];
  server?: 'pulseaudio' | 'pipewire';
  /** The PipeWire user. */
  user?: string;
  /** Called as each check completes (status streams its lines). */
  onCheck?: (check: Check) => void;
}

/** How BlueZ is doing, in the order that tells the causes apart. */
export type BluezVerdict = 'ok' | 'bluetoothd-not-running' | 'no-controller' | 'powered-off' | 'not-answering';

/**
 * Checks that ask the running system, one command each, in order, each under
 * a time limit: a hung bluetoothctl (bluetoothd gone) costs at most its limit
 * and is named. bluetoothctl is only asked once D-Bus says org.bluez has an
 * owner, so "bluetoothd not running" never waits at all.
 */
export async function liveChecks(target: TargetSystem, opts: LiveCheckOptions | string[]): Promise<Check[]> {
  const { speakers, onCheck, server, user } = Array.isArray(opts) ? { speakers: opts, onCheck: undefined, server: undefined, user: undefined } : opts;
  const pipewire = server === 'pipewire';
  const labels = ['pulseaudio.service active', 'bluetooth.service active', 'bluetoothd on the system bus (org.bluez)', 'Bluetooth controller present and powered', 'module-bluetooth-discover loaded', ...speakers.flatMap((m) => [`speaker ${m} paired, trusted, connected`, `speaker ${m} has a bluez_sink`, `${connectUnitName(m)} retrying or connected`])];
  if (!target.live) {
    const skipped = labels.map((label, i): Check => ({ id: `live:${i}`, label, status: 'skipped', detail: 'needs the running system (not checked under --root)' }));
    skipped.forEach((c) => onCheck?.(c));
    return skipped;
  }
  const out: Check[] = [];
  const emit = (c: Check) => {
    out.push(c);
    onCheck?.(c);
    return c;
  };
  // Questions that cannot hang (each has its limit) go in one round trip per stage; checks print per stage.
  const answers = new Map<string, Promise<CommandResult>>();
  const key = (cmd: TargetCommand) => cmd.argv.join('\0');
  const prefetch = (cmds: TargetCommand[]) => {
    const batch = target.execMany(cmds.map((c) => ({ ...c, optional: true })));
    cmds.forEach((c, i) => {
      const answer = batch.then((r) => r[i] ?? { exitCode: 1, stdout: '', stderr: '' });
      answer.catch(() => undefined); // answers nobody asks for after a failure must not be unhandled rejections
      answers.set(key(c), answer);
    });
  };
  const ask = async (cmd: TargetCommand): Promise<CommandResult> => {
    if (!answers.has(key(cmd))) prefetch([cmd]);
    return answers.get(key(cmd))!.catch((err: { exitCode?: number }) => {
      // Ctrl-C: a third verdict besides "not running" and "not answering", with what we were waiting for.
      if (err.exitCode === 130) throw new OpsError(`Interrupted while waiting for ${cmd.waitsFor ?? cmd.argv.join(' ')}.`, { exitCode: 130, code: 'interrupted' });
      throw err;
    });
  };
  const unitCmd = (unit: string) =>
    unit === 'wireplumber.service' ? timed({ argv: ['systemctl', '--user', '-M', `${user}@`, 'is-active', unit] }, `${user}'s systemd to report ${unit}`) : timed({ argv: ['systemctl', 'is-active', unit] }, `systemd to report ${unit}`);
  const soundUnit = pipewire ? 'wireplumber.service' : 'pulseaudio.service';
  const nameCmd = timed({ argv: ['busctl', '--system', 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', 'org.bluez'] }, 'the system D-Bus');
  const listCmd = timed({ argv: ['bluetoothctl', 'list'] }, 'bluetoothd to list controllers');
  const showCmd = timed({ argv: ['bluetoothctl', 'show'] }, 'bluetoothd to describe the controller');
  const modCmd = timed({ argv: ['pactl', '-s', PULSE_SOCKET, 'list', 'short', 'modules'] }, 'PulseAudio on ' + PULSE_SOCKET);
  const sinkCmd = timed({ argv: ['pactl', '-s', PULSE_SOCKET, 'list', 'short', 'sinks'] }, 'PulseAudio on ' + PULSE_SOCKET);
  const infoCmd = (mac: string) => timed({ argv: ['bluetoothctl', 'info', mac] }, `bluetoothd to describe ${mac}`);
  const timerCmd = (mac: string) => timed({ argv: ['systemctl', 'is-active', reconnectTimerName(mac)] }, `systemd to report ${reconnectTimerName(mac)}`);
  prefetch([unitCmd(soundUnit), unitCmd('bluetooth.service'), nameCmd]);
  const lastLine = (text: string) => text.trim().split('\n').pop() || 'unknown';
  const unitCheck = async (unit: string) => {
    const cmd = unitCmd(unit);
    const r = await ask(cmd);
    if (timedOut(r)) return emit(problem(`active:${unit}`, `${unit} active`, timeoutMessage(cmd), 'systemd is busy or hung: see `systemctl list-jobs`'));
    const state = lastLine(r.stdout);
    return emit(check(state === 'active', `active:${unit}`, `${unit} active`, state, `see \`systemctl status ${unit}\` and \`journalctl -u ${unit}\``, state));
  };
  await unitCheck(soundUnit);
  const bt = await unitCheck('bluetooth.service');

  // D-Bus first: with no org.bluez owner bluetoothctl would wait for it forever.
  const name = await ask(nameCmd);
  const owned = /^b true/m.test(name.stdout);
  let verdict: BluezVerdict = 'ok';
  if (!owned) {
    verdict = 'bluetoothd-not-running';
    const why = timedOut(name) ? timeoutMessage(nameCmd) : name.exitCode !== 0 ? `cannot ask the system bus: ${lastLine(name.stdout)}` : 'nobody owns org.bluez';
    emit(problem('bluetoothd', 'bluetoothd on the system bus (org.bluez)', `bluetoothd not running (${why}; bluetooth.service ${bt.detail})`, 'start it: `sudo systemctl start bluetooth`; if it exits at once, see `journalctl -u bluetooth` (no adapter? `rfkill list`)'));
    emit({ id: 'controller', label: 'Bluetooth controller present and powered', status: 'skipped', detail: 'bluetoothd is not running: not asked (bluetoothctl would wait for it)' });
  } else {
    emit(ok('bluetoothd', 'bluetoothd on the system bus (org.bluez)', 'org.bluez has an owner'));
    const list = await ask(listCmd);
    const controllers = [...list.stdout.matchAll(/^Controller ([0-9A-F:]{17})/gm)].map((m) => m[1]!);
    if (timedOut(list)) {
      verdict = 'not-answering';
      emit(problem('controller', 'Bluetooth controller present and powered', timeoutMessage(listCmd), 'bluetoothd owns its D-Bus name but does not answer: `sudo systemctl restart bluetooth`'));
    } else if (!controllers.length) {
      verdict = 'no-controller';
      emit(problem('controller', 'Bluetooth controller present and powered', 'no controller: bluetoothd runs but sees no Bluetooth adapter', 'check `rfkill list` (`rfkill unblock bluetooth`), `dmesg | grep -i blue`, and that the adapter is enabled (dtoverlay=disable-bt in config.txt turns it off)'));
    } else {
      const show = await ask(showCmd);
      const ctl = parseController(show.stdout);
      if (timedOut(show)) {
        verdict = 'not-answering';
        emit(problem('controller', 'Bluetooth controller present and powered', timeoutMessage(showCmd), '`sudo systemctl restart bluetooth`'));
      } else {
        if (ctl && !ctl.powered) verdict = 'powered-off';
        emit(ctl ? check(ctl.powered, 'controller', 'Bluetooth controller present and powered', `${ctl.address} is powered off`, 'run `bluetoothctl power on` (BlueZ powers controllers on at boot unless main.conf sets AutoEnable=false)', ctl.address) : problem('controller', 'Bluetooth controller present and powered', `no answer from \`bluetoothctl show\`: ${lastLine(show.stdout)}`, 'see `journalctl -u bluetooth`'));
      }
    }
  }

  // A bluetoothd that did not answer once is not asked again: every further question would cost its full limit.
  const down = verdict === 'bluetoothd-not-running' || verdict === 'not-answering';
  if (pipewire) {
    // pactl through pipewire-pulse would need the user's runtime dir; BlueZ's device state below is what matters.
    for (const mac of speakers) {
      if (!down) {
        const r = await ask(infoCmd(mac));
        const info = parseDeviceInfo(r.stdout);
        const missing = info ? (['paired', 'trusted', 'connected'] as const).filter((k) => !info[k]) : ['known to BlueZ'];
        emit(check(missing.length === 0, `speaker:${mac}`, `speaker ${mac} paired, trusted, connected`, `not ${missing.join(', not ')}`, `switch the speaker on and run \`sudo opsctl pi audio pair ${mac}\``, info?.name));
      }
      emit(await reconnectCheck(mac, ask));
    }
    return out;
  }
  prefetch([modCmd, ...(speakers.length ? [sinkCmd] : []), ...speakers.flatMap((m) => (down ? [timerCmd(m)] : [infoCmd(m), timerCmd(m)]))]);
  const mods = await ask(modCmd);
  const loaded = mods.exitCode === 0 ? parseShortModules(mods.stdout) : [];
  emit(
    timedOut(mods)
      ? problem('module', 'module-bluetooth-discover loaded', timeoutMessage(modCmd), 'PulseAudio is wedged: `sudo systemctl restart pulseaudio`')
      : mods.exitCode !== 0
        ? problem('module', 'module-bluetooth-discover loaded', `pactl cannot reach PulseAudio: ${mods.stdout.trim().split('\n')[0] || `exit ${mods.exitCode}`}`, 'is pulseaudio.service running? see `journalctl -u pulseaudio`')
        : check(loaded.includes('module-bluetooth-discover'), 'module', 'module-bluetooth-discover loaded', 'not loaded', `check ${PATHS.bluetoothPa} and \`journalctl -u pulseaudio\``),
  );
  if (speakers.length) {
    const sinks = await ask(sinkCmd);
    const names = sinks?.exitCode === 0 ? parseShortSinks(sinks.stdout).map((x) => x.name) : [];
    for (const mac of speakers) {
      if (down) {
        emit({ id: `speaker:${mac}`, label: `speaker ${mac} paired, trusted, connected`, status: 'problem', detail: verdict === 'not-answering' ? 'not asked: bluetoothd does not answer' : 'bluetoothd is not running', hint: verdict === 'not-answering' ? '`sudo systemctl restart bluetooth`' : 'start bluetooth.service first' });
      } else {
        const r = await ask(infoCmd(mac));
        const info = parseDeviceInfo(r.stdout);
        const missing = info ? (['paired', 'trusted', 'connected'] as const).filter((k) => !info[k]) : ['known to BlueZ'];
        emit(timedOut(r) ? problem(`speaker:${mac}`, `speaker ${mac} paired, trusted, connected`, timeoutMessage(infoCmd(mac)), '`sudo systemctl restart bluetooth`') : check(missing.length === 0, `speaker:${mac}`, `speaker ${mac} paired, trusted, connected`, `not ${missing.join(', not ')}`, `switch the speaker on and run \`sudo opsctl pi audio pair ${mac}\``, info?.name));
        const sink = names.find((n) => n.startsWith(`bluez_sink.${mac.replace(/:/g, '_')}`));
        emit(check(Boolean(sink), `sink:${mac}`, `speaker ${mac} has a bluez_sink`, 'no bluez_sink for it in `pactl list short sinks`', 'it appears once the speaker is connected and PulseAudio loaded module-bluetooth-discover', sink));
      }
      emit(await reconnectCheck(mac, ask));
    }
  }
  return out;
}

/** The reconnect timer for a speaker must be active (it keeps trying) or the speaker connected. */
async function reconnectCheck(mac: string, ask: (cmd: TargetCommand) => Promise<{ exitCode: number; stdout: string }>): Promise<Check> {
  const timer = reconnectTimerName(mac);
  const cmd = timed({ argv: ['systemctl', 'is-active', timer] }, `systemd to report ${timer}`);
  const r = await ask(cmd);
  const state = timedOut(r) ? 'no answer' : r.stdout.trim().split('\n').pop() || 'unknown';
  return check(state === 'active', `reconnect:${mac}`, `${connectUnitName(mac)} retrying or connected`, `${timer} is ${state}`, `run \`sudo opsctl pi audio pair ${mac}\``, `${timer} active`);
}
