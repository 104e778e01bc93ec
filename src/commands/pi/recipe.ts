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
export const connectWantsPath = (mac: string) => `/etc/systemd/system/multi-user.target.wants/${connectUnitName(mac)}`;

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

export const CONNECT_TEMPLATE_UNIT = `# ${HEADER('')}
# Dials out to the speaker named by the instance (its MAC address) at boot.
# Trusting a device only lets it connect to us; BlueZ does not dial out by itself.
# Retries every 20 s until the speaker is switched on and in range.
[Unit]
Description=Connect Bluetooth speaker %I
Documentation=man:bluetoothctl(1)
Wants=bluetooth.service pulseaudio.service
After=bluetooth.service pulseaudio.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStartPre=/usr/bin/bluetoothctl power on
ExecStart=/usr/bin/bluetoothctl --timeout 30 connect %I
Restart=on-failure
RestartSec=20

[Install]
WantedBy=multi-user.target
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

export const DBUS_POLICY = `<?xml version="1.0"?>
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- ${HEADER('').replace(/`/g, "'")}
     System-wide PulseAudio runs as user pulse and must reach BlueZ on the
     system bus to register its A2DP endpoints. -->
<busconfig>
  <policy user="pulse">
    <allow send_destination="org.bluez"/>
  </policy>
</busconfig>
`;

/** system.pa before PulseAudio 15 (bullseye) does not include system.pa.d. */
export const SYSTEM_PA_INCLUDE = `.nofail
.include /etc/pulse/system.pa.d
`;
/** main.conf line that makes BlueZ power the adapter on at boot (default since 5.65, not before). */
export const MAIN_CONF_AUTOENABLE = 'AutoEnable=true\n';
