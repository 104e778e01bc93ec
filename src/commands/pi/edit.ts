/**
 * Text edits that keep a user's own lines: opsctl's lines in files it does
 * not own live in a marked block, so they can be updated and removed without
 * touching anything else. Plus the unified diff the plan shows.
 */

export const BLOCK_BEGIN = '# BEGIN opsctl pi audio (managed block: `opsctl pi audio uninstall` removes it)';
export const BLOCK_END = '# END opsctl pi audio';

function lines(text: string): string[] {
  const l = text.split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}
const join = (l: string[]) => (l.length ? l.join('\n') + '\n' : '');

export function findBlock(text: string): { start: number; end: number } | undefined {
  const l = lines(text);
  const start = l.findIndex((x) => x.startsWith('# BEGIN opsctl pi audio'));
  if (start < 0) return undefined;
  const end = l.findIndex((x, i) => i > start && x === BLOCK_END);
  return end < 0 ? undefined : { start, end };
}

/** Text with opsctl's block removed (exactly its lines). */
export function removeBlock(text: string): string {
  const b = findBlock(text);
  if (!b) return text;
  const l = lines(text);
  l.splice(b.start, b.end - b.start + 1);
  return join(l);
}

/**
 * Text with opsctl's block holding `body`: replaced where it is, or else
 * inserted at the end of `[section]` (INI files), or appended.
 */
export function upsertBlock(text: string, body: string, section?: string): string {
  const block = [BLOCK_BEGIN, ...lines(body), BLOCK_END];
  const existing = findBlock(text);
  const l = lines(text);
  if (existing) {
    l.splice(existing.start, existing.end - existing.start + 1, ...block);
    return join(l);
  }
  if (section) {
    const head = l.findIndex((x) => x.trim() === `[${section}]`);
    if (head < 0) return join([...l, BLOCK_BEGIN, `[${section}]`, ...lines(body), BLOCK_END]);
    let next = l.findIndex((x, i) => i > head && /^\s*\[/.test(x));
    if (next < 0) next = l.length;
    let at = next;
    while (at > head + 1 && l[at - 1]!.trim() === '') at--;
    l.splice(at, 0, ...block);
    return join(l);
  }
  return join([...l, ...block]);
}

/** The effective value of `key` in `[section]` of a GKeyFile-style INI (the last one wins). */
export function iniValue(text: string, section: string, key: string): string | undefined {
  let current = '';
  let value: string | undefined;
  for (const raw of lines(text)) {
    const x = raw.trim();
    if (x.startsWith('#') || x.startsWith(';') || x === '') continue;
    const sec = /^\[(.+)\]$/.exec(x);
    if (sec) {
      current = sec[1]!;
      continue;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(x);
    if (kv && current === section && kv[1] === key) value = kv[2];
  }
  return value;
}

/** Whether a PulseAudio script includes `dir` (an uncommented .include line). */
export function paIncludes(text: string, dir: string): boolean {
  return lines(text).some((x) => x.trim() === `.include ${dir}` || x.trim() === `.include ${dir}/`);
}

/** /etc/group or /etc/gshadow with `user` added to `group` (members are the 4th field in both). */
export function addMember(text: string, group: string, user: string): string {
  return lines(text)
    .map((l) => {
      const f = l.split(':');
      if (f[0] !== group || f.length < 4) return l;
      const members = f[3]!.split(',').filter(Boolean);
      if (!members.includes(user)) members.push(user);
      f[3] = members.join(',');
      return f.join(':');
    })
    .join('\n') + (text.endsWith('\n') ? '\n' : '');
}

export function removeMember(text: string, group: string, user: string): string {
  return lines(text)
    .map((l) => {
      const f = l.split(':');
      if (f[0] !== group || f.length < 4) return l;
      f[3] = f[3]!.split(',').filter((m) => m && m !== user).join(',');
      return f.join(':');
    })
    .join('\n') + (text.endsWith('\n') ? '\n' : '');
}

/** A unified diff of two texts (3 lines of context), empty when equal. */
export function unifiedDiff(before: string | undefined, after: string | undefined, file: string): string {
  if (before === after) return '';
  const a = before === undefined ? [] : lines(before);
  const b = after === undefined ? [] : lines(after);
  const ops = diffLines(a, b);
  const out = [`--- ${before === undefined ? '/dev/null' : 'a' + file}`, `+++ ${after === undefined ? '/dev/null' : 'b' + file}`];
  const ctx = 3;
  let i = 0;
  while (i < ops.length) {
    if (ops[i]!.op === ' ') {
      i++;
      continue;
    }
    let start = Math.max(0, i - ctx);
    let end = i;
    // Extend the hunk while changes are within 2*ctx lines of each other.
    for (let j = i; j < ops.length; j++) {
      if (ops[j]!.op !== ' ') end = j;
      else if (j - end > 2 * ctx) break;
    }
    const stop = Math.min(ops.length, end + ctx + 1);
    const hunk = ops.slice(start, stop);
    const aStart = hunk[0]!.ai;
    const bStart = hunk[0]!.bi;
    const aLen = hunk.filter((o) => o.op !== '+').length;
    const bLen = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${aLen ? aStart + 1 : aStart},${aLen} +${bLen ? bStart + 1 : bStart},${bLen} @@`);
    for (const o of hunk) out.push(o.op + o.text);
    i = stop;
    start = stop;
  }
  return out.join('\n') + '\n';
}

interface Op {
  op: ' ' | '-' | '+';
  text: string;
  ai: number;
  bi: number;
}

function diffLines(a: string[], b: string[]): Op[] {
  // Trim the common prefix and suffix first: config edits are small, files are not.
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  const n = am.length;
  const m = bm.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = am[i] === bm[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: Op[] = [];
  for (let k = 0; k < pre; k++) ops.push({ op: ' ', text: a[k]!, ai: k, bi: k });
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && am[i] === bm[j]) ops.push({ op: ' ', text: am[i]!, ai: pre + i++, bi: pre + j++ });
    else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ op: '-', text: am[i]!, ai: pre + i++, bi: pre + j });
    else ops.push({ op: '+', text: bm[j]!, ai: pre + i, bi: pre + j++ });
  }
  for (let k = 0; k < suf; k++) ops.push({ op: ' ', text: a[a.length - suf + k]!, ai: a.length - suf + k, bi: b.length - suf + k });
  return ops;
}
