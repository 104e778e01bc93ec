import { usageError } from '../../lib/errors.js';
import { flag, type Flags } from '../../lib/command.js';
import type { Context } from '../../lib/context.js';

export type Via = 'auto' | 'ssh' | 'ssm' | 'exec';
export const VIAS: readonly Via[] = ['auto', 'ssh', 'ssm', 'exec'];

/** `--forward [LOCAL:]PORT` (a container port) or `--forward LOCAL:HOST:PORT` (a host the task reaches). */
export interface ForwardSpec {
  localPort: number;
  /** Undefined: the container's own port. */
  host?: string;
  port: number;
}

/** Everything `run()` needs to know, after flags > env > config > defaults. */
export interface EcsSshOptions {
  /** Undefined only with --list (every task of the cluster). */
  service?: string;
  /** The remote argv; empty means an interactive shell. */
  command: string[];
  cluster?: string;
  /** A task id, ARN, or a unique prefix of an id. */
  task?: string;
  container?: string;
  all: boolean;
  list: boolean;
  print: boolean;
  /** An explicit ssh config file: handed to `ssh -G` and to ssh as -F. */
  sshConfig?: string;
  /** Explicit --user: always passed to ssh as -l. */
  user?: string;
  /** -l for hosts whose ssh config sets no user. */
  fallbackUser: string;
  public: boolean;
  sshOptions: string[];
  via: Via;
  forward?: ForwardSpec;
  /** -t / -T; undefined: a TTY only when stdin and stdout are terminals. */
  tty?: boolean;
  /** Use and update the last-resolution cache (--no-cache: off). */
  cache: boolean;
}

export const DEFAULT_SSH_USER = 'ec2-user';

type Setting = Context['setting'];

/** Turn commander's parse (positional args + this command's options) into EcsSshOptions. */
export function resolveOptions(args: readonly unknown[], flags: Flags, setting: Setting): EcsSshOptions {
  const service = typeof args[0] === 'string' && args[0] !== '' ? args[0] : undefined;
  const command = Array.isArray(args[1]) ? (args[1] as unknown[]).map(String) : [];
  const user = setting('ecs', 'user', flag.string(flags, 'user'));
  const sshOptions = [...((setting('ecs', 'sshOptions', undefined, undefined, 'list') as string[] | undefined) ?? []), ...flag.strings(flags, 'sshOption')];
  const viaRaw = (setting('ecs', 'via', flag.string(flags, 'via')) as string | undefined) ?? 'auto';
  if (!VIAS.includes(viaRaw as Via)) throw usageError(`--via must be one of ${VIAS.join(', ')}, got ${JSON.stringify(viaRaw)}.`, 'e.g. --via ssm when port 22 is closed');
  const forwardRaw = flag.string(flags, 'forward');
  const tty = flags.tty === true ? true : flags.tty === false ? false : undefined;
  const options: EcsSshOptions = {
    service,
    command,
    cluster: setting('ecs', 'cluster', flag.string(flags, 'cluster')),
    task: flag.string(flags, 'task'),
    container: flag.string(flags, 'container'),
    all: flag.bool(flags, 'all'),
    list: flag.bool(flags, 'list'),
    print: flag.bool(flags, 'print'),
    sshConfig: setting('ecs', 'sshConfig', flag.string(flags, 'sshConfig')),
    user: flag.string(flags, 'user'),
    fallbackUser: user ?? DEFAULT_SSH_USER,
    public: Boolean(setting('ecs', 'public', flag.bool(flags, 'public') ? true : undefined, false, 'boolean')),
    sshOptions,
    via: viaRaw as Via,
    forward: forwardRaw === undefined ? undefined : parseForward(forwardRaw),
    tty,
    cache: flags.cache !== false,
  };
  validate(options);
  return options;
}

const PORT = /^\d{1,5}$/;

function port(text: string, what: string, spec: string): number {
  const n = Number(text);
  if (!PORT.test(text) || n < 1 || n > 65535) throw usageError(`--forward ${JSON.stringify(spec)}: ${what} must be a port number from 1 to 65535.`, 'e.g. --forward 8080, --forward 15432:5432 or --forward 15432:mydb.abc.eu-west-1.rds.amazonaws.com:5432');
  return n;
}

