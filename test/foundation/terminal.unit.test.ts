import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Output, fitColumns, table } from '../../src/lib/output.js';
import { escapeLine, terminalWidth, truncate } from '../../src/lib/terminal.js';
import { memoryStreams, repoRoot } from '../support/cli.js';

const rows = [
  ['example.com, www.example.com, api.example.com, static.example.com', '2027-03-01', '89', "(STAGING) Let's Encrypt Counterfeit Cabbage R11", 'heroku:my-app, ssh:web1:/etc/ssl/example'],
  ['short.org', '2027-01-02', '30 (due)', 'R10', '-'],
];
const headers = ['DOMAINS', 'EXPIRES', 'DAYS LEFT', 'ISSUER', 'PUSH TARGETS'];
const widthOf = (line: string) => [...line].length;

describe('table()', () => {
  it('without a width (not a terminal, no COLUMNS) keeps every cell whole', () => {
    const text = table(headers, rows, { width: null });
    expect(text).toContain(rows[0]![0]);
    expect(text).toContain(rows[0]![4]);
  });

  it('fits a narrow terminal: no line longer than the width, widest columns cut with an ellipsis, short ones whole', () => {
    for (const width of [80, 60, 50]) {
      const lines = table(headers, rows, { width }).split('\n');
      expect(lines).toHaveLength(3);
      for (const l of lines) expect(widthOf(l), `${width}: ${l}`).toBeLessThanOrEqual(width);
      expect(lines[1]).toContain('…');
    }
    // While there is room, the short columns stay whole and only the wide ones are cut.
    for (const width of [80, 60]) {
      const lines = table(headers, rows, { width }).split('\n');
      expect(lines[1]).toContain('2027-03-01  89 ');
      expect(lines[2]).toMatch(/^short\.org\s+2027-01-02  30 \(due\)\s+R10\s+-$/);
    }
  });

  it('columns stay aligned after shrinking', () => {
    const lines = table(headers, rows, { width: 70 }).split('\n');
    const start = (l: string, s: string) => [...l.slice(0, l.indexOf(s))].length;
    expect(start(lines[1]!, '2027-03-01')).toBe(start(lines[0]!, 'EXPIRES'));
    expect(start(lines[2]!, '2027-01-02')).toBe(start(lines[0]!, 'EXPIRES'));
  });

  it('shrinks the widest column first and never below a readable minimum', () => {
    expect(fitColumns([40, 10, 5], 40)).toEqual([21, 10, 5]);
    // Too narrow for even the minimums: it stops there instead of emptying columns.
    expect(fitColumns([40, 10, 5], 5)).toEqual([6, 6, 5]);
  });

  it('escapes control characters in every cell, headers included', () => {
    const text = table(['NAME\x1b[2J'], [['evil\x1b]0;pwned\x07'], ['two\nlines\ttab'], ['\u202eabc']], { width: null });
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202e]/);
    expect(text.split('\n')).toEqual(['NAME\\x1b[2J', 'evil\\x1b]0;pwned\\x07', 'two\\nlines\\ttab', '\\u{202e}abc']);
  });

  it('Output.table fits stdout: a TTY uses its columns, a pipe uses COLUMNS, else nothing is cut', () => {
    const tty = memoryStreams(true, 50);
    new Output(tty.streams, { env: {} }).table(headers, rows);
    expect(Math.max(...tty.stdout.trimEnd().split('\n').map(widthOf))).toBeLessThanOrEqual(50);
    const pipe = memoryStreams(false);
    new Output(pipe.streams, { env: { COLUMNS: '60' } }).table(headers, rows);
    expect(Math.max(...pipe.stdout.trimEnd().split('\n').map(widthOf))).toBeLessThanOrEqual(60);
    const plain = memoryStreams(false);
    new Output(plain.streams, { env: {} }).table(headers, rows);
    expect(plain.stdout).toContain(rows[0]![3]);
  });
});

