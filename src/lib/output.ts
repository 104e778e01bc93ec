/**
 * All printing goes through here: data to stdout, everything else (logs,
 * progress, prompts, warnings) to stderr. Colour only when the stream is a TTY
 * and neither --no-color nor NO_COLOR says otherwise.
 */
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
}

const codes = { red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39], dim: [2, 22], bold: [1, 22] } as const;
export type Style = keyof typeof codes;

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
  private readonly colorOut: boolean;
  private readonly colorErr: boolean;
  private progressActive = false;

  constructor(readonly streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr }, opts: OutputOptions = {}) {
    this.json = Boolean(opts.json);
    this.debugOn = Boolean(opts.debug);
    this.verbose = Boolean(opts.verbose) || this.debugOn;
    this.quiet = Boolean(opts.quiet);
    this.colorOut = colorEnabled(streams.stdout, opts.color);
    this.colorErr = colorEnabled(streams.stderr, opts.color);
  }

  /** Style text for stdout. */
  style(style: Style, text: string): string {
    return this.colorOut ? wrap(style, text) : text;
  }
  /** Style text for stderr. */
  styleErr(style: Style, text: string): string {
    return this.colorErr ? wrap(style, text) : text;
  }

  /** Human data: a line on stdout (ignored in --json mode: print the document with data()). */
  line(text = ''): void {
    if (this.json) return;
    this.streams.stdout.write(text + '\n');
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
    if (this.streams.stderr.isTTY) {
      this.streams.stderr.write('\r\x1b[2K' + text);
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

function wrap(style: Style, text: string): string {
  const [open, close] = codes[style];
  return `\x1b[${open}m${text}\x1b[${close}m`;
}

/** Render rows as an aligned text table. */
export function table(headers: string[], rows: Array<Array<string | number | undefined | null>>): string {
  const cells = rows.map((r) => r.map((c) => (c === undefined || c === null ? '' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(headers), ...cells.map(fmt)].join('\n');
}
