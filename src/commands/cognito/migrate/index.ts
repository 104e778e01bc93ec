/**
 * opsctl cognito migrate: plan (pool checks, mapping, a validating pass over
 * the source), then admin-create users resumably, or --verify source vs pool.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type { Context } from '../../../lib/context.js';
import { usageError } from '../../../lib/errors.js';
import { realClock, type Clock } from './rate.js';
import { defaultStatePath, fileStateStore, fingerprintOf, type StateStore } from './state.js';
import type { SourceOptions, UserSource } from './sources.js';
import { parseMapFlags } from './mapping.js';
import { preparePlan, type Plan } from './plan.js';
import { executeAdminCreate, type MigrationSummary, type Progress } from './execute.js';
import { verifyMigration, type VerifyResult } from './verify.js';
import { executeImportJobs, type ImportChunk, type ImportSummary } from './import-job.js';
import { printImport, printImportJob, printPlan, printProgress, printSummary, printVerify } from './print.js';

export interface MigrateOptions {
  userPoolId: string;
  from: string;
  table?: string;
  query?: string;
  map: Array<[string, string]>;
  mode: 'admin-create' | 'import-job';
  invite: boolean;
  update: boolean;
  rate: number;
  concurrency: number;
  groups: string[];
  groupColumn?: string;
  stateFile?: string;
  rejects?: string;
  report?: string;
  restart: boolean;
  dryRun: boolean;
  verify: boolean;
  cloudwatchRoleArn?: string;
}

export interface MigrateDeps {
  /** Reads, import jobs and --verify: a client that retries on its own. */
  cognito: CognitoIdentityProviderClient;
  /** Per-user writes (admin-create), retried by UserWriter with rate adaptation; defaults to `cognito`. */
  writer?: CognitoIdentityProviderClient;
  openSource(opts: SourceOptions): Promise<UserSource>;
  stateStore(file: string): StateStore;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  cwd: string;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Rows validated so far while planning. */
  onPlanRows?: (n: number) => void;
  random?: () => number;
  onImportJob?: (job: ImportChunk) => void;
  /** Test knobs for import-job mode. */
  importPollMs?: number;
  importMaxRows?: number;
}

export type MigrateResult = { kind: 'import'; plan: Plan; summary: ImportSummary } | { kind: 'plan'; plan: Plan } | { kind: 'summary'; plan: Plan; summary: MigrationSummary } | { kind: 'verify'; plan: Plan; verify: VerifyResult };

export async function run(o: MigrateOptions, deps: MigrateDeps): Promise<MigrateResult> {
  const sourceOpts: SourceOptions = { from: o.from, table: o.table, query: o.query };
  const source = await deps.openSource(sourceOpts);
  try {
    const { plan, mapping, pool } = await preparePlan({ poolId: o.userPoolId, map: o.map, groups: o.groups, groupColumn: o.groupColumn, invite: o.invite, update: o.update, mode: o.mode }, deps.cognito, source, deps.signal, deps.onPlanRows);
    if (o.verify) return { kind: 'verify', plan, verify: await verifyMigration(deps.cognito, source, mapping, pool, deps.signal) };
    if (o.dryRun) return { kind: 'plan', plan };
    const fingerprint = fingerprintOf({ pool: o.userPoolId, source: source.label, table: o.table, query: o.query, mapping: plan.mapping, groups: o.groups, mode: o.mode });
    const statePath = o.stateFile ? path.resolve(deps.cwd, o.stateFile) : defaultStatePath(o.userPoolId, fingerprint, deps.env);
    const safeId = o.userPoolId.replace(/[^\w-]/g, '_');
    const rejectsPath = path.resolve(deps.cwd, o.rejects ?? `opsctl-cognito-rejects-${safeId}.csv`);
    if (o.mode === 'import-job') {
      const summary = await executeImportJobs(
        { poolId: o.userPoolId, fingerprint, roleArn: o.cloudwatchRoleArn!, restart: o.restart, rejectsPath, statePath, workDir: path.join(path.dirname(statePath), `import-${fingerprint}`), columns: await source.columns(), pollMs: deps.importPollMs, maxRows: deps.importMaxRows },
        { cognito: deps.cognito, source, clock: deps.clock, signal: deps.signal, onJob: deps.onImportJob },
        mapping,
        pool,
      );
      return { kind: 'import', plan, summary };
    }
    const summary = await executeAdminCreate(
      {
        poolId: o.userPoolId,
        fingerprint,
        rate: o.rate,
        concurrency: o.concurrency,
        invite: o.invite,
        update: o.update,
        restart: o.restart,
        rejectsPath,
        reportPath: path.resolve(deps.cwd, o.report ?? `opsctl-cognito-failures-${safeId}.csv`),
        total: plan.total,
        columns: await source.columns(),
      },
      { cognito: deps.writer ?? deps.cognito, source, state: deps.stateStore(statePath), clock: deps.clock, signal: deps.signal, onProgress: deps.onProgress, random: deps.random },
      mapping,
      pool,
    );
    return { kind: 'summary', plan, summary };
  } finally {
    await source.close();
  }
}

