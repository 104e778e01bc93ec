/**
 * admin-create mode: stream the source again, create each valid user with
 * bounded concurrency under the rate limiter, and checkpoint a contiguous
 * watermark (plus the few rows finished past it) about once a second.
 *
 * Re-running replays rows below the watermark without calling Cognito (to
 * rebuild duplicate detection and the rejects file, and to check the source
 * did not change), retries earlier failures, and continues from there.
 */
import { createHash, type Hash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { ExitCode, OpsError, firstLine } from '../../../lib/errors.js';
import { FingerprintSet } from './hashset.js';
import { AdaptiveRateLimiter, type Clock } from './rate.js';
import type { MigrationState, Outcome, StateStore } from './state.js';
import type { SourceRow, UserSource } from './sources.js';
import type { Mapping, MappedUser, PoolInfo } from './mapping.js';
import { checkRow, reasonKind } from './plan.js';
import { StopRun, UserFailed, UserWriter } from './cognito-calls.js';
import { CsvFile, LinksFile, RejectsFile } from './writer.js';

export interface ExecuteOptions {
  poolId: string;
  fingerprint: string;
  rate: number;
  concurrency: number;
  invite: boolean;
  update: boolean;
  restart: boolean;
  rejectsPath: string;
  reportPath: string;
  total: number;
  columns: string[];
  linksPath: string;
  /** Only these users are written here; the rest are someone else's (import-job mode). */
  only?: (user: MappedUser) => boolean;
}

export interface ExecuteDeps {
  cognito: CognitoIdentityProviderClient;
  source: UserSource;
  state: StateStore;
  clock: Clock;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  random?: () => number;
  /** Checkpoint interval (ms). */
  checkpointMs?: number;
}

export interface Progress {
  done: number;
  total: number;
  created: number;
  existing: number;
  updated: number;
  rejected: number;
  failed: number;
  ratePerSec: number;
  etaSec?: number;
}

export interface MigrationSummary {
  poolId: string;
  source: string;
  mode: 'admin-create';
  complete: boolean;
  resumedFrom: number;
  total: number;
  created: number;
  existing: number;
  updated: number;
  rejected: number;
  failed: number;
  groupsAdded: number;
  disabled: number;
  retries: number;
  throttled: number;
  elapsedMs: number;
  createdPerSec: number;
  finalRate: number;
  stateFile: string;
  rejectsFile?: string;
  reportFile?: string;
  linksFile: string;
  links: number;
  /** Rejected rows by reason kind. */
  rejectReasons: Record<string, number>;
}

/** How far past the watermark work may run ahead; bounds memory and checkpoint size. */
const MAX_AHEAD = 2000;

export async function executeAdminCreate(opts: ExecuteOptions, deps: ExecuteDeps, mapping: Mapping, pool: PoolInfo): Promise<MigrationSummary> {
  const { clock } = deps;
  // Every request waiting for its rate-limit slot listens for Ctrl-C: one relay signal, no listener cap.
  const relay = new AbortController();
  setMaxListeners(0, relay.signal);
  if (deps.signal?.aborted) relay.abort(deps.signal.reason);
  deps.signal?.addEventListener('abort', () => relay.abort(deps.signal!.reason), { once: true });
  const signal = relay.signal;
  const started = clock.now();
  if (opts.restart) await deps.state.remove();
  const prev = await deps.state.load();
  if (prev && (prev.fingerprint !== opts.fingerprint || prev.poolId !== opts.poolId)) {
    throw new OpsError(`Checkpoint ${deps.state.path} belongs to a different migration (another pool, source or mapping).`, { exitCode: ExitCode.USAGE, code: 'state-mismatch', hint: 'pass --restart to start this one over, or another --state-file' });
  }
  const resumeFrom = prev?.watermark ?? 0;
  const doneBefore = new Map<number, Outcome>(prev?.doneAbove ?? []);
  const failedBefore = new Set<number>(prev?.failed ?? []);
  const failed = new Set<number>(failedBefore);
  const counts = { ...(prev?.counts ?? { created: 0, existing: 0, updated: 0 }) };
  const createLimiter = new AdaptiveRateLimiter(opts.rate, clock);
  const updateLimiter = new AdaptiveRateLimiter(opts.rate, clock);
  const writer = new UserWriter(deps.cognito, { poolId: opts.poolId, invite: opts.invite, update: opts.update, pool }, createLimiter, updateLimiter, clock, signal, deps.random);
  const rejects = new RejectsFile(opts.rejectsPath, opts.columns);
  const report = new CsvFile(opts.reportPath, ['row', 'username', 'error', 'message']);
  const links = new LinksFile(opts.linksPath);
  links.open();
  const rejectReasons: Record<string, number> = {};

  const seen = new FingerprintSet();
  const hash: Hash = createHash('sha256');
  let watermark = resumeFrom;
  let replaying = resumeFrom > 0;
  /** Rows at/after the watermark: their dedupe key and, once finished, their outcome. */
  const window = new Map<number, { key: string; outcome?: Outcome }>();
  const inflight = new Set<Promise<void>>();
  let stop: OpsError | undefined;
  let rejected = 0;
  let processed = 0;
  let createdThisRun = 0;
  let doneThisRun = 0;
  let dirty = false;

  const advance = () => {
    for (let e = window.get(watermark); e?.outcome; e = window.get(watermark)) {
      hash.update(e.key + '\n');
      window.delete(watermark);
      watermark += 1;
      dirty = true;
    }
  };
  const snapshot = (): MigrationState => ({
    version: 1,
    fingerprint: opts.fingerprint,
    poolId: opts.poolId,
    source: deps.source.label,
    startedAt: new Date(started).toISOString(),
    updatedAt: new Date(clock.now()).toISOString(),
    watermark,
    prefixHash: hash.copy().digest('hex'),
    doneAbove: [...window].filter(([, e]) => e.outcome).map(([i, e]) => [i, e.outcome!] as [number, Outcome]),
    failed: [...failed],
    counts,
  });
  let saving: Promise<void> | undefined;
  const checkpoint = async (force = false) => {
    if (replaying || (!dirty && !force)) return;
    if (saving) await saving;
    dirty = false;
    saving = deps.state.save(snapshot());
    try { await saving; } finally { saving = undefined; }
  };

  // Prove the checkpoint can be written before the first user is created: the periodic saves
  // below swallow errors, and a run that cannot save its progress would silently lose it on a crash.
  try {
    await deps.state.save(prev ?? snapshot());
  } catch (err) {
    throw new OpsError(`Cannot write the checkpoint file ${deps.state.path}: ${firstLine(err)}`, { code: 'state-unwritable', hint: 'pass --state-file with a path in a writable directory', cause: err });
  }

  let lastProgress = 0;
  const progress = (final = false) => {
    const now = clock.now();
    if (!deps.onProgress || (!final && now - lastProgress < 1000)) return;
    lastProgress = now;
    const secs = Math.max(0.001, (now - started) / 1000);
    const perSec = doneThisRun / secs;
    deps.onProgress({ done: processed, total: opts.total, created: counts.created, existing: counts.existing, updated: counts.updated, rejected, failed: failed.size, ratePerSec: createdThisRun / secs, etaSec: perSec > 0 ? Math.max(0, (opts.total - processed) / perSec) : undefined });
  };
  const timer = setInterval(() => {
    progress();
    checkpoint().catch(() => {});
  }, deps.checkpointMs ?? 1000);
  timer.unref?.();

  let wake: (() => void) | undefined;
  const launch = (index: number, user: MappedUser, inWindow: boolean) => {
    const p = (async () => {
      try {
        const { outcome, sub } = await writer.write(user, { needSub: !links.has(user.username) });
        links.add(user.legacyId, user.username, sub);
        counts[outcome as 'created' | 'existing' | 'updated'] += 1;
        if (outcome === 'created') createdThisRun += 1;
        failed.delete(index);
        if (inWindow) window.get(index)!.outcome = outcome;
      } catch (err) {
        if (err instanceof UserFailed) {
          failed.add(index);
          report.write([index + 1, user.username, err.code, err.message]);
          if (inWindow) window.get(index)!.outcome = 'failed';
        } else if (err instanceof StopRun) {
          stop ??= err.error;
        } else if (signal?.aborted) {
          // interrupted while waiting: the row stays unfinished and is redone next run
        } else {
          stop ??= err instanceof OpsError ? err : new OpsError(`Unexpected error writing ${user.username}: ${(err as Error).message}`, { cause: err });
        }
      }
      doneThisRun += 1;
      if (inWindow) advance();
    })();
    inflight.add(p);
    p.finally(() => {
      inflight.delete(p);
      wake?.();
    });
  };
  const waitForRoom = async (index: number) => {
    while (!stop && !signal?.aborted && (inflight.size >= opts.concurrency || index - watermark > MAX_AHEAD)) {
      await new Promise<void>((r) => (wake = r));
    }
  };

  try {
    for await (const row of deps.source.rows(signal) as AsyncIterable<SourceRow>) {
      if (stop || signal?.aborted) break;
      const i = row.index;
      processed = i + 1;
      const r = checkRow(row, mapping, pool, seen);
      if (!r.ok) {
        rejected += 1;
        rejects.add(row, r.reason);
        const kind = reasonKind(r.reason);
        rejectReasons[kind] = (rejectReasons[kind] ?? 0) + 1;
      }
      const key = r.ok ? r.user.key : '';
      const mine = r.ok && (!opts.only || opts.only(r.user));
      if (i < resumeFrom) {
        hash.update(key + '\n');
        if (r.ok && mine && failedBefore.has(i)) {
          await waitForRoom(i + 0);
          launch(i, r.user, false);
        }
        continue;
      }
      if (replaying) {
        replaying = false;
        if (prev && hash.copy().digest('hex') !== prev.prefixHash) throw sourceChanged(deps.state.path);
      }
      if (!r.ok || !mine) {
        window.set(i, { key, outcome: r.ok ? 'skipped' : 'rejected' });
        advance();
        continue;
      }
      const earlier = doneBefore.get(i);
      if (earlier && !(earlier === 'failed' && failedBefore.has(i))) {
        window.set(i, { key, outcome: earlier });
        advance();
        continue;
      }
      await waitForRoom(i);
      if (stop || signal?.aborted) break;
      window.set(i, { key });
      launch(i, r.user, true);
      progress();
    }
    if (replaying && prev && !stop && !signal?.aborted) {
      // The source ended at or before the checkpoint: fine only if it is exactly the rows already done.
      if (processed !== resumeFrom || hash.copy().digest('hex') !== prev.prefixHash) throw sourceChanged(deps.state.path);
      replaying = false;
    }
    await Promise.all([...inflight]);
  } finally {
    clearInterval(timer);
    await Promise.allSettled([...inflight]);
    rejects.close();
    report.close();
    links.close();
    await checkpoint(true).catch(() => {});
  }
  progress(true);
  if (signal?.aborted) throw signal.reason;
  if (stop) throw stop;

  const elapsedMs = clock.now() - started;
  return {
    poolId: opts.poolId,
    source: deps.source.label,
    mode: 'admin-create',
    complete: failed.size === 0,
    resumedFrom: resumeFrom,
    total: processed,
    ...counts,
    rejected,
    failed: failed.size,
    groupsAdded: writer.groupsAdded,
    disabled: writer.disabled,
    retries: writer.retries,
    throttled: createLimiter.throttles + updateLimiter.throttles,
    elapsedMs,
    createdPerSec: createdThisRun / Math.max(0.001, elapsedMs / 1000),
    finalRate: createLimiter.rate,
    stateFile: deps.state.path,
    rejectsFile: rejects.rows ? rejects.path : undefined,
    reportFile: report.rows ? report.path : undefined,
    linksFile: links.path,
    links: links.rows,
    rejectReasons,
  };
}

function sourceChanged(statePath: string): OpsError {
  return new OpsError('The source changed since the checkpoint: the rows already migrated are no longer the same, in the same order.', {
    exitCode: ExitCode.USAGE,
    code: 'source-changed',
    hint: `re-run with --restart (users already in the pool are skipped, not duplicated), or restore the source; checkpoint: ${statePath}`,
  });
}
