/**
 * Which command an argv names, without loading the CLI: the first word that
 * is not a global option (or a global option's value). Mirrors the global
 * options declared in cli.ts; anything it cannot tell returns undefined, and
 * the caller takes the general path.
 */
const GLOBAL_WITH_VALUE = new Set(['--profile', '--region', '--config']);
const GLOBAL_FLAGS = new Set(['--json', '--dry-run', '-v', '--verbose', '--debug', '--no-color']);

export function commandName(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (GLOBAL_WITH_VALUE.has(word)) {
      i++;
      continue;
    }
    if (GLOBAL_FLAGS.has(word)) continue;
    const eq = word.indexOf('=');
    if (word.startsWith('--') && eq > 0 && GLOBAL_WITH_VALUE.has(word.slice(0, eq))) continue;
    return word.startsWith('-') ? undefined : word;
  }
  return undefined;
}
