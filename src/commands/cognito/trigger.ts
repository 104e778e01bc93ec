/** opsctl cognito trigger scaffold: write the User Migration Lambda, its package.json and README. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from '../../lib/context.js';
import { ExitCode, OpsError, firstLine, usageError } from '../../lib/errors.js';
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

export async function handler(_args: unknown[], opts: Record<string, any>, ctx: Context): Promise<number | void> {
  const outDir = ctx.setting('cognito', 'triggerOut', opts.out as string | undefined);
  if (!outDir) throw usageError('No output directory given.', 'pass --out DIR, e.g. --out ./user-migration');
  const result = await run({ out: outDir, source: (opts.source ?? 'postgres') as TriggerSource, force: Boolean(opts.force), dryRun: Boolean(ctx.global.dryRun) });
  if (ctx.global.json) {
    ctx.out.data(result);
    return ExitCode.OK;
  }
  for (const f of result.files) ctx.out.line(`${result.dryRun ? '[Dry run] would write' : 'wrote'} ${f.path} (${f.bytes} bytes)`);
  if (!result.dryRun) {
    ctx.out.info(`Next: read ${path.join(result.dir, 'README.md')} — the app client needs USER_PASSWORD_AUTH, and bulk-created users never reach this trigger.`);
  }
  return ExitCode.OK;
}
