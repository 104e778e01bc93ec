/**
 * The recipe itself: which packages, which files with which contents. This is
 * the current version of the write-up's steps for Raspberry Pi OS / Debian 12
 * (PulseAudio 16, BlueZ 5.66, systemd 252).
 */

export const PACKAGES = ['pulseaudio', 'pulseaudio-module-bluetooth', 'bluez'] as const;
/** PipeWire pieces that fight PulseAudio for the sound server socket and for Bluetooth A2DP endpoints. */
export const PIPEWIRE_PACKAGES = ['pipewire-audio', 'pipewire-pulse', 'wireplumber'] as const;
/** Globally enabled user units of PipeWire that setup --force masks (they survive pipewire-audio's removal). */
export const PIPEWIRE_USER_UNITS = ['pipewire-pulse.service', 'pipewire-pulse.socket', 'wireplumber.service'] as const;
/** Per-user PulseAudio, masked for every user: one system-wide daemon owns the sound card and Bluetooth. */
export const PULSE_USER_UNITS = ['pulseaudio.service', 'pulseaudio.socket'] as const;

/** Looked up too: which sound server an image runs, and WirePlumber's config format (0.4 Lua, 0.5 SPA-JSON). */
export const EXTRA_PACKAGES = ['pipewire', 'libspa-0.2-bluetooth', 'pipewire-bin'] as const;

export const PATHS = {
  osRelease: '/etc/os-release',
  osReleaseFallback: '/usr/lib/os-release',
  dpkgStatus: '/var/lib/dpkg/status',
  aptGet: '/usr/bin/apt-get',
  systemctl: ['/usr/bin/systemctl', '/bin/systemctl'],
  systemdRunning: '/run/systemd/system',
  passwd: '/etc/passwd',
  group: '/etc/group',
  gshadow: '/etc/gshadow',
  service: '/etc/systemd/system/pulseaudio.service',
  serviceWants: '/etc/systemd/system/multi-user.target.wants/pulseaudio.service',
  connectTemplate: '/etc/systemd/system/bt-speaker-connect@.service',
  connectTimer: '/etc/systemd/system/bt-speaker-connect@.timer',
  connectScript: '/usr/local/lib/opsctl/bt-speaker-connect',
  clientConf: '/etc/pulse/client.conf.d/99-opsctl-system-mode.conf',
  bluetoothPa: '/etc/pulse/system.pa.d/bluetooth.pa',
  systemPa: '/etc/pulse/system.pa',
  dbusPolicy: '/etc/dbus-1/system.d/pulseaudio-bluetooth.conf',
  mainConf: '/etc/bluetooth/main.conf',
  userUnitDir: '/etc/systemd/user',
  vendorUserUnitDir: '/usr/lib/systemd/user',
  stateDir: '/var/lib/opsctl/pi-audio',
  manifest: '/var/lib/opsctl/pi-audio/manifest.json',
  backupDir: '/var/lib/opsctl/pi-audio/backup',
} as const;

export const PULSE_SOCKET = '/run/pulse/native';

export const connectUnitName = (mac: string) => `bt-speaker-connect@${mac}.service`;
/** Where opsctl ≤ 0.1 enabled the connect unit (a oneshot whose Restart= never fired): removed by setup now. */
export const connectWantsPath = (mac: string) => `/etc/systemd/system/multi-user.target.wants/${connectUnitName(mac)}`;
export const reconnectTimerName = (mac: string) => `bt-speaker-connect@${mac}.timer`;
export const timerWantsPath = (mac: string) => `/etc/systemd/system/timers.target.wants/${reconnectTimerName(mac)}`;

const HEADER = (what: string) => `Managed by \`opsctl pi audio setup\`; \`opsctl pi audio uninstall\` removes it.${what ? ' ' + what : ''}`;

