/**
 * opsctl cognito migrate: plan (pool checks, mapping, a validating pass over
 * the source), then create users resumably (AdminCreateUser or import jobs),
 * write the identity links, and optionally the sub back into the source;
 * or --verify (and --repair) source against pool.
 */
import path from 'node:path';
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import type { Context } from '../../../lib/context.js';
import { defineCommand } from '../../../lib/command.js';
import { dryRunResult, type DryRunResult } from '../../../lib/plan.js';
import { realClock, type Clock } from './rate.js';
import { AdaptiveRateLimiter } from './rate.js';
import { defaultStatePath, fileStateStore, fingerprintOf, type StateStore } from './state.js';
import type { SourceOptions, UserSource } from './sources.js';
import { preparePlan, type Plan } from './plan.js';
import { executeAdminCreate, type MigrationSummary, type Progress } from './execute.js';
import { verifyMigration, type VerifyResult } from './verify.js';
import { executeImportJobs, type ImportChunk, type ImportSummary } from './import-job.js';
import { afterImport, type AfterImportResult } from './after-import.js';
import { UserWriter } from './cognito-calls.js';
import { LinksFile } from './writer.js';
import type { WriteBackResult } from './write-back.js';
import { resolveOptions, type MigrateOptions } from './options.js';
import { printImportJob, printMigrateResult, printProgress } from './print.js';

export { resolveOptions, type MigrateOptions };