/** `PORT`, `LOCAL:PORT`, `LOCAL:HOST:PORT` (`LOCAL:[v6]:PORT` for an IPv6 host). */
export function parseForward(spec: string): ForwardSpec {
  const v6 = /^(\d+):\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(spec);
  if (v6) return { localPort: port(v6[1]!, 'the local port', spec), host: v6[2]!, port: port(v6[3]!, 'the remote port', spec) };
  const parts = spec.split(':');
  if (parts.length === 1) return { localPort: port(parts[0]!, 'the port', spec), port: port(parts[0]!, 'the port', spec) };
  if (parts.length === 2) return { localPort: port(parts[0]!, 'the local port', spec), port: port(parts[1]!, 'the container port', spec) };
  if (parts.length === 3) {
    const host = parts[1]!;
    // The host lands in ssh -L and an SSM document parameter: a name or an address, nothing else.
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(host)) throw usageError(`--forward ${JSON.stringify(spec)}: "${host}" is not a host name or IP address.`, 'e.g. --forward 15432:mydb.abc.eu-west-1.rds.amazonaws.com:5432');
    return { localPort: port(parts[0]!, 'the local port', spec), host, port: port(parts[2]!, 'the remote port', spec) };
  }
  throw usageError(`--forward ${JSON.stringify(spec)} is not [LOCAL:]PORT or LOCAL:HOST:PORT.`, 'e.g. --forward 8080 or --forward 15432:mydb.example.internal:5432');
}

function validate(o: EcsSshOptions): void {
  if (!o.service && !o.list) {
    throw usageError('Missing SERVICE: which ECS service should opsctl connect to?', 'e.g. `opsctl ecs-ssh web`, or `opsctl ecs-ssh --list` to see the tasks');
  }
  if (o.list && o.command.length > 0) throw usageError('--list takes no COMMAND.', 'drop the command, or drop --list to run it');
  if (o.list && (o.all || o.print || o.task || o.forward)) throw usageError('--list cannot be combined with --all, --print, --task or --forward.');
  if (o.all && o.command.length === 0) throw usageError('--all needs a COMMAND to run on every task.', "e.g. `opsctl ecs-ssh web --all -- sh -c 'df -h /'`");
  if (o.all && o.task) throw usageError('--all and --task contradict each other.', 'pass one of them');
  if (o.forward && (o.all || o.command.length > 0)) throw usageError('--forward runs no COMMAND and takes one task.', 'drop the command (or --all); the forward runs until Ctrl-C');
  for (const [name, value] of [['--cluster', o.cluster], ['--task', o.task], ['--container', o.container], ['SERVICE', o.service]] as const) {
    if (value !== undefined && (value.trim() === '' || /[\u0000-\u001f\u007f]/.test(value))) throw usageError(`${name} must be a name, got ${JSON.stringify(value)}.`);
  }
  // --user, or ecs.user / OPSCTL_ECS_USER: both reach ssh as -l.
  for (const [name, value] of [['--user', o.user], ['ecs.user', o.fallbackUser]] as const) {
    if (value !== undefined && (value === '' || value.startsWith('-') || /[\s@]/.test(value))) {
      throw usageError(`${name} must be a plain user name, got ${JSON.stringify(value)}.`);
    }
  }
  for (const opt of o.sshOptions) {
    // ssh -o takes "Key=Value" or "Key Value"; anything else is a typo (or an attempt to smuggle a flag).
    if (!/^[A-Za-z][A-Za-z0-9]*(=|\s+)\S/.test(opt)) {
      throw usageError(`--ssh-option must look like Key=Value, got ${JSON.stringify(opt)}.`, 'e.g. --ssh-option ConnectTimeout=5 (see `man ssh_config`)');
    }
  }
}

/** AWS region names look like eu-west-1, us-gov-west-1, cn-north-1: a typo would otherwise surface as a DNS failure. */
export function checkRegion(region: string | undefined): void {
  if (region === undefined) return;
  if (!/^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/.test(region)) {
    throw usageError(`"${region.replace(/[\u0000-\u001f\u007f]/g, '?')}" is not an AWS region name.`, 'regions look like eu-west-1 or us-east-1 (`aws ec2 describe-regions` lists them)', 'aws-bad-region');
  }
}
