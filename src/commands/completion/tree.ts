import type { Command, Option } from 'commander';

/**
 * The command tree as data, read from the commander program itself, so the
 * completion scripts can never drift from what opsctl accepts.
 */
export interface CompletionOption {
  flags: string[];
  description: string;
  takesValue: boolean;
  /** What completes the value: fixed choices, file names, AWS profile names, or nothing. */
  values?: { choices: string[] } | 'files' | 'profiles';
}

export interface CompletionNode {
  /** "" for the root, "cert issue" for a leaf. */
  path: string;
  subcommands: Array<{ name: string; description: string }>;
  /** The command's own options and --help (the global ones are in CompletionTree.globals). */
  options: CompletionOption[];
  /** Choices of the first positional argument (e.g. the shell of `opsctl completion`). */
  argChoices: string[];
}

export interface CompletionTree {
  nodes: CompletionNode[];
  /** Options of the root, accepted after any command. */
  globals: CompletionOption[];
}

const HELP: CompletionOption = { flags: ['--help', '-h'], description: 'show help', takesValue: false };
/** Names that go into generated shell code unquoted: anything else is left out rather than escaped. */
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._:@+=-]*$/;

export function commandTree(root: Command): CompletionTree {
  const nodes: CompletionNode[] = [];
  const walk = (cmd: Command, path: string[]) => {
    const kids = cmd.commands.filter((c) => SAFE.test(c.name()));
    nodes.push({
      path: path.join(' '),
      subcommands: kids.map((c) => ({ name: c.name(), description: oneLine(c.description()) })),
      options: path.length === 0 ? [HELP] : [...optionsOf(cmd), HELP],
      argChoices: (cmd.registeredArguments[0]?.argChoices ?? []).filter((c) => SAFE.test(c)),
    });
    for (const c of kids) {
      if (c.name() === 'help') helpNodes(cmd, [...path, 'help']);
      else walk(c, [...path, c.name()]);
    }
  };
  // `help` completes the commands below its group: `opsctl help pi <TAB>` offers audio, `opsctl pg help <TAB>` explain, slow, demo.
  const helpNodes = (group: Command, path: string[]) => {
    const kids = group.commands.filter((c) => SAFE.test(c.name()) && c.name() !== 'help');
    nodes.push({ path: path.join(' '), subcommands: kids.map((k) => ({ name: k.name(), description: oneLine(k.description()) })), options: [HELP], argChoices: [] });
    for (const k of kids) if (k.commands.length) helpNodes(k, [...path, k.name()]);
  };
  walk(root, []);
  return { nodes, globals: optionsOf(root) };
}

function optionsOf(cmd: Command): CompletionOption[] {
  return cmd.options.filter((o) => !o.hidden).map(optionOf);
}

function optionOf(o: Option): CompletionOption {
  const takesValue = o.required || o.optional;
  const option: CompletionOption = {
    flags: [o.long, o.short].filter((f): f is string => Boolean(f)),
    description: oneLine(o.description),
    takesValue,
  };
  if (!takesValue) return option;
  if (o.argChoices?.length) option.values = { choices: o.argChoices.filter((c) => SAFE.test(c)) };
  else if (o.attributeName() === 'profile') option.values = 'profiles';
  else if (/<[^>]*(path|file|dir)[^>]*>/.test(o.flags)) option.values = 'files';
  return option;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Every "path|flag" whose option takes a value, grouped as the shells' case patterns want them. */
export function valuedFlags(tree: CompletionTree): { global: string[]; local: Array<[string, string]> } {
  return {
    global: tree.globals.filter((o) => o.takesValue).flatMap((o) => o.flags),
    local: tree.nodes.flatMap((n) => n.options.filter((o) => o.takesValue).flatMap((o) => o.flags.map((f): [string, string] => [n.path, f]))),
  };
}

/**
 * Lists the AWS profiles at completion time, from the same files as src/lib/aws-config.ts:
 * `[default]` and `[profile NAME]` in AWS_CONFIG_FILE (~/.aws/config), every section of
 * AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials). POSIX awk, so all three shells share it.
 * `$1` is the credentials file, the files to read follow.
 */
export const PROFILES_AWK = String.raw`FNR == 1 { incred = (FILENAME == cred) }
/^[ \t]*\[/ {
  s = $0; sub(/^[ \t]*\[[ \t]*/, "", s); sub(/[ \t]*\].*$/, "", s); gsub(/[ \t]+/, " ", s)
  if (incred) print s
  else if (s == "default") print s
  else if (s ~ /^profile /) { sub(/^profile /, "", s); print s }
}`;
