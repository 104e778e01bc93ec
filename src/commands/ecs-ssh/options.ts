import { usageError } from '../../lib/errors.js';
import type { Context } from '../../lib/context.js';

/** Everything `run()` needs to know, after flags > env > config > defaults. */
export interface EcsSshOptions {
  /** Undefined only with --list (every task of the cluster). */
  service?: string;
  /** The remote argv; empty means an interactive shell. */
  command: string[];
  cluster?: string;
  task?: string;
  container?: string;
  all: boolean;
  list: boolean;
  print: boolean;
  /** An explicit ssh config file: read for aliases and passed to ssh as -F. */
  sshConfig?: string;
  /** Explicit --user: always passed to ssh as -l. */
  user?: string;
  /** User for the bare-IP fallback when no alias matches. */
  fallbackUser: string;
  public: boolean;
  sshOptions: string[];
}

export const DEFAULT_SSH_USER = 'ec2-user';

type Setting = Context['setting'];

/** Turn commander's parse (positional args + this command's options) into EcsSshOptions. */
export function resolveOptions(args: unknown[], opts: Record<string, any>, setting: Setting): EcsSshOptions {
  const service = typeof args[0] === 'string' && args[0] !== '' ? args[0] : undefined;
  const command = Array.isArray(args[1]) ? (args[1] as unknown[]).map(String) : [];
  const list = Boolean(opts.list);
  const all = Boolean(opts.all);
  const user = setting('ecs', 'user', opts.user as string | undefined);
  const sshOptions = [...((setting('ecs', 'sshOptions', undefined, undefined, 'list') as string[] | undefined) ?? []), ...((opts.sshOption as string[] | undefined) ?? [])];
  const options: EcsSshOptions = {
    service,
    command,
    cluster: setting('ecs', 'cluster', opts.cluster as string | undefined),
    task: opts.task as string | undefined,
    container: opts.container as string | undefined,
    all,
    list,
    print: Boolean(opts.print),
    sshConfig: setting('ecs', 'sshConfig', opts.sshConfig as string | undefined),
    user: opts.user as string | undefined,
    fallbackUser: user ?? DEFAULT_SSH_USER,
    public: Boolean(setting('ecs', 'public', opts.public ? true : undefined, false, 'boolean')),
    sshOptions,
  };
  validate(options);
  return options;
}

function validate(o: EcsSshOptions): void {
  if (!o.service && !o.list) {
    throw usageError('Missing SERVICE: which ECS service should opsctl connect to?', 'e.g. `opsctl ecs-ssh web`, or `opsctl ecs-ssh --list` to see the tasks');
  }
  if (o.list && o.command.length > 0) throw usageError('--list takes no COMMAND.', 'drop the command, or drop --list to run it');
  if (o.list && (o.all || o.print || o.task)) throw usageError('--list cannot be combined with --all, --print or --task.');
  if (o.all && o.command.length === 0) throw usageError('--all needs a COMMAND to run on every task.', "e.g. `opsctl ecs-ssh web --all -- sh -c 'df -h /'`");
  if (o.all && o.task) throw usageError('--all and --task contradict each other.', 'pass one of them');
  for (const [flag, value] of [['--cluster', o.cluster], ['--task', o.task], ['--container', o.container], ['SERVICE', o.service]] as const) {
    if (value !== undefined && (value.trim() === '' || /[\r\n]/.test(value))) throw usageError(`${flag} must be a name, got ${JSON.stringify(value)}.`);
  }
  // --user, or ecs.user / OPSCTL_ECS_USER for the IP fallback: both reach ssh as -l.
  for (const [flag, value] of [['--user', o.user], ['ecs.user', o.fallbackUser]] as const) {
    if (value !== undefined && (value === '' || value.startsWith('-') || /[\s@]/.test(value))) {
      throw usageError(`${flag} must be a plain user name, got ${JSON.stringify(value)}.`);
    }
  }
  for (const opt of o.sshOptions) {
    // ssh -o takes "Key=Value" or "Key Value"; anything else is a typo (or an attempt to smuggle a flag).
    if (!/^[A-Za-z][A-Za-z0-9]*(=|\s+)\S/.test(opt)) {
      throw usageError(`--ssh-option must look like Key=Value, got ${JSON.stringify(opt)}.`, 'e.g. --ssh-option ConnectTimeout=5 (see `man ssh_config`)');
    }
  }
}