export interface MigrateDeps {
  /** Reads, import jobs and --verify: a client that retries on its own. */
  cognito: CognitoIdentityProviderClient;
  /** Per-user writes (admin-create, repair), retried by UserWriter with rate adaptation; defaults to `cognito`. */
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

export type MigrateResult =
  | (DryRunResult & { kind: 'plan'; plan: Plan })
  | { kind: 'summary'; plan: Plan; summary: MigrationSummary; writeBack?: WriteBackResult }
  | { kind: 'import'; plan: Plan; summary: ImportSummary; afterImport: AfterImportResult; unconfirmed?: MigrationSummary; linksFile: string; writeBack?: WriteBackResult }
  | { kind: 'verify'; plan: Plan; verify: VerifyResult };

export async function runMigration(o: MigrateOptions, deps: MigrateDeps): Promise<MigrateResult> {
  const sourceOpts: SourceOptions = { from: o.from, table: o.table, query: o.query, env: deps.env };
  const source = await deps.openSource(sourceOpts);
  try {
    const { plan, mapping, pool } = await preparePlan(
      { poolId: o.userPoolId, map: o.map, groups: o.groups, groupColumn: o.groupColumn, invite: o.invite, update: o.update, mode: o.mode, passwordHash: o.passwordHash, pepperConfigured: o.pepperConfigured, phoneCountry: o.phoneCountry, unconfirmed: o.unconfirmed },
      deps.cognito,
      source,
      deps.signal,
      deps.onPlanRows,
    );
    const safeId = o.userPoolId.replace(/[^\w-]/g, '_');
    const linksPath = path.resolve(deps.cwd, o.links ?? `opsctl-cognito-links-${safeId}.csv`);
    const writerFor = (clock: Clock) => {
      const limiter = new AdaptiveRateLimiter(o.rate, clock);
      return new UserWriter(deps.writer ?? deps.cognito, { poolId: o.userPoolId, invite: o.invite, update: o.update, pool }, limiter, limiter, clock, deps.signal, deps.random);
    };
    if (o.writeBack && !o.verify) {
      const { checkWriteBack } = await import('./write-back.js');
      await checkWriteBack(o.from, o.writeBack, mapping.legacyIdColumn ?? 'id', deps.env);
    }
    if (o.verify) {
      const verify = await verifyMigration({ client: deps.cognito, source, mapping, pool, groups: plan.groups, linksPath, signal: deps.signal, repairWith: o.repair ? writerFor(deps.clock) : undefined });
      return { kind: 'verify', plan, verify };
    }
    if (o.dryRun) {
      const steps = [...plan.steps, { action: 'write', target: linksPath, detail: 'legacy_id,username,sub of every user in the pool' }];
      if (o.writeBack) steps.push({ action: 'update', target: `${o.writeBack.table}.${o.writeBack.column}`, detail: `the sub of each user, matched on ${mapping.legacyIdColumn ?? 'id'}, in batches (rows already right are not touched)` });
      return { ...dryRunResult(steps, plan.warnings), kind: 'plan', plan };
    }
    const fingerprint = fingerprintOf({ pool: o.userPoolId, source: source.label, table: o.table, query: o.query, mapping: plan.mapping, groups: o.groups, mode: o.mode });
    const statePath = o.stateFile ? path.resolve(deps.cwd, o.stateFile) : defaultStatePath(o.userPoolId, fingerprint, deps.env);
    const rejectsPath = path.resolve(deps.cwd, o.rejects ?? `opsctl-cognito-rejects-${safeId}.csv`);
    const reportPath = path.resolve(deps.cwd, o.report ?? `opsctl-cognito-failures-${safeId}.csv`);
    const columns = await source.columns();
    const adminCreate = (extra: { fingerprint: string; statePath: string; only?: Parameters<typeof executeAdminCreate>[0]['only'] }) =>
      executeAdminCreate(
        { poolId: o.userPoolId, rate: o.rate, concurrency: o.concurrency, invite: o.invite, update: o.update, restart: o.restart, rejectsPath, reportPath, total: plan.total, columns, linksPath, ...extra },
        { cognito: deps.writer ?? deps.cognito, source, state: deps.stateStore(extra.statePath), clock: deps.clock, signal: deps.signal, onProgress: deps.onProgress, random: deps.random },
        mapping,
        pool,
      );
    const maybeWriteBack = async () => {
      if (!o.writeBack) return undefined;
      const { writeBack } = await import('./write-back.js');
      return writeBack(o.from, o.writeBack, mapping.legacyIdColumn ?? 'id', linksPath, deps.env);
    };

    if (o.mode === 'import-job') {
      const summary = await executeImportJobs(
        { poolId: o.userPoolId, fingerprint, roleArn: o.cloudwatchRoleArn!, restart: o.restart, rejectsPath, statePath, workDir: path.join(path.dirname(statePath), `import-${fingerprint}`), columns, pollMs: deps.importPollMs, maxRows: deps.importMaxRows, skipUnconfirmed: o.unconfirmed === 'skip' },
        { cognito: deps.cognito, source, clock: deps.clock, signal: deps.signal, onJob: deps.onImportJob },
        mapping,
        pool,
      );
      const links = new LinksFile(linksPath);
      links.open();
      let after: AfterImportResult;
      try {
        after = await afterImport({ client: deps.cognito, writer: writerFor(deps.clock), source, mapping, pool, links, signal: deps.signal });
      } finally {
        links.close();
      }
      const unconfirmed = plan.viaAdminCreate
        ? await adminCreate({ fingerprint: `${fingerprint}-unconfirmed`, statePath: statePath.replace(/(\.json)?$/, '-unconfirmed.json'), only: (u) => u.unconfirmed })
        : undefined;
      return { kind: 'import', plan, summary, afterImport: after, unconfirmed, linksFile: linksPath, writeBack: await maybeWriteBack() };
    }
    const summary = await adminCreate({ fingerprint, statePath });
    return { kind: 'summary', plan, summary, writeBack: summary.complete ? await maybeWriteBack() : undefined };
  } finally {
    await source.close();
  }
}

export const command = defineCommand<MigrateOptions, MigrateResult>({
  options: (_args, flags, ctx) => resolveOptions(flags, ctx),
  async run(o, ctx: Context) {
    // A migration streams millions of short-lived objects (rows, requests) over a small, constant
    // live set (a few MB). Left alone, V8 keeps growing its young generation and old-generation
    // limit the longer the run lasts, so peak memory would creep up with the user count. Holding the
    // young generation at its initial size and growing the old one in small steps keeps memory flat
    // for 10^4 or 10^6 users, for a little more GC time (negligible next to the network).
    const v8 = await import('node:v8');
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    v8.setFlagsFromString('--heap-growing-percent=15');
    const { awsOptionsFor, createAwsClient, regionFromId } = await import('../../../lib/aws.js');
    // The pool id names its region (eu-west-1_AbC): used unless --region or AWS_REGION say otherwise.
    const aws = awsOptionsFor(ctx, { impliedRegion: regionFromId(o.userPoolId) });
    const { CognitoIdentityProviderClient } = await import('@aws-sdk/client-cognito-identity-provider');
    const { openSource } = await import('./sources.js');
    // Per-user writes are retried by us (with rate adaptation and accounting), not by the SDK; everything
    // else (DescribeUserPool, ListGroups, ListUsers for --verify, import-job polling) keeps the SDK's
    // retries, so one throttle or 5xx in an hour of polling or paging does not end the run.
    const cognito = createAwsClient(CognitoIdentityProviderClient, 'Cognito Identity Provider', aws, ctx.env);
    const writer = createAwsClient(CognitoIdentityProviderClient, 'Cognito Identity Provider', { ...aws, maxAttempts: 1, retryMode: 'standard' }, ctx.env);
    if (!o.verify && !o.dryRun) ctx.out.info(`Reading ${o.from.startsWith('postgres') ? 'the source' : o.from} and checking pool ${o.userPoolId}…`);
    try {
      const result = await runMigration(o, {
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
      return result;
    } catch (err) {
      ctx.out.endProgress();
      if (ctx.signal.aborted) ctx.out.info('Progress is checkpointed: run the same command again to continue where it stopped.');
      throw err;
    } finally {
      cognito.destroy();
      writer.destroy();
    }
  },
  print: (result, out) => void printMigrateResult(out, result),
  exitCode: (result) => exitCodeOf(result),
});

export function exitCodeOf(result: MigrateResult): number {
  switch (result.kind) {
    case 'plan':
      return 0;
    case 'verify':
      return result.verify.ok ? 0 : 1;
    case 'summary':
      return result.summary.failed ? 1 : 0;
    case 'import':
      return result.summary.complete && result.afterImport.notInPool === 0 && !result.unconfirmed?.failed ? 0 : 1;
  }
}