export async function resolveOptions(opts: Record<string, any>, ctx: Context): Promise<MigrateOptions> {
  const userPoolId = ctx.setting('cognito', 'userPoolId', opts.userPoolId as string | undefined);
  if (!userPoolId) throw usageError('No user pool given.', 'pass --user-pool-id (or set cognito.userPoolId in the config file)', 'usage');
  const from = ctx.setting('cognito', 'from', opts.from as string | undefined);
  if (!from) throw usageError('No source given.', 'pass --from postgres://…, --from users.csv or --from users.jsonl', 'usage');
  let mapFile: Record<string, unknown> | undefined;
  if (opts.mapFile) {
    let text: string;
    try {
      text = await readFile(opts.mapFile, 'utf8');
    } catch (err) {
      throw usageError(`Cannot read mapping file ${opts.mapFile}: ${(err as Error).message}`, undefined, 'bad-mapping');
    }
    try {
      mapFile = JSON.parse(text);
    } catch (err) {
      throw usageError(`Mapping file ${opts.mapFile} is not valid JSON: ${(err as Error).message}`, 'e.g. {"email": "email", "id": "custom:legacy_id"}', 'bad-mapping');
    }
    if (!mapFile || typeof mapFile !== 'object' || Array.isArray(mapFile)) throw usageError(`Mapping file ${opts.mapFile} must hold one JSON object of column → attribute.`, undefined, 'bad-mapping');
  }
  const mode = (opts.mode ?? ctx.setting('cognito', 'mode', undefined, 'admin-create')) as MigrateOptions['mode'];
  if (mode !== 'admin-create' && mode !== 'import-job') throw usageError(`Unknown migrate mode "${mode}".`, 'use admin-create or import-job (cognito.mode / OPSCTL_COGNITO_MODE)');
  const concurrency = ctx.setting('cognito', 'concurrency', opts.concurrency as number | undefined, 10, 'number')!;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw usageError('--concurrency must be a whole number of at least 1.');
  // Flags and config reach here unchecked by commander: a rate of 0 or less would mean no limit at all.
  const rate = ctx.setting('cognito', 'rate', opts.rate as number | undefined, 40, 'number')!;
  if (!(rate > 0)) throw usageError(`--rate must be more than 0 requests per second, got ${rate}.`, 'Cognito allows 50 AdminCreateUser requests/s per account and region; the default is 40');
  if (mode === 'import-job' && !opts.cloudwatchRoleArn) throw usageError('--mode import-job needs --cloudwatch-role-arn.', 'the role lets the import job write its log to CloudWatch');
  // Import jobs send no invitations and fail users that already exist: these flags would be silently ignored.
  const ignored = mode === 'import-job' ? ['invite', 'update'].filter((f) => opts[f]) : [];
  if (ignored.length) throw usageError(`--${ignored.join(' and --')} cannot be used with --mode import-job.`, 'import jobs never email users and cannot update existing ones; use --mode admin-create');
  return {
    userPoolId,
    from,
    table: opts.table,
    query: opts.query,
    map: parseMapFlags(opts.map, mapFile),
    mode,
    invite: Boolean(opts.invite),
    update: Boolean(opts.update),
    rate,
    concurrency,
    groups: Array.isArray(opts.group) ? opts.group : opts.group ? [opts.group] : [],
    groupColumn: opts.groupColumn,
    stateFile: opts.stateFile,
    rejects: opts.rejects,
    report: opts.report,
    restart: Boolean(opts.restart),
    dryRun: Boolean(ctx.global.dryRun),
    verify: Boolean(opts.verify),
    cloudwatchRoleArn: opts.cloudwatchRoleArn,
  };
}

