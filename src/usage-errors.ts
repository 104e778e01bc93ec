/**
 * commander's usage errors as OpsErrors: one line, a stable code and a hint that
 * names the help page of the command the mistake was made in.
 */
import type { Command, CommanderError } from 'commander';
import { firstLine, usageError, type OpsError } from './lib/errors.js';
import { commandPath } from './help-pages.js';

/** Whether `--json` was asked for: anywhere in argv before `--` (after it, words belong to the command). */
export function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

const COMMANDER_CODES: Record<string, string> = {
  'commander.unknownCommand': 'unknown-command',
  'commander.unknownOption': 'unknown-option',
  'commander.missingArgument': 'missing-argument',
  'commander.optionMissingArgument': 'missing-option-value',
  'commander.missingMandatoryOptionValue': 'missing-option',
  'commander.conflictingOption': 'conflicting-options',
  'commander.excessArguments': 'too-many-arguments',
  'commander.invalidArgument': 'invalid-value',
  'commander.help': 'missing-command',
};

/** A commander usage error as an OpsError: one line, a hint naming the help page of the command it happened in. */
export function usageFromCommander(err: CommanderError, cmd: Command): OpsError {
  const where = ['opsctl', commandPath(cmd)].filter(Boolean).join(' ');
  const seeHelp = `see \`${where} --help\``;
  const code = COMMANDER_CODES[err.code] ?? 'usage';
  if (err.code === 'commander.help') {
    const names = cmd.commands.map((c) => c.name()).filter((n) => n !== 'help');
    return usageError(`${where} needs a subcommand: ${names.join(', ')}.`, seeHelp, code);
  }
  const message = firstLine(err).replace(/^error:\s*/, '');
  const similar = /\(Did you mean (.+?)\?\)/.exec(err.message)?.[1];
  const did = similar ? (err.code === 'commander.unknownCommand' ? `\`${where} ${similar}\`` : `\`${similar}\``) : undefined;
  if (did) return usageError(message, `did you mean ${did}? ${seeHelp}`, code);
  if (err.code === 'commander.unknownCommand') {
    const names = cmd.commands.map((c) => c.name()).filter((n) => n !== 'help');
    return usageError(message, `the commands are ${names.join(', ')}; ${seeHelp}`, code);
  }
  return usageError(message, seeHelp, code);
}