describe('terminal helpers', () => {
  it('terminalWidth: the TTY first, then COLUMNS, else undefined', () => {
    expect(terminalWidth({ isTTY: true, columns: 120 }, { COLUMNS: '40' })).toBe(120);
    expect(terminalWidth({ isTTY: false }, { COLUMNS: '40' })).toBe(40);
    expect(terminalWidth({ isTTY: false }, { COLUMNS: 'wide' })).toBeUndefined();
    expect(terminalWidth({}, {})).toBeUndefined();
  });
  it('truncate counts characters, not UTF-16 units', () => {
    expect(truncate('héllo wörld', 6)).toBe('héllo…');
    expect(truncate('😀😀😀', 2)).toBe('😀…');
    expect(truncate('abc', 3)).toBe('abc');
    expect(escapeLine('a\rb')).toBe('a\\x0db');
  });
});

describe('colour', () => {
  it('picocolors styles a TTY and nothing else; NO_COLOR and --no-color win', () => {
    const tty = memoryStreams(true);
    new Output(tty.streams, { env: {} }).error('bad', 'fix it');
    expect(tty.stderr).toBe('\x1b[31merror: \x1b[39mbad\n\x1b[2mhint: \x1b[22mfix it\n');
    const noColor = memoryStreams(true);
    new Output(noColor.streams, { env: { NO_COLOR: '1' } }).error('bad');
    expect(noColor.stderr).toBe('error: bad\n');
    const flag = memoryStreams(true);
    new Output(flag.streams, { env: { FORCE_COLOR: '1' }, color: false }).error('bad');
    expect(flag.stderr).toBe('error: bad\n');
    const forced = memoryStreams(false);
    expect(new Output(forced.streams, { env: { FORCE_COLOR: '1' } }).style('bold', 'x')).toBe('\x1b[1mx\x1b[22m');
  });

  it('no file in src/ writes colour escape codes by hand (picocolors is the one colour library)', () => {
    const offenders: string[] = [];
    const srcDir = path.join(repoRoot, 'src');
    for (const file of readdirSync(srcDir, { recursive: true }) as string[]) {
      if (!file.endsWith('.ts')) continue;
      const text = readFileSync(path.join(srcDir, file), 'utf8');
      // SGR (colour/style) sequences: ESC [ … m, written as \x1b, \u001b or \033.
      if (/(\\x1b|\\u001b|\\033)\[[0-9;]*m/i.test(text)) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});

describe('Output escapes control characters in everything it prints', () => {
  const hostile = 'web\x1b]0;pwned\x07\x1b[2J\rX\x9b31m\u202e';
  const escaped = 'web\\x1b]0;pwned\\x07\\x1b[2J\\x0dX\\x9b31m\\u{202e}';

  it('line, info, success, warn, error, log and debug: nothing raw reaches the stream, newlines and tabs stay', () => {
    const m = memoryStreams();
    const out = new Output(m.streams, { color: false, debug: true, env: {} });
    out.line(`name: ${hostile}\n\tnext`);
    out.info(hostile);
    out.success(hostile);
    out.warn(hostile);
    out.error(hostile, hostile);
    out.log(hostile);
    out.debug(hostile);
    expect(m.stdout).toBe(`name: ${escaped}\n\tnext\n`);
    expect(m.stderr.split('\n').filter(Boolean)).toEqual([escaped, `✓ ${escaped}`, `warning: ${escaped}`, `error: ${escaped}`, `hint: ${escaped}`, escaped, `[debug] ${escaped}`]);
    expect(m.stdout + m.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });

  it('with colour on, our own colours survive and a colour code inside API text is the only thing that would', () => {
    const m = memoryStreams(true);
    const out = new Output(m.streams, { env: { FORCE_COLOR: '1' } });
    out.line(`${out.style('green', 'ok')} ${hostile}`);
    out.error(hostile);
    expect(m.stdout).toBe(`\x1b[32mok\x1b[39m ${escaped}\n`);
    expect(m.stderr).toBe(`\x1b[31merror: \x1b[39m${escaped}\n`);
  });

  it('with colour off, even an SGR colour in API text is escaped (none can be ours)', () => {
    const m = memoryStreams();
    new Output(m.streams, { color: false, env: {} }).line('a\x1b[31mred');
    expect(m.stdout).toBe('a\\x1b[31mred\n');
  });

  it('progress lines are one line, escaped', () => {
    const m = memoryStreams();
    new Output(m.streams, { color: false, env: {} }).progress(`step\n${hostile}`);
    expect(m.stderr).toBe(`step\\n${escaped}\n`);
  });
});
