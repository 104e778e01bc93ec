import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Recording stand-ins for the programs `opsctl pi audio` runs on a Pi, with
 * just enough shared state (a JSON file) to behave like the real ones across
 * calls: apt-get installs what dpkg-query then reports, systemctl start makes
 * is-active say "active", bluetoothctl pair/trust/connect change what `info`
 * prints, pactl answers only while pulseaudio.service is "active". Each call is
 * logged as one JSON line { name, argv, tty } like test/support/sshd.ts's recordingCommand.
 */
export interface FakePiState {
  installed: string[];
  active: string[];
  powered: boolean;
  /** Speaker known to BlueZ (found by a scan). */
  known: boolean;
  paired: boolean;
  trusted: boolean;
  connected: boolean;
  /** Make `bluetoothctl connect` fail like BlueZ does without an audio endpoint. */
  failConnect?: string;
  /** What `id -u` answers (1000: opsctl must use sudo). */
  uid?: number;
  /** What `apt-get install -s` prints (the removals apt would make). */
  aptSimulate?: string;
  /** Make `sudo -n` refuse as it does when the user has no NOPASSWD rule. */
  sudoPassword?: boolean;
  /** bluetoothd is not running: org.bluez has no owner, and bluetoothctl waits for it forever (as the real one does). */
  bluetoothdDown?: boolean;
  /** bluetoothd owns org.bluez but never answers. */
  bluetoothdHung?: boolean;
  /** bluetoothd runs but sees no adapter. */
  noController?: boolean;
  /** `pair` prints nothing useful and exits 0 (BlueZ with --timeout) but the device stays unpaired. */
  pairSilentlyFails?: boolean;
}

export const defaultPiState = (): FakePiState => ({ installed: [], active: [], powered: false, known: false, paired: false, trusted: false, connected: false });

const MAC = '00:11:22:33:44:55';

