/**
 * Help pages: `help [command…]` at every level (commander's own looks one word
 * deep), Examples on every group page, the global options that apply on each
 * page, and "did you mean" for a mistyped command.
 */
import type { EventEmitter } from 'node:events';
import type { Command, Option } from 'commander';
import { usageError } from './lib/errors.js';

export const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;

export function forEachCommand(cmd: Command, fn: (c: Command) => void): void {
  for (const c of cmd.commands) {
    fn(c);
    forEachCommand(c, fn);
  }
}


/** Global options only some commands use; the others (--json, -v, --debug, --no-color, --config) apply everywhere. */
const AWS_COMMANDS = new Set(['ecs-ssh', 'cognito migrate', 'cert issue', 'cert renew', 'cert push']);
const NO_DRY_RUN = new Set(['cert list', 'cognito token verify', 'pi audio status', 'completion']);

export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function leafPaths(cmd: Command): string[] {
  const kids = cmd.commands.filter((c) => c.name() !== 'help');
  return kids.length === 0 ? [commandPath(cmd)] : kids.flatMap(leafPaths);
}

function globalApplies(option: Option, leaves: string[]): boolean {
  if (option.attributeName() === 'version') return false;
  if (option.attributeName() === 'profile' || option.attributeName() === 'region') return leaves.some((p) => AWS_COMMANDS.has(p));
  if (option.attributeName() === 'dryRun') return leaves.some((p) => !NO_DRY_RUN.has(p) && !p.endsWith('help'));
  return true;
}

export function applicableGlobals(cmd: Command): Option[] {
  const leaves = cmd.name() === 'help' ? [] : leafPaths(cmd);
  const globals: Option[] = [];
  for (let c = cmd.parent; c; c = c.parent) globals.push(...c.options.filter((o) => !o.hidden));
  return globals.filter((o) => globalApplies(o, leaves));
}

/** Examples for group pages that their job section did not give one. */
const GROUP_EXAMPLES: Record<string, string[]> = {
  cognito: ['opsctl cognito migrate --user-pool-id eu-west-1_AbC --from users.csv --dry-run', 'opsctl cognito trigger scaffold --out ./user-migration', 'opsctl cognito token verify eyJraWQ… --user-pool-id eu-west-1_AbC', 'opsctl help cognito migrate'],
  'cognito trigger': ['opsctl cognito trigger scaffold --out ./user-migration', 'opsctl cognito trigger scaffold --out ./user-migration --source http'],
  'cognito token': ['opsctl cognito token verify eyJraWQ… --user-pool-id eu-west-1_AbC --client-id 1example23456789'],
  cert: ['opsctl cert issue -d example.com --email me@example.com --webroot /var/www/html', 'opsctl cert push heroku -d example.com --app my-app', 'opsctl cert renew --all --dry-run', 'opsctl cert list', 'opsctl help cert issue'],
  pg: ['opsctl pg demo', "opsctl pg explain 'SELECT * FROM events WHERE player_id = 42 ORDER BY created_at DESC LIMIT 1' --db postgres://localhost/app", 'opsctl pg slow --db postgres://localhost/app --top 5', 'opsctl help pg explain'],
  pi: ['sudo opsctl pi audio setup --speaker 00:11:22:33:44:55', 'opsctl pi audio status --host pi@raspberrypi.local'],
  'pi audio': ['sudo opsctl pi audio setup --speaker 00:11:22:33:44:55', 'opsctl pi audio setup --host pi@raspberrypi.local --dry-run', 'opsctl pi audio status', 'sudo opsctl pi audio pair 00:11:22:33:44:55', 'sudo opsctl pi audio uninstall'],
};

/**
 * Every group gets `help [command…]` (commander's own help command only looks one
 * word deep) and an Examples block; both are added after the job sections so each
 * group is complete whoever declared it.
 */
export function addGroupHelp(root: Command, onHelp: (from: Command, words: string[]) => void): void {
  const groups: Command[] = [root];
  forEachCommand(root, (c) => {
    if (c.commands.length > 0) groups.push(c);
  });
  for (const group of groups) {
    const path = commandPath(group);
    const prefix = path ? `opsctl ${path}` : 'opsctl';
    const first = group.commands[0]?.name() ?? '';
    if (group !== root && (group as unknown as EventEmitter).listenerCount('afterHelp') === 0) {
      group.addHelpText('after', examples(...(GROUP_EXAMPLES[path] ?? [`${prefix} ${first} --help`])));
    }
    group
      .command('help')
      .description('show help for a command')
      .argument('[command...]', 'the command (and subcommand) to explain')
      .addHelpText('after', examples(`${prefix} help ${first}`, `${prefix} ${first} --help`))
      .action(function (this: Command, words: string[]) {
        onHelp(group, words);
      });
  }
}

/** The command `words` names under `from`; a usage error with a suggestion when one does not exist. */
export function resolveHelpTarget(from: Command, words: string[]): Command {
  let cmd = from;
  for (const word of words) {
    const kids = cmd.commands.filter((c) => c.name() !== 'help');
    const next = kids.find((c) => c.name() === word || c.aliases().includes(word));
    const where = ['opsctl', commandPath(cmd)].filter(Boolean).join(' ');
    if (!next) {
      if (kids.length === 0) throw usageError(`${where} has no subcommands (got "${word}").`, `see \`${where} --help\``, 'unknown-command');
      const near = suggest(word, kids.map((c) => c.name()));
      throw usageError(`unknown command '${word}'`, `${near ? `did you mean \`${where} ${near}\`? ` : `the commands are ${kids.map((c) => c.name()).join(', ')}; `}see \`${where} --help\``, 'unknown-command');
    }
    cmd = next;
  }
  return cmd;
}

/** The closest name by edit distance, when it is close enough to be a typo. */
export function suggest(word: string, names: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const d = editDistance(word, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best !== undefined && (bestDistance <= Math.max(1, Math.floor(word.length * 0.4)) || best.startsWith(word)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
