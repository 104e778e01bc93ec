/** opsctl cognito trigger scaffold: write the User Migration Lambda, its package.json and README. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { defineCommand, flag } from '../../lib/command.js';
import { ExitCode, OpsError, firstLine, usageError } from '../../lib/errors.js';
import { dryRunResult, printDryRun } from '../../lib/plan.js';
import { escapeLine } from '../../lib/terminal.js';
import { writeFileAtomic } from '../../lib/fs.js';
import { handlerSource, packageJson, readme, type TriggerSource } from './trigger-template.js';

export interface ScaffoldOptions {
  out: string;
  source: TriggerSource;
  force: boolean;
  dryRun: boolean;
}

export interface ScaffoldResult {
  dir: string;
  source: TriggerSource;
  files: Array<{ path: string; bytes: number; written: boolean }>;
  dryRun: boolean;
}

export function plannedFiles(source: TriggerSource): Array<{ name: string; content: string }> {
  return [
    { name: 'index.mjs', content: handlerSource(source) },
    { name: 'package.json', content: packageJson(source) },
    { name: 'README.md', content: readme(source) },
  ];
}

export async function run(o: ScaffoldOptions): Promise<ScaffoldResult> {
  const dir = path.resolve(o.out);
  const files = plannedFiles(o.source);
  const existing: string[] = [];
  for (const f of files) {
    const p = path.join(dir, f.name);
    const s = await stat(p).catch(() => undefined);
    if (s) existing.push(p);
  }
  const dirStat = await stat(dir).catch(() => undefined);
  if (dirStat && !dirStat.isDirectory()) throw usageError(`--out ${o.out} exists and is not a directory.`);
  if (existing.length && !o.force && !o.dryRun) {
    throw new OpsError(`${existing.map((p) => path.basename(p)).join(', ')} already exist${existing.length === 1 ? 's' : ''} in ${dir}.`, { exitCode: ExitCode.USAGE, code: 'exists', hint: 'pass --force to overwrite, or choose another --out' });
  }
  const out: ScaffoldResult['files'] = [];
  for (const f of files) {
    const p = path.join(dir, f.name);
    if (!o.dryRun) {
      await writeFileAtomic(p, f.content, { mode: 0o644 }).catch((err) => {
        throw new OpsError(`Cannot write ${p}: ${firstLine(err)}`, { code: 'file-unwritable', hint: 'choose an --out directory you can write to' });
      });
    }
    out.push({ path: p, bytes: Buffer.byteLength(f.content), written: !o.dryRun });
  }
  return { dir, source: o.source, files: out, dryRun: o.dryRun };
}

export const command = defineCommand<ScaffoldOptions, ScaffoldResult>({
  options(_args, flags, ctx) {
    const out = ctx.setting('cognito', 'triggerOut', flag.string(flags, 'out'));
    if (!out) throw usageError('No output directory given.', 'pass --out DIR, e.g. --out ./user-migration');
    const source = flag.string(flags, 'source') ?? 'postgres';
    if (source !== 'postgres' && source !== 'http') throw usageError(`--source must be postgres or http, got "${source}".`);
    return { out, source, force: flag.bool(flags, 'force'), dryRun: Boolean(ctx.global.dryRun) };
  },
  run: (o) => run(o),
  print(result, out) {
    if (result.dryRun) {
      printDryRun(dryRunResult(result.files.map((f) => ({ action: 'write', target: f.path, detail: `${f.bytes} bytes` }))), out);
      return;
    }
    for (const f of result.files) out.line(`wrote ${escapeLine(f.path)} (${f.bytes} bytes)`);
    out.info(`Next: read ${escapeLine(path.join(result.dir, 'README.md'))} — the app client needs USER_PASSWORD_AUTH, secrets go in Secrets Manager, and bulk-created users never reach this trigger.`);
  },
});
