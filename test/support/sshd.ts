import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';

/**
 * A real OpenSSH server on 127.0.0.1:<free port>, key-only, whose sessions
 * get `binDir` first on PATH: drop recording scripts there (docker, systemctl,
 * apt-get…) with `recordingCommand`. `sshConfigPath` is a client config (use
 * with `ssh -F`) that defines `alias` (default "testhost").
 */
export interface TestSshd {
  port: number;
  host: '127.0.0.1';
  user: string;
  dir: string;
  /** Directory first on the PATH of every ssh session. */
  binDir: string;
  /** Where recording commands append one JSON line per call. */
  logFile: string;
  identityFile: string;
  /** Client ssh_config with Host `alias` → this server. */
  sshConfigPath: string;
  alias: string;
  /** Options an ssh client needs for this server (no host key prompts, this key). */
  clientOptions: string[];
  /** Write a client ssh_config with extra Host blocks appended (each gets port/key/user unless given). */
  writeClientConfig(hosts: Array<{ host: string; hostName?: string; extra?: string[] }>, file?: string): Promise<string>;
  /** Recorded calls so far: [{ name, argv, tty, cwd }]. */
  calls(): Promise<RecordedCall[]>;
  clearCalls(): Promise<void>;
  stop(): Promise<void>;
}

export interface RecordedCall {
  name: string;
  argv: string[];
  /** Whether stdin was a terminal (ssh -t). */
  tty: boolean;
  stdin?: string;
}

export interface RecordingBehaviour {
  /** Text printed to stdout. */
  stdout?: string;
  stderr?: string;
  exitCode?: number;
  /** Read stdin fully and record it (for commands fed data, e.g. `tee`). */
  readStdin?: boolean;
  /**
   * Instead of fixed output, run the remaining argv as a command (e.g. a fake
   * `docker exec -i ID cmd…` that runs cmd… locally, so exit codes and argv flow through).
   */
  execAfter?: number | ((argv: string[]) => number);
}

export async function startSshd(opts: { alias?: string } = {}): Promise<TestSshd> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'opsctl-sshd-'));
  await chmod(dir, 0o755);
  const binDir = path.join(dir, 'bin');
  await mkdir(binDir, { recursive: true });
  const logFile = path.join(dir, 'calls.jsonl');
  await writeFile(logFile, '');
  await chmod(logFile, 0o666);
  const hostKey = path.join(dir, 'host_ed25519');
  const identityFile = path.join(dir, 'id_ed25519');
  keygen(hostKey);
  keygen(identityFile);
  const authorized = path.join(dir, 'authorized_keys');
  await writeFile(authorized, await readFile(identityFile + '.pub'));
  await chmod(authorized, 0o600);
  const user = os.userInfo().username;
  const port = await freePort();
  if (!existsSync('/run/sshd')) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const config = path.join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin yes',
      'PrintMotd no',
      'PrintLastLog no',
      'AcceptEnv LANG LC_*',
      `SetEnv PATH=${binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin OPSCTL_TEST_LOG=${logFile}`,
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
    ].join('\n') + '\n',
  );
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  await waitForPort(port, 10_000, () => stderr, 'sshd');

  const alias = opts.alias ?? 'testhost';
  const clientOptions = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-i', identityFile, '-p', String(port), '-l', user];
  const writeClientConfig: TestSshd['writeClientConfig'] = async (hosts, file = path.join(dir, `ssh_config_${Math.random().toString(36).slice(2)}`)) => {
    const blocks = hosts.map((h) =>
      [
        `Host ${h.host}`,
        `  HostName ${h.hostName ?? '127.0.0.1'}`,
        `  Port ${port}`,
        `  User ${user}`,
        `  IdentityFile ${identityFile}`,
        '  IdentitiesOnly yes',
        '  StrictHostKeyChecking no',
        '  UserKnownHostsFile /dev/null',
        '  LogLevel ERROR',
        '  BatchMode yes',
        ...(h.extra ?? []).map((l) => `  ${l}`),
      ].join('\n'),
    );
    await writeFile(file, blocks.join('\n\n') + '\n');
    await chmod(file, 0o600);
    return file;
  };
  const sshConfigPath = await writeClientConfig([{ host: alias }], path.join(dir, 'ssh_config'));

  return {
    port,
    host: '127.0.0.1',
    user,
    dir,
    binDir,
    logFile,
    identityFile,
    sshConfigPath,
    alias,
    clientOptions,
    writeClientConfig,
    async calls() {
      const text = await readFile(logFile, 'utf8');
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as RecordedCall);
    },
    async clearCalls() {
      await writeFile(logFile, '');
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Put a fake program named `name` in the sshd's bin dir (or any dir) that
 * records its argv (and whether it had a TTY) as a JSON line, then behaves as told.
 */
export async function recordingCommand(binDir: string, name: string, behaviour: RecordingBehaviour = {}, logFile?: string): Promise<string> {
  const file = path.join(binDir, name);
  const script = `#!${process.execPath}
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const b = ${JSON.stringify({ ...behaviour, execAfter: typeof behaviour.execAfter === 'number' ? behaviour.execAfter : undefined })};
const argv = process.argv.slice(2);
const log = ${JSON.stringify(logFile ?? '')} || process.env.OPSCTL_TEST_LOG;
let stdin;
if (b.readStdin) { try { stdin = fs.readFileSync(0, 'utf8'); } catch { stdin = ''; } }
fs.appendFileSync(log, JSON.stringify({ name: ${JSON.stringify(name)}, argv, tty: require('node:tty').isatty(0), stdin }) + '\\n');
if (b.stdout) process.stdout.write(b.stdout);
if (b.stderr) process.stderr.write(b.stderr);
if (typeof b.execAfter === 'number') {
  const rest = argv.slice(b.execAfter);
  const r = spawnSync(rest[0], rest.slice(1), { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
process.exit(b.exitCode ?? 0);
`;
  await writeFile(file, script);
  await chmod(file, 0o755);
  return file;
}

function keygen(file: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}
