import { shellQuote, type CommandSpec } from '../../lib/process.js';
import type { SshHostChoice } from './ssh-hosts.js';

/**
 * Without a command the user gets bash when the image has it, else sh. The
 * script is fixed text; nothing from the user or the API goes into it.
 */
export const SHELL_PROBE = 'if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi';

/** The argv `docker exec` gets on the container instance. */
export function dockerExecArgv(runtimeId: string, command: string[], tty: boolean): string[] {
  const argv = command.length > 0 ? command : ['sh', '-c', SHELL_PROBE];
  return ['docker', 'exec', tty ? '-it' : '-i', runtimeId, ...argv];
}

/**
 * ssh hands its command to the remote user's login shell as one string, so
 * every argument is single-quoted: the container receives exactly the argv
 * typed here, whatever quotes, `$()`, `;` or newlines it contains.
 */
export function remoteCommandLine(argv: string[]): string {
  // zsh (a possible login shell) expands a word starting with "=" to a path.
  return argv
    .map((a) => {
      const q = shellQuote(a);
      return q === a && a.startsWith('=') ? `'${a}'` : q;
    })
    .join(' ');
}

export interface SshCommandInput {
  host: SshHostChoice;
  remote: string[];
  tty: boolean;
  /** stdin from /dev/null (every task in turn with --all). */
  noStdin?: boolean;
  sshConfig?: string;
  sshOptions: string[];
}

/** The real OpenSSH client, as data: `ssh [-F cfg] -t|-T [-o …] [-l user] -- host 'docker' 'exec' …`. */
export function sshCommand(input: SshCommandInput): CommandSpec {
  const args: string[] = [];
  if (input.sshConfig) args.push('-F', input.sshConfig);
  args.push(input.tty ? '-t' : '-T');
  if (input.noStdin) args.push('-n');
  for (const o of input.sshOptions) args.push('-o', o);
  if (input.host.user) args.push('-l', input.host.user);
  // `--` ends ssh's options: a host name can never be read as a flag.
  args.push('--', input.host.host, remoteCommandLine(input.remote));
  return { file: 'ssh', args, stdio: 'inherit' };
}
