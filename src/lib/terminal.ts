/**
 * Text from an API, a file or a remote host is escaped before it reaches a
 * terminal: control characters (ESC, CSI, BEL, CR, backspace, C1 controls,
 * bidi overrides) could retitle, clear or rewrite the screen.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Escape control characters as \xNN / \u{NNNN}; tabs and newlines stay (use `escapeLine` for one line). */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** One line: newlines and tabs escaped too. */
export function escapeLine(text: string): string {
  return escapeControl(text).replace(/\n/g, '\\n').replace(/\t/g, '\\t');
}

/** The columns a terminal gives us (stdout or stderr), or undefined when not a terminal. */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const fromEnv = Number(env.COLUMNS);
  if (stream.isTTY && stream.columns) return stream.columns;
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return undefined;
}

/** Shorten to `width` display columns with an ellipsis. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length <= width) return text;
  return chars.slice(0, Math.max(0, width - 1)).join('') + '…';
}
