import { remoteCommandLine } from '../../lib/ssh.js';

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
 * The same over SSM: Session Manager logs in as ssm-user, who may not be in
 * the docker group (ECS-optimized AMIs give it sudo), so docker runs through
 * `sudo -n` when the socket is not writable. Fixed script; the argv is quoted.
 */
export function hostDockerLine(runtimeId: string, command: string[], tty: boolean): string {
  const argv = dockerExecArgv(runtimeId, command, tty).slice(1);
  return remoteCommandLine(['sh', '-c', 'if [ -w /var/run/docker.sock ]; then exec docker "$@"; fi; exec sudo -n docker "$@"', 'sh', ...argv]);
}

export { remoteCommandLine };
