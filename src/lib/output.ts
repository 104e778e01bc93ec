/**
 * All printing goes through here: data to stdout, everything else (logs,
 * progress, prompts, warnings) to stderr. Colour only when the stream is a TTY
 * and neither --no-color nor NO_COLOR says otherwise; picocolors is the one
 * colour library (no escape codes written by hand anywhere in src/).
 */
import { createColors } from 'picocolors';
import { escapeControl, escapeLine, terminalWidth, truncate } from './terminal.js';

export interface OutputStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export type Level = 'debug' | 'verbose' | 'info' | 'warn' | 'error';

export interface OutputOptions {
  json?: boolean;
  color?: boolean;
  verbose?: boolean;
  debug?: boolean;
  /** Suppress informational logs (errors and warnings still show). */
  quiet?: boolean;
  /** The environment deciding colour and width (NO_COLOR, FORCE_COLOR, TERM, COLUMNS); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export type Style = 'red' | 'green' | 'yellow' | 'cyan' | 'dim' | 'bold';
type Colors = ReturnType<typeof createColors>;

/** Erase the current line and return to its start (a cursor control, not a colour). */
const ERASE_LINE = '\r\x1b[2K';
/** The only escape sequences opsctl writes inside text: picocolors' SGR colours. */
// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;

/**
 * Text on its way to a terminal, with every control character escaped (an API
 * string printed without escapeLine cannot retitle, clear or rewrite the
 * screen). Newlines and tabs stay: printers write several lines at once. Only
 * when this stream has colour on do SGR colour sequences survive (ours); with
 * colour off even those are escaped, since none of them can be ours.
 */
export function terminalSafe(text: string, colors: boolean): string {
  if (!colors) return escapeControl(text);
  let safe = '';
  let at = 0;
  for (const m of text.matchAll(SGR)) {
    safe += escapeControl(text.slice(at, m.index)) + m[0];
    at = m.index + m[0].length;
  }
  return safe + escapeControl(text.slice(at));
}

export function colorEnabled(stream: { isTTY?: boolean }, flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

export class Output {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly debugOn: boolean;
  readonly quiet: boolean;
  private readonly colorOut: Colors;
  private readonly colorErr: Colors;
  private readonly env: NodeJS.ProcessEnv;
  private readonly colorsOnOut: boolean;
  private readonly colorsOnErr: boolean;
  private progressActive = false;

  constructor(readonly streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr }, opts: OutputOptions = {}) {
    this.json = Boolean(opts.json);
    this.debugOn = Boolean(opts.debug);
    this.verbose = Boolean(opts.verbose) || this.debugOn;
    this.quiet = Boolean(opts.quiet);
    this.env = opts.env ?? process.env;
    this.colorsOnOut = colorEnabled(streams.stdout, opts.color, this.env);
    this.colorsOnErr = colorEnabled(streams.stderr, opts.color, this.env);
    this.colorOut = createColors(this.colorsOnOut);
    this.colorErr = createColors(this.colorsOnErr);
  }

  /** Style text for stdout. */
  style(style: Style, text: string): string {
    return this.colorOut[style](text);
  }
  /** Style text for stderr. */
  styleErr(style: Style, text: string): string {
    return this.colorErr[style](text);
  }

  /** The width stdout's terminal gives us (COLUMNS when not a terminal), or undefined. */
  get width(): number | undefined {
    return terminalWidth(this.streams.stdout as { isTTY?: boolean; columns?: number }, this.env);
  }

  /** A table on stdout, fitted to stdout's terminal width (see table()). */
  table(headers: string[], rows: TableRow[]): void {
    this.line(table(headers, rows, { width: this.width ?? null }));
  }

  /** Human data: a line on stdout (ignored in --json mode: print the document with data()). */
  line(text = ''): void {
    if (this.json) return;
    this.streams.stdout.write(terminalSafe(text, this.colorsOnOut) + '\n');
  }
  /** The one JSON document on stdout. */
  data(value: unknown): void {
    this.streams.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  info(text: string): void {
    if (this.quiet) return;
    this.err(text);
  }
  success(text: string): void {
    if (this.quiet) return;
    this.err(this.styleErr('green', '✓ ') + text);
  }
  warn(text: string): void {
    this.err(this.styleErr('yellow', 'warning: ') + text);
  }
  log(text: string): void {
    if (this.verbose) this.err(this.styleErr('dim', text));
  }
  debug(text: string): void {
    if (this.debugOn) this.err(this.styleErr('dim', `[debug] ${text}`));
  }
  error(message: string, hint?: string): void {
    this.err(this.styleErr('red', 'error: ') + message);
    if (hint) this.err(this.styleErr('dim', 'hint: ') + hint);
  }

  /** A progress line that redraws in place on a TTY and is printed sparingly elsewhere. */
  progress(text: string): void {
    if (this.quiet) return;
    text = terminalSafe(text, this.colorsOnErr).replace(/\n/g, '\\n');
    if (this.streams.stderr.isTTY) {
      this.streams.stderr.write(ERASE_LINE + text);
      this.progressActive = true;
    } else {
      this.streams.stderr.write(text + '\n');
    }
  }
  endProgress(): void {
    if (this.progressActive) {
      this.streams.stderr.write('\n');
      this.progressActive = false;
    }
  }

  /**
   * Show a spinner with the elapsed time on stderr while `work` runs, only on a
   * terminal and only once it has taken longer than a second (short waits stay
   * silent). Logs printed meanwhile go above it.
   */
  async spin<T>(text: string, work: () => Promise<T>, opts: { delayMs?: number } = {}): Promise<T> {
    const stream = this.streams.stderr as NodeJS.WritableStream & { isTTY?: boolean };
    if (!stream.isTTY || this.quiet) return work();
    text = terminalSafe(text, this.colorsOnErr).replace(/\n/g, '\\n');
    const started = Date.now();
    let spinner: { text: string; stop(): unknown; start(): unknown } | undefined;
    let stopped = false;
    const label = () => `${text} ${this.styleErr('dim', `${Math.floor((Date.now() - started) / 1000)} s`)}`;
    const timer = setTimeout(async () => {
      const { default: yoctoSpinner } = await import('yocto-spinner');
      if (stopped) return;
      const made = yoctoSpinner({ text: label(), stream: stream as unknown as NodeJS.WriteStream, handleSignals: false });
      made.start();
      spinner = made;
      this.activeSpinner = made;
    }, opts.delayMs ?? 1000);
    const tick = setInterval(() => {
      if (spinner) spinner.text = label();
    }, 1000);
    try {
      return await work();
    } finally {
      stopped = true;
      clearTimeout(timer);
      clearInterval(tick);
      spinner?.stop();
      this.activeSpinner = undefined;
    }
  }
  private activeSpinner: { stop(): unknown; start(): unknown } | undefined;

  private err(text: string): void {
    text = terminalSafe(text, this.colorsOnErr);
    if (this.activeSpinner) {
      this.activeSpinner.stop();
      this.streams.stderr.write(text + '\n');
      this.activeSpinner.start();
      return;
    }
    if (this.progressActive) this.endProgress();
    this.streams.stderr.write(text + '\n');
  }
}

export type TableRow = Array<string | number | undefined | null>;

const GAP = 2;
/** A column is not shrunk below this many columns (or its natural width, if smaller). */
const MIN_COLUMN = 6;

/**
 * Render rows as an aligned text table. Every cell is escaped to one line
 * (control characters from APIs and files never reach the terminal raw), so
 * cells are plain text: style whole lines, not cells.
 *
 * `width` fits the table to a terminal: the widest columns are shrunk first and
 * their cells cut with an ellipsis, so a row never wraps mid-line. By default
 * it is the width of process.stdout when that is a terminal, else COLUMNS;
 * `null` means no limit (Output.table passes its own stream's width).
 */
export function table(headers: string[], rows: TableRow[], opts: { width?: number | null } = {}): string {
  const cells = [headers, ...rows].map((r) => r.map((c) => (c === undefined || c === null ? '' : escapeLine(String(c)))));
  const columns = Math.max(...cells.map((r) => r.length));
  const natural = Array.from({ length: columns }, (_, i) => Math.max(0, ...cells.map((r) => displayWidth(r[i] ?? ''))));
  const limit = opts.width === undefined ? terminalWidth(process.stdout) : opts.width ?? undefined;
  const widths = limit === undefined ? natural : fitColumns(natural, limit);
  const fmt = (r: string[]) =>
    r
      .map((c, i) => {
        const cut = displayWidth(c) > widths[i]! ? truncate(c, widths[i]!) : c;
        return i === r.length - 1 ? cut : cut + ' '.repeat(Math.max(0, widths[i]! - displayWidth(cut)));
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  return cells.map(fmt).join('\n');
}

/** Shrink the currently widest column one step at a time until the row fits (or nothing can shrink). */
export function fitColumns(natural: number[], limit: number): number[] {
  const widths = [...natural];
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP * Math.max(0, widths.length - 1);
  while (total() > limit) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (widths[i]! > Math.min(natural[i]!, MIN_COLUMN) && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    }
    if (widest < 0) break;
    widths[widest] = widths[widest]! - 1;
  }
  return widths;
}

function displayWidth(text: string): number {
  return [...text].length;
}