export async function handler(_args: unknown[], opts: Record<string, any>, ctx: Context): Promise<number | void> {
  const o = await resolveOptions(opts, ctx);
  // A migration streams millions of short-lived objects (rows, requests) over a small, constant
  // live set (a few MB). Left alone, V8 keeps growing its young generation and old-generation
  // limit the longer the run lasts, so peak memory would creep up with the user count. Holding the
  // young generation at its initial size and growing the old one in small steps keeps memory flat
  // for 10^4 or 10^6 users, for a little more GC time (negligible next to the network).
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--heap-growing-percent=15');
  const { createAwsClient } = await import('../../../lib/aws.js');
  const { CognitoIdentityProviderClient } = await import('@aws-sdk/client-cognito-identity-provider');
  const { openSource } = await import('./sources.js');
  // Per-user writes are retried by us (with rate adaptation and accounting), not by the SDK; everything
  // else (DescribeUserPool, ListGroups, ListUsers for --verify, import-job polling) keeps the SDK's
  // retries, so one throttle or 5xx in an hour of polling or paging does not end the run.
  const cognito = createAwsClient(CognitoIdentityProviderClient, 'Cognito Identity Provider', ctx.aws, ctx.env);
  const writer = createAwsClient(CognitoIdentityProviderClient, 'Cognito Identity Provider', { ...ctx.aws, maxAttempts: 1, retryMode: 'standard' }, ctx.env);
  if (!o.verify && !o.dryRun) ctx.out.info(`Reading ${o.from.startsWith('postgres') ? 'the source' : o.from} and checking pool ${o.userPoolId}…`);
  try {
    const result = await run(o, {
      cognito,
      writer,
      openSource,
      stateStore: fileStateStore,
      clock: realClock,
      env: ctx.env,
      cwd: process.cwd(),
      signal: ctx.signal,
      onProgress: (p) => printProgress(ctx.out, p),
      onImportJob: (j) => printImportJob(ctx.out, j),
      onPlanRows: (n) => ctx.out.progress(`planning: ${n} rows read and validated…`),
    });
    ctx.out.endProgress();
    const mem = process.memoryUsage();
    ctx.out.debug(`memory: rss ${(mem.rss / 2 ** 20).toFixed(1)} MB, heap ${(mem.heapUsed / 2 ** 20).toFixed(1)}/${(mem.heapTotal / 2 ** 20).toFixed(1)} MB, external ${(mem.external / 2 ** 20).toFixed(1)} MB`);
    if (ctx.global.json) ctx.out.data(result.kind === 'plan' ? { dryRun: true, plan: result.plan } : result.kind === 'verify' ? { plan: result.plan, verify: result.verify } : { plan: result.plan, summary: result.summary });
    if (result.kind === 'plan') return printPlan(ctx.out, result.plan, true);
    if (result.kind === 'verify') return printVerify(ctx.out, result.verify);
    if (result.kind === 'import') return printImport(ctx.out, result.plan, result.summary);
    return printSummary(ctx.out, result.plan, result.summary);
  } catch (err) {
    ctx.out.endProgress();
    if (ctx.signal.aborted) ctx.out.info('Progress is checkpointed: run the same command again to continue where it stopped.');
    throw err;
  } finally {
    cognito.destroy();
    writer.destroy();
  }
}