const PROGRAM = (name: string, logFile: string, stateFile: string) => `#!${process.execPath}
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const argv = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(logFile)}, JSON.stringify({ name: ${JSON.stringify(name)}, argv, tty: require('node:tty').isatty(0) }) + '\\n');
const stateFile = ${JSON.stringify(stateFile)};
const st = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
const save = () => fs.writeFileSync(stateFile, JSON.stringify(st));
const out = (s) => process.stdout.write(s);
const name = ${JSON.stringify(name)};
const args = argv.filter((a, i) => !(a === '--timeout' || argv[i - 1] === '--timeout' || a === '--agent' || argv[i - 1] === '--agent'));
const MAC = ${JSON.stringify(MAC)};
switch (name) {
  case 'sudo': {
    if (st.sudoPassword) { process.stderr.write('sudo: a password is required\\n'); process.exit(1); }
    const rest = argv.slice(argv.indexOf('--') + 1);
    const r = spawnSync(rest[0], rest.slice(1), { stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
  case 'id':
    out(argv[0] === '-u' ? st.uid + '\\n' : 'pi\\n');
    process.exit(0);
  case 'apt-get':
    if (argv.includes('-s') && st.aptSimulate) out(st.aptSimulate);
    if (argv[0] === 'install' && !argv.includes('-s')) { st.installed.push(...argv.filter((a) => /^[a-z][a-z0-9.+-]+$/.test(a) && !a.startsWith('Dpkg'))); save(); }
    process.exit(0);
  case 'dpkg-query': {
    const wanted = argv.slice(2);
    for (const p of wanted) if (st.installed.includes(p)) out(p + '\\tii \\t16.1+dfsg1-2+b1\\n');
    if (wanted.some((p) => !st.installed.includes(p))) { process.stderr.write('dpkg-query: no packages found matching x\\n'); process.exit(1); }
    process.exit(0);
  }
  case 'pgrep':
    process.exit(1);
  case 'usermod':
  case 'gpasswd':
    process.exit(0);
  case 'systemctl': {
    const [verb, unit] = argv;
    if (verb === 'is-active') { const a = st.active.includes(unit); out(a ? 'active\\n' : 'inactive\\n'); process.exit(a ? 0 : 3); }
    if (verb === 'start' || verb === 'restart') { if (!st.active.includes(unit)) st.active.push(unit); save(); }
    if (verb === 'stop') { st.active = st.active.filter((u) => u !== unit); save(); }
    process.exit(0);
  }
  case 'bluetoothctl': {
    const [verb, arg] = args;
    if (st.bluetoothdDown || st.bluetoothdHung) { out('Waiting to connect to bluetoothd...'); setInterval(() => {}, 1000); return; }
    if (verb === 'list') { if (!st.noController) out('Controller B8:27:EB:12:34:56 raspberrypi [default]\\n'); process.exit(0); }
    if (st.noController && verb !== 'info') { out('No default controller available\\n'); process.exit(0); }
    if (verb === 'show') { out('Controller B8:27:EB:12:34:56 (public)\\n\\tName: raspberrypi\\n\\tPowered: ' + (st.powered ? 'yes' : 'no') + '\\n'); process.exit(0); }
    if (verb === 'power') { st.powered = true; save(); out('Changing power on succeeded\\n'); process.exit(0); }
    if (verb === 'scan') { st.known = true; save(); out('Discovery started\\n[NEW] Device ' + MAC + ' JBL Flip 5\\n'); process.exit(0); }
    if (verb === 'info') {
      if (!st.known) { out('Device ' + arg + ' not available\\n'); process.exit(1); }
      const yn = (b) => (b ? 'yes' : 'no');
      out('Device ' + MAC + ' (public)\\n\\tName: JBL Flip 5\\n\\tPaired: ' + yn(st.paired) + '\\n\\tTrusted: ' + yn(st.trusted) + '\\n\\tConnected: ' + yn(st.connected) + '\\n\\tUUID: Audio Sink                (0000110b-0000-1000-8000-00805f9b34fb)\\n');
      process.exit(0);
    }
    if (verb === 'pair' && st.pairSilentlyFails) { out('Attempting to pair with ' + arg + '\\n'); process.exit(0); }
    if (verb === 'pair') { st.paired = true; save(); out('Attempting to pair with ' + arg + '\\nPairing successful\\n'); process.exit(0); }
    if (verb === 'trust') { st.trusted = true; save(); out('Changing ' + arg + ' trust succeeded\\n'); process.exit(0); }
    if (verb === 'connect') {
      if (st.failConnect) { out('Attempting to connect to ' + arg + '\\nFailed to connect: ' + st.failConnect + '\\n'); process.exit(1); }
      st.connected = true; save(); out('Attempting to connect to ' + arg + '\\nConnection successful\\n'); process.exit(0);
    }
    process.exit(0);
  }
  case 'busctl':
    out(st.bluetoothdDown ? 'b false\\n' : 'b true\\n');
    process.exit(0);
  case 'loginctl':
    process.exit(0);
  case 'pactl': {
    if (!st.active.includes('pulseaudio.service')) { process.stderr.write('Connection failure: Connection refused\\n'); process.exit(1); }
    if (argv.includes('modules')) out('11\\tmodule-bluetooth-policy\\t\\t\\n12\\tmodule-bluetooth-discover\\t\\t\\n');
    if (argv.includes('sinks') && st.connected) out('1\\tbluez_sink.00_11_22_33_44_55.a2dp_sink\\tmodule-bluez5-device.c\\ts16le 2ch 44100Hz\\tIDLE\\n');
    process.exit(0);
  }
}
process.exit(0);
`;

export const FAKE_PROGRAMS = ['apt-get', 'dpkg-query', 'pgrep', 'systemctl', 'usermod', 'gpasswd', 'bluetoothctl', 'pactl', 'busctl', 'loginctl'];

export async function installFakePi(binDir: string, logFile: string, state: Partial<FakePiState> = {}, extra: string[] = []): Promise<{ stateFile: string; state(): Promise<FakePiState> }> {
  const stateFile = path.join(binDir, '..', 'fake-pi-state.json');
  await writeFile(stateFile, JSON.stringify({ ...defaultPiState(), ...state }));
  await chmod(stateFile, 0o666);
  for (const name of [...FAKE_PROGRAMS, ...extra]) {
    const file = path.join(binDir, name);
    await writeFile(file, PROGRAM(name, logFile, stateFile));
    await chmod(file, 0o755);
  }
  return { stateFile, state: async () => JSON.parse(await readFile(stateFile, 'utf8')) as FakePiState };
}