export const SERVICE_UNIT = `# ${HEADER('')}
# PulseAudio in system mode, so a Bluetooth speaker is served from boot with
# nobody logged in. Module loading stays allowed: module-bluetooth-discover
# loads a module per connected device.
[Unit]
Description=PulseAudio system-wide sound server
Documentation=man:pulseaudio(1)
Wants=bluetooth.service
After=bluetooth.service dbus.service sound.target

[Service]
Type=notify
ExecStart=/usr/bin/pulseaudio --daemonize=no --system --disallow-exit --disable-shm --exit-idle-time=-1 --log-target=journal
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
`;

/** Seconds between connection attempts while a speaker is away (and between checks while it is there). */
export const RECONNECT_EVERY_S = 20;

export const CONNECT_TEMPLATE_UNIT = `# ${HEADER('')}
# One connection attempt to the speaker named by the instance (its MAC
# address), started by bt-speaker-connect@MAC.timer at boot and again
# ${RECONNECT_EVERY_S} s after each attempt ends. Trusting a device only lets it connect
# to us; BlueZ does not dial out by itself.
[Unit]
Description=Connect Bluetooth speaker %I
Documentation=man:bluetoothctl(1)
Wants=bluetooth.service
After=bluetooth.service pulseaudio.service

[Service]
Type=oneshot
ExecStart=${PATHS.connectScript} %I
# 75 (EX_TEMPFAIL): not connected yet. The timer tries again; the unit is not "failed".
SuccessExitStatus=75
TimeoutStartSec=90
`;

export const CONNECT_TIMER_UNIT = `# ${HEADER('')}
# Keeps the speaker %I connected: the first attempt shortly after boot, then
# one ${RECONNECT_EVERY_S} s after the previous attempt ended, for as long as the Pi runs, so a
# speaker switched on (or back in range) later is picked up within ~${RECONNECT_EVERY_S} s.
[Unit]
Description=Keep Bluetooth speaker %I connected

[Timer]
OnBootSec=10
OnUnitInactiveSec=${RECONNECT_EVERY_S}
AccuracySec=1s

[Install]
WantedBy=timers.target
`;

/**
 * One attempt per speaker. bluetoothctl exits 0 whatever happened when given
 * --timeout, so success is read back from \`bluetoothctl info\` (Connected: yes).
 */
export const CONNECT_SCRIPT = `#!/bin/sh
# ${HEADER('')}
# Usage: bt-speaker-connect MAC... — exits 0 when every speaker is connected,
# 75 when one is not yet (switched off, out of range, or with a phone).
set -u
connected() { timeout 5 bluetoothctl info "$1" 2>/dev/null | grep -q '^[[:space:]]*Connected: yes'; }
rc=0
for mac in "$@"; do
  if connected "$mac"; then echo "$mac: connected"; continue; fi
  timeout 5 bluetoothctl power on >/dev/null 2>&1 || true
  timeout 30 bluetoothctl --timeout 25 connect "$mac" >/dev/null 2>&1 || true
  if connected "$mac"; then echo "$mac: connected now"
  else echo "$mac: not connected yet; next attempt in ${RECONNECT_EVERY_S} s"; rc=75; fi
done
exit $rc
`;

export const CLIENT_CONF = `# ${HEADER('')}
# PulseAudio runs system-wide (pulseaudio.service): clients talk to it and
# never start a per-user daemon. Sorts after Debian's 01-enable-autospawn.conf.
autospawn = no
default-server = ${PULSE_SOCKET}
`;

export const BLUETOOTH_PA = `### ${HEADER('')}
### Bluetooth audio for the system-wide daemon (included by system.pa).
.ifexists module-bluetooth-policy.so
load-module module-bluetooth-policy
.endif
.ifexists module-bluetooth-discover.so
load-module module-bluetooth-discover
.endif
`;

/** system.pa before PulseAudio 15 (bullseye) does not include system.pa.d. */
export const SYSTEM_PA_INCLUDE = `.nofail
.include /etc/pulse/system.pa.d
`;
