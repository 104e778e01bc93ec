/**
 * The modern path, for images that already run PipeWire (Raspberry Pi OS
 * Desktop, bookworm and trixie): keep PipeWire + WirePlumber instead of
 * ripping them out, and make them serve a speaker from boot with nobody
 * logged in. They are per-user services, so the user's manager must run
 * without a login (`loginctl enable-linger`), and WirePlumber must not wait
 * for a local seat before it takes Bluetooth audio (headless: there is no
 * seat). Its config format changed between 0.4 (Lua) and 0.5 (SPA-JSON), so
 * the installed version decides which file is written.
 */
import { ExitCode, OpsError } from '../../lib/errors.js';
import { contentOf, type Entry } from './target.js';
import type { Facts } from './facts.js';
import type { Change, Step } from './plan.js';

export const PIPEWIRE_SETUP_PACKAGES = ['pipewire', 'pipewire-pulse', 'wireplumber', 'libspa-0.2-bluetooth', 'bluez'] as const;

export const PW_PATHS = {
  lingerDir: '/var/lib/systemd/linger',
  wp04: '/etc/wireplumber/bluetooth.lua.d/80-opsctl-headless.lua',
  wp05: '/etc/wireplumber/wireplumber.conf.d/80-opsctl-headless.conf',
  displayManager: '/etc/systemd/system/display-manager.service',
} as const;

export const lingerPath = (user: string) => `${PW_PATHS.lingerDir}/${user}`;

const HEADER = 'Managed by `opsctl pi audio setup`; `opsctl pi audio uninstall` removes it.';

/** WirePlumber 0.4: bluez_monitor's logind check off (runs after 50-bluez-config.lua, before 90-enable-all.lua). */
export const WP04_HEADLESS = `-- ${HEADER}
-- Headless: no seat to wait for, so Bluetooth audio works with nobody logged in.
bluez_monitor.properties["with-logind"] = false
`;

/** WirePlumber 0.5: the seat-monitoring feature off in the main profile. */
export const WP05_HEADLESS = `# ${HEADER}
# Headless: no seat to wait for, so Bluetooth audio works with nobody logged in.
wireplumber.profiles = {
  main = {
    monitor.bluez.seat-monitoring = disabled
  }
}
`;

/** "0.4" or "0.5" (0.5 and later share the SPA-JSON conf.d format); from dpkg, else from the release. */
export function wireplumberSeries(facts: Facts): '0.4' | '0.5' {
  const v = facts.installed.get('wireplumber');
  if (v) return /^0\.4\./.test(v) || /^0\.[0-3]\./.test(v) ? '0.4' : '0.5';
  return facts.os?.codename === 'bookworm' ? '0.4' : '0.5';
}

export function headless(facts: Facts): boolean {
  const dm = facts.files.get(PW_PATHS.displayManager);
  return !dm || dm.type === 'missing';
}

export function pipewirePaths(): string[] {
  return [PW_PATHS.wp04, PW_PATHS.wp05, PW_PATHS.displayManager];
}

/** The PipeWire step: linger for the user, and the headless WirePlumber setting. */
export function planPipeWire(facts: Facts, user: string | undefined, live: boolean, own: (path: string, content: string) => Change[]): Step {
  const step: Step = { id: 'pipewire', title: 'PipeWire + WirePlumber for the user', changes: [], notes: [] };
  if (!user) {
    throw new OpsError('PipeWire runs as a user service: name the user whose session plays the audio.', {
      exitCode: ExitCode.USAGE,
      code: 'bad-user',
      hint: 'pass --user NAME (e.g. --user pi), or choose --sound-server pulseaudio for a system-wide daemon',
    });
  }
  const linger: Entry = facts.files.get(lingerPath(user)) ?? { type: 'missing' };
  if (linger.type === 'missing') {
    // What `loginctl enable-linger` does; under --root there is no logind to ask.
    if (live) step.changes.push({ kind: 'run', cmd: { argv: ['loginctl', 'enable-linger', user], timeoutS: 30, waitsFor: 'systemd-logind' }, why: `start ${user}'s PipeWire at boot, without a login` });
    else step.changes.push({ kind: 'write', path: lingerPath(user), mode: 0o644, before: linger, after: '' });
  } else step.notes.push(`${user} lingers already: their PipeWire starts at boot`);
  const series = wireplumberSeries(facts);
  if (headless(facts)) {
    step.changes.push(...(series === '0.4' ? own(PW_PATHS.wp04, WP04_HEADLESS) : own(PW_PATHS.wp05, WP05_HEADLESS)));
    step.notes.push(`headless (no display manager): WirePlumber ${series} takes Bluetooth audio without a seat (${series === '0.4' ? 'with-logind = false' : 'monitor.bluez.seat-monitoring = disabled'})`);
  } else {
    step.notes.push('desktop (display manager enabled): WirePlumber keeps seat monitoring, the logged-in desktop user owns Bluetooth audio');
  }
  const wp = contentOf(facts.files.get(series === '0.4' ? PW_PATHS.wp05 : PW_PATHS.wp04));
  if (wp !== undefined) step.notes.push(`ignored by WirePlumber ${series}: ${series === '0.4' ? PW_PATHS.wp05 : PW_PATHS.wp04}`);
  return step;
}
