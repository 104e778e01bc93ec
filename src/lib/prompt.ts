import { createInterface } from 'node:readline/promises';
import { usageError, OpsError } from './errors.js';

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
  pick<T>(question: string, choices: Array<{ label: string; value: T }>, opts: { flag: string; candidates?: string }): Promise<T>;
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
      io.stderr.write(`${question}\n`);
      choices.forEach((c, i) => io.stderr.write(`  ${String(i + 1).padStart(2)}) ${c.label}\n`));
      for (;;) {
        const answer = (await ask(`Choose 1-${choices.length}: `)).trim();
        const n = Number(answer);
        if (Number.isInteger(n) && n >= 1 && n <= choices.length) return choices[n - 1]!.value;
        io.stderr.write(`Please type a number from 1 to ${choices.length}.\n`);
      }
    },
  };
}
