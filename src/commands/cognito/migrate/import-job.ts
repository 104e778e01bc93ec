/**
 * import-job mode: the Cognito CSV import. GetCSVHeader gives the pool's
 * column layout; valid rows are written into CSV chunks of at most 500,000
 * rows / 100 MB; each chunk is one job (CreateUserImportJob → PUT to the
 * pre-signed URL → StartUserImportJob → poll DescribeUserImportJob). The
 * checkpoint records each chunk's rows and job, so a re-run skips finished
 * chunks and picks up a job that is still running.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import {
  CreateUserImportJobCommand,
  DescribeUserImportJobCommand,
  StartUserImportJobCommand,
  type CognitoIdentityProviderClient,
  type UserImportJobType,
} from '@aws-sdk/client-cognito-identity-provider';
import { awsCall } from '../../../lib/aws.js';
import { ExitCode, OpsError, firstLine } from '../../../lib/errors.js';
import { FingerprintSet } from './hashset.js';
import type { Clock } from './rate.js';
import { readFileIfExists, writeFileAtomic, makeDirs } from '../../../lib/fs.js';
import type { UserSource } from './sources.js';
import type { Mapping, MappedUser, PoolInfo } from './mapping.js';
import { checkRow } from './plan.js';
import { RejectsFile } from './writer.js';
import { importHeader } from './csv-header.js';

export const MAX_JOB_ROWS = 500_000;
export const MAX_JOB_BYTES = 100 * 1024 * 1024;
const DONE = new Set(['Succeeded', 'Failed', 'Stopped', 'Expired']);

export interface ImportJobOptions {
  poolId: string;
  fingerprint: string;
  roleArn: string;
  restart: boolean;
  rejectsPath: string;
  statePath: string;
  workDir: string;
  columns: string[];
  maxRows?: number;
  maxBytes?: number;
  /** --unconfirmed skip: unverified users are rejected, not sent to AdminCreateUser. */
  skipUnconfirmed?: boolean;
  pollMs?: number;
}

export interface ImportChunk {
  firstRow: number;
  /** Source rows covered (valid and rejected). */
  sourceRows: number;
  users: number;
  jobId?: string;
  status?: string;
  imported?: number;
  skipped?: number;
  failed?: number;
  message?: string;
}

interface ImportState {
  version: 1;
  kind: 'import-job';
  fingerprint: string;
  poolId: string;
  chunks: ImportChunk[];
}

export interface ImportSummary {
  poolId: string;
  mode: 'import-job';
  complete: boolean;
  jobs: ImportChunk[];
  imported: number;
  skipped: number;
  failed: number;
  rejected: number;
  stateFile: string;
  rejectsFile?: string;
  passwordHashingAlgorithm?: string;
  hashColumn?: string;
}

export interface ImportDeps {
  cognito: CognitoIdentityProviderClient;
  source: UserSource;
  clock: Clock;
  signal?: AbortSignal;
  onJob?: (chunk: ImportChunk) => void;
}

