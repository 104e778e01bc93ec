/**
 * `opsctl completion <shell>`: a completion script generated from the commander
 * program (src/cli.ts), so every group, subcommand, option and choice is there
 * and nothing drifts. `--profile` values are read from the AWS config files by
 * the script itself when TAB is pressed.
 */
import { arg, defineCommand } from '../../lib/command.js';
import { usageError } from '../../lib/errors.js';
import { bashScript } from './bash.js';
import { fishScript } from './fish.js';
import { commandTree } from './tree.js';
import { zshScript } from './zsh.js';

export { commandTree, bashScript, zshScript, fishScript };

const SHELLS = { bash: bashScript, zsh: zshScript, fish: fishScript } as const;
export type Shell = keyof typeof SHELLS;

export interface CompletionOptions {
  shell: Shell;
}

export interface CompletionResult {
  shell: Shell;
  script: string;
}

export const command = defineCommand<CompletionOptions, CompletionResult>({
  options(args) {
    const shell = arg(args, 0);
    if (shell !== 'bash' && shell !== 'zsh' && shell !== 'fish') throw usageError(`Unknown shell "${shell}".`, 'use bash, zsh or fish');
    return { shell };
  },
  async run({ shell }) {
    const { buildProgram } = await import('../../cli.js');
    return { shell, script: SHELLS[shell](commandTree(buildProgram())) };
  },
  print(result, out) {
    out.streams.stdout.write(result.script);
  },
});
