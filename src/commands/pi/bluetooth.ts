/**
 * Reading what bluetoothctl and pactl print, and saying in plain words what
 * BlueZ's error names mean for someone trying to play music on a speaker.
 */
import { ExitCode, OpsError } from '../../lib/errors.js';
import type { CommandResult } from '../../lib/process.js';

const MAC = /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/;

/** A speaker's MAC address, upper-cased, or an exit-2 error. */
export function normalizeMac(value: string): string {
  const mac = value.trim().toUpperCase().replace(/-/g, ':');
  if (!MAC.test(mac)) {
    throw new OpsError(`"${value}" is not a Bluetooth MAC address.`, {
      exitCode: ExitCode.USAGE,
      code: 'bad-mac',
      hint: 'six hex pairs like 00:11:22:33:44:55 (`bluetoothctl devices` lists the ones BlueZ knows)',
    });
  }
  return mac;
}

export interface DeviceInfo {
  mac: string;
  name?: string;
  paired: boolean;
  trusted: boolean;
  connected: boolean;
  /** Advertises the A2DP Audio Sink profile. */
  audioSink: boolean;
}

/** `bluetoothctl info MAC`; undefined when BlueZ does not know the device. */
export function parseDeviceInfo(out: string): DeviceInfo | undefined {
  const head = /^Device ([0-9A-F:]{17})/m.exec(out);
  if (!head || /not available/.test(out.split('\n').find((l) => l.startsWith('Device')) ?? '')) return undefined;
  const field = (name: string) => new RegExp(`^\\s+${name}: (.*)$`, 'm').exec(out)?.[1]?.trim();
  return {
    mac: head[1]!,
    name: field('Name') ?? field('Alias'),
    paired: field('Paired') === 'yes',
    trusted: field('Trusted') === 'yes',
    connected: field('Connected') === 'yes',
    audioSink: /UUID: Audio Sink|0000110b-0000-1000-8000-00805f9b34fb/i.test(out),
  };
}

export interface ControllerInfo {
  address: string;
  powered: boolean;
}

/** `bluetoothctl show`; undefined when there is no controller. */
export function parseController(out: string): ControllerInfo | undefined {
  const head = /^Controller ([0-9A-F:]{17})/m.exec(out);
  if (!head) return undefined;
  return { address: head[1]!, powered: /^\s+Powered: yes$/m.test(out) };
}

/** `pactl list short modules` → module names. */
export function parseShortModules(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.split('\t')[1])
    .filter((x): x is string => Boolean(x));
}

/** `pactl list short sinks` → sink names with their state. */
export function parseShortSinks(out: string): Array<{ name: string; state?: string }> {
  return out
    .split('\n')
    .filter((l) => l.includes('\t'))
    .map((l) => {
      const f = l.split('\t');
      return { name: f[1]!, state: f[4]?.trim() };
    });
}

export type BluetoothAction = 'power on' | 'scan' | 'pair' | 'trust' | 'connect' | 'info';

/**
 * Turns a bluetoothctl run into an OpsError when it failed, with what the
 * error means; undefined when it worked (or the thing was already so).
 */
export function bluetoothctlError(action: BluetoothAction, mac: string | undefined, res: CommandResult): OpsError | undefined {
  const text = `${res.stdout}\n${res.stderr}`;
  const failure = /Failed to (\w+): (org\.bluez\.Error\.\w+)(?: (\S+))?/.exec(text);
  const errName = failure?.[2];
  const detail = failure?.[3];
  if (errName === 'org.bluez.Error.AlreadyConnected' || errName === 'org.bluez.Error.AlreadyExists') return undefined;
  const who = mac ? `the speaker ${mac}` : 'the speaker';
  const retry = mac ? `opsctl pi audio pair ${mac}` : 'opsctl pi audio pair MAC';
  if (/No default controller available/.test(text)) {
    return new OpsError('No Bluetooth controller found on the Pi.', {
      code: 'no-controller',
      hint: 'check `rfkill list` (run `rfkill unblock bluetooth` if it is soft-blocked) and `systemctl status bluetooth`',
    });
  }
  if (mac && new RegExp(`Device ${mac} not available`).test(text)) {
    return new OpsError(`BlueZ has not seen ${who}: it was not found while scanning.`, {
      code: 'device-not-found',
      hint: `switch the speaker on and put it in pairing mode (usually: hold its Bluetooth button until it blinks), then run \`${retry}\``,
    });
  }
  if (errName === 'org.bluez.Error.Failed' && (!detail || /profile-unavailable|Protocol not available/i.test(detail))) {
    return new OpsError(`${who} refused the audio connection (org.bluez.Error.Failed): no audio service was registered with BlueZ to take it.`, {
      code: 'bluez-failed',
      hint: 'PulseAudio must be running with module-bluetooth-discover loaded before connecting: check `opsctl pi audio status` and `journalctl -u pulseaudio`, then retry',
    });
  }
  if (errName && (/page-timeout|Host is down|create-socket/i.test(detail ?? '') || /ConnectionAttemptFailed|HostDown/.test(errName))) {
    return new OpsError(`${who} did not answer (${errName}${detail ? ' ' + detail : ''}).`, {
      code: 'speaker-unreachable',
      hint: `switch it on, bring it in range and disconnect it from phones or laptops, then run \`${retry}\``,
    });
  }
  if (errName && /Authentication(Failed|Canceled|Rejected|Timeout)/.test(errName)) {
    return new OpsError(`${who} rejected pairing (${errName}).`, {
      code: 'pairing-rejected',
      hint: `put it in pairing mode and retry; if it was paired before, run \`bluetoothctl remove ${mac ?? 'MAC'}\` first`,
    });
  }
  if (errName === 'org.bluez.Error.InProgress') {
    return new OpsError(`Another ${action} of ${who} is already in progress.`, { code: 'bluez-busy', hint: `wait a few seconds and run \`${retry}\` again` });
  }
  if (errName) return new OpsError(`bluetoothctl ${action} failed: ${errName}${detail ? ' ' + detail : ''}.`, { code: 'bluez-error', hint: `see \`journalctl -u bluetooth\`, then retry with \`${retry}\`` });
  if (res.exitCode !== 0 && action !== 'scan') {
    const line = text.split('\n').map((l) => l.trim()).find((l) => l && !l.startsWith('[')) ?? `exit code ${res.exitCode}`;
    return new OpsError(`bluetoothctl ${action} failed: ${line}`, { code: 'bluez-error', hint: 'see `journalctl -u bluetooth`' });
  }
  return undefined;
}