export async function executeImportJobs(o: ImportJobOptions, deps: ImportDeps, mapping: Mapping, pool: PoolInfo): Promise<ImportSummary> {
  const { header, hashColumn } = await importHeader(deps.cognito, o.poolId, mapping);

  if (o.restart) await rm(o.statePath, { force: true });
  const state = await loadState(o);
  const save = () => writeFileAtomic(o.statePath, JSON.stringify(state) + '\n', { mode: 0o600 });
  const maxRows = o.maxRows ?? MAX_JOB_ROWS;
  const maxBytes = o.maxBytes ?? MAX_JOB_BYTES;
  const rejects = new RejectsFile(o.rejectsPath, o.columns);
  await makeDirs(o.workDir, 0o700);

  const seen = new FingerprintSet();
  // Jobs an earlier run created: one never started is dropped (its rows are sent again); others are awaited.
  for (const c of [...state.chunks]) {
    if (c.status === 'Created') {
      const res = await awsCall('cognito-idp:DescribeUserImportJob', () => deps.cognito.send(new DescribeUserImportJobCommand({ UserPoolId: o.poolId, JobId: c.jobId })));
      update(c, res.UserImportJob);
      if (c.status === 'Created') {
        state.chunks.splice(state.chunks.indexOf(c), 1);
        continue;
      }
    }
    if (!DONE.has(c.status ?? '')) await poll(c);
  }
  // Rows [0, covered) belong to chunks whose job was started (by this run or an earlier one).
  let covered = state.chunks.reduce((n, c) => Math.max(n, c.firstRow + c.sourceRows), 0);
  const resumeAt = covered;
  let chunk: { file: string; out: ReturnType<typeof createWriteStream>; users: number; bytes: number } | undefined;
  let rejected = 0;
  let total = 0;
  const headerLine = stringify([header]);

  try {
    for await (const row of deps.source.rows(deps.signal)) {
      total = row.index + 1;
      const r = checkRow(row, mapping, pool, seen);
      if (!r.ok) {
        rejected += 1;
        rejects.add(row, r.reason);
      } else if (r.user.unconfirmed && o.skipUnconfirmed) {
        rejected += 1;
        rejects.add(row, 'email not verified (import jobs need a verified email; --unconfirmed skip)');
      }
      // Import jobs refuse users without a verified email: those go to AdminCreateUser (or are skipped).
      if (row.index < resumeAt || !r.ok || r.user.unconfirmed) continue;
      const line = stringify([header.map((h) => (h === hashColumn ? r.user.passwordHash ?? '' : cell(h, r.user)))]);
      if (chunk && (chunk.users + 1 > maxRows || chunk.bytes + Buffer.byteLength(line) > maxBytes)) await flush(row.index);
      if (!chunk) {
        const file = path.join(o.workDir, `chunk-${state.chunks.length + 1}.csv`);
        const out = createWriteStream(file, { mode: 0o600 });
        out.write(headerLine);
        chunk = { file, out, users: 0, bytes: Buffer.byteLength(headerLine) };
      }
      chunk.out.write(line);
      chunk.users += 1;
      chunk.bytes += Buffer.byteLength(line);
    }
    if (deps.signal?.aborted) throw deps.signal.reason;
    if (chunk) await flush(total);
  } finally {
    rejects.close();
    chunk?.out.destroy();
  }

  /** Close the current chunk (it covers rows [covered, end)) and run its import job. */
  async function flush(end: number): Promise<void> {
    const c = chunk!;
    chunk = undefined;
    await new Promise<void>((resolve, reject) => c.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const entry: ImportChunk = { firstRow: covered, sourceRows: end - covered, users: c.users };
    covered = end;
    state.chunks.push(entry);
    await run(entry, c.file);
    await rm(c.file, { force: true });
  }

  async function run(entry: ImportChunk, file: string): Promise<void> {
    const created = await awsCall('cognito-idp:CreateUserImportJob', () =>
      deps.cognito.send(
        new CreateUserImportJobCommand({
          UserPoolId: o.poolId,
          JobName: `opsctl-${o.fingerprint}-${state.chunks.length}`,
          CloudWatchLogsRoleArn: o.roleArn,
          ...(mapping.passwordHash ? { PasswordHashingAlgorithm: mapping.passwordHash.algorithm } : {}),
        }),
      ),
    ).catch((err) => {
      if (mapping.passwordHash && (err as Error).name === 'InvalidParameterException') {
        throw new OpsError(`Cognito refused an import job with PasswordHashingAlgorithm=${mapping.passwordHash.algorithm}: ${firstLine(err)}`, { exitCode: ExitCode.FAILED, code: 'hash-import-refused', hint: 'import without --password-hash (users reset their password) or keep passwords with the lazy-migration trigger' });
      }
      throw err;
    });
    const job = created.UserImportJob!;
    entry.jobId = job.JobId;
    entry.status = job.Status;
    await save();
    await upload(job.PreSignedUrl!, file, deps.signal);
    const started = await awsCall('cognito-idp:StartUserImportJob', () => deps.cognito.send(new StartUserImportJobCommand({ UserPoolId: o.poolId, JobId: job.JobId })));
    entry.status = started.UserImportJob?.Status ?? 'Pending';
    await save();
    await poll(entry);
  }

  async function poll(entry: ImportChunk): Promise<void> {
    for (;;) {
      const res = await awsCall('cognito-idp:DescribeUserImportJob', () => deps.cognito.send(new DescribeUserImportJobCommand({ UserPoolId: o.poolId, JobId: entry.jobId })));
      update(entry, res.UserImportJob);
      deps.onJob?.(entry);
      if (DONE.has(entry.status ?? '')) {
        await save();
        return;
      }
      await deps.clock.sleep(o.pollMs ?? 5000, deps.signal);
    }
  }

  await save();
  const sum = (k: 'imported' | 'skipped' | 'failed') => state.chunks.reduce((n, c) => n + (c[k] ?? 0), 0);
  const bad = state.chunks.filter((c) => c.jobId && c.status !== 'Succeeded');
  // Chunk files of an earlier, interrupted run (uploaded, then killed before their removal) go too.
  if (bad.length === 0) await rm(o.workDir, { recursive: true, force: true });
  return {
    poolId: o.poolId,
    mode: 'import-job',
    complete: bad.length === 0 && sum('failed') === 0,
    jobs: state.chunks,
    imported: sum('imported'),
    skipped: sum('skipped'),
    failed: sum('failed'),
    rejected,
    stateFile: o.statePath,
    rejectsFile: rejects.rows ? rejects.path : undefined,
    passwordHashingAlgorithm: mapping.passwordHash?.algorithm,
    hashColumn,
  };
}

function update(entry: ImportChunk, job: UserImportJobType | undefined): void {
  if (!job) return;
  entry.status = job.Status;
  entry.imported = job.ImportedUsers;
  entry.skipped = job.SkippedUsers;
  entry.failed = job.FailedUsers;
  entry.message = job.CompletionMessage;
}

/** One CSV cell of the pool's import layout. */
function cell(column: string, user: MappedUser): string {
  if (column === 'cognito:username') return user.username;
  if (column === 'cognito:mfa_enabled') return 'false';
  const a = user.attributes.find((x) => x.Name === column);
  if (a) return a.Value;
  if (column.endsWith('_verified')) return 'false';
  return '';
}

async function loadState(o: ImportJobOptions): Promise<ImportState> {
  const text = await readFileIfExists(o.statePath);
  if (text === undefined) return { version: 1, kind: 'import-job', fingerprint: o.fingerprint, poolId: o.poolId, chunks: [] };
  let s: ImportState;
  try {
    s = JSON.parse(text);
  } catch (err) {
    throw new OpsError(`Checkpoint file ${o.statePath} is unreadable (${firstLine(err)}).`, { exitCode: ExitCode.USAGE, code: 'bad-state', hint: 'pass --restart to start over' });
  }
  if (s.kind !== 'import-job' || s.fingerprint !== o.fingerprint) {
    throw new OpsError(`Checkpoint ${o.statePath} belongs to a different migration.`, { exitCode: ExitCode.USAGE, code: 'state-mismatch', hint: 'pass --restart, or another --state-file' });
  }
  s.chunks = s.chunks.filter((c) => c.jobId);
  return s;
}

/** PUT the file to the pre-signed S3 URL, streamed, with the header AWS documents for it. */
async function upload(url: string, file: string, signal?: AbortSignal): Promise<void> {
  const size = (await stat(file)).size;
  const u = new URL(url);
  const mod = u.protocol === 'http:' ? http : https;
  await new Promise<void>((resolve, reject) => {
    const req = mod.request(u, { method: 'PUT', signal, headers: { 'content-type': 'text/csv', 'content-length': size, 'x-amz-server-side-encryption': 'aws:kms' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d.length < 2000 ? d : ''));
      res.on('end', () => {
        if ((res.statusCode ?? 500) < 300) resolve();
        else reject(new OpsError(`Uploading the import CSV failed: HTTP ${res.statusCode} ${body.slice(0, 200)}`, { code: 'import-upload-failed', hint: 'the pre-signed URL is valid for 15 minutes; run the same command again' }));
      });
    });
    req.on('error', (err) => reject(new OpsError(`Uploading the import CSV failed: ${firstLine(err)}`, { code: 'import-upload-failed', cause: err })));
    createReadStream(file).pipe(req);
  });
}
