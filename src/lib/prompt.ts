import { createInterface } from 'node:readline/promises';
import { usageError, OpsError } from './errors.js';
import { escapeLine } from './terminal.js';

/**
 * Prompts read from stdin and write to stderr. They refuse when stdin is not a
 * TTY (scripts, CI, pipes) and say which flag to pass instead.
 */
export interface PromptIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

export interface Prompter {
  readonly interactive: boolean;
  confirm(question: string, opts: { flag: string; defaultYes?: boolean }): Promise<boolean>;
  pick<T>(question: string, choices: Array<{ label: string; value: T; description?: string }>, opts: { flag: string; candidates?: string }): Promise<T>;
}

export class PromptCancelled extends OpsError {
  constructor() {
    super('Cancelled.', { exitCode: 130, code: 'cancelled' });
  }
}

export function createPrompter(io: PromptIO = { stdin: process.stdin, stderr: process.stderr }): Prompter {
  const interactive = Boolean(io.stdin.isTTY);
  const ask = async (q: string): Promise<string> => {
    const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: Boolean(io.stdin.isTTY) });
    try {
      const closed = new Promise<never>((_, reject) => rl.once('close', () => reject(new PromptCancelled())));
      return await Promise.race([rl.question(q), closed]);
    } finally {
      rl.close();
    }
  };
  return {
    interactive,
    async confirm(question, { flag, defaultYes = false }) {
      if (!interactive) throw usageError(`${question} — cannot ask: standard input is not a terminal.`, `pass ${flag} to answer in advance`, 'not-interactive');
      const answer = (await ask(`${question} ${defaultYes ? '[Y/n]' : '[y/N]'} `)).trim().toLowerCase();
      if (answer === '') return defaultYes;
      return answer === 'y' || answer === 'yes';
    },
    async pick(question, choices, { flag, candidates }) {
      if (choices.length === 1) return choices[0]!.value;
      if (!interactive) {
        throw usageError(`${question} — cannot ask: standard input is not a terminal.${candidates ? ` Candidates: ${candidates}` : ''}`, `pass ${flag} to choose`, 'not-interactive');
      }
      return pickFiltered(question, choices, io);
    },
  };
}

/** Labels are shown in a terminal: escape what an API put in them. */
const safeLabel = (label: string) => escapeLine(label);

/**
 * A type-to-filter picker with arrow keys (@inquirer/search, loaded only when a
 * picker is shown). Every word typed must appear in the label, in any order.
 */
async function pickFiltered<T>(question: string, choices: Array<{ label: string; value: T; description?: string }>, io: PromptIO): Promise<T> {
  const { default: search } = await import('@inquirer/search');
  const indexed = choices.map((c, i) => ({ ...c, label: safeLabel(c.label), index: i, haystack: c.label.toLowerCase() }));
  try {
    const index = await search<number>(
      {
        message: question,
        pageSize: Math.min(15, choices.length),
        source: (term) => {
          const words = (term ?? '').toLowerCase().split(/\s+/).filter(Boolean);
          return indexed
            .filter((c) => words.every((w) => c.haystack.includes(w)))
            .map((c) => ({ name: c.label, value: c.index, ...(c.description ? { description: safeLabel(c.description) } : {}) }));
        },
      },
      { input: io.stdin, output: io.stderr, clearPromptOnDone: false },
    );
    return choices[index]!.value;
  } catch (err) {
    if (err instanceof Error && (err.name === 'ExitPromptError' || err.name === 'AbortPromptError' || err.name === 'CancelPromptError')) throw new PromptCancelled();
    throw err;
  }
}
