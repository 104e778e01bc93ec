/**
 * The migration checkpoint: how far the source has been handled, written
 * atomically (0600) so a crash or kill -9 leaves the last good checkpoint.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { readFileIfExists, writeFileAtomic } from '../../../lib/fs.js';
import { stateHome } from '../../../lib/config.js';
import { ExitCode, OpsError, firstLine } from '../../../lib/errors.js';

/** 'skipped': another path handles the row (import-job mode sends only unconfirmed users here). */
export type Outcome = 'created' | 'existing' | 'updated' | 'rejected' | 'failed' | 'skipped';

export interface MigrationState {
  version: 1;
  fingerprint: string;
  poolId: string;
  source: string;
  startedAt: string;
  updatedAt: string;
  /** Rows [0, watermark) are fully handled. */
  watermark: number;
  /** SHA-256 over the usernames of rows [0, watermark), to notice a changed source. */
  prefixHash: string;
  /** Rows at or past the watermark that finished out of order, with their outcome. */
  doneAbove: Array<[number, Outcome]>;
  /** Rows whose user could not be written; retried on the next run. */
  failed: number[];
  counts: { created: number; existing: number; updated: number };
}

export interface StateStore {
  path: string;
  load(): Promise<MigrationState | undefined>;
  save(state: MigrationState): Promise<void>;
  remove(): Promise<void>;
}

export function fingerprintOf(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

export function defaultStatePath(poolId: string, fingerprint: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateHome(env), 'cognito', `migrate-${poolId.replace(/[^\w-]/g, '_')}-${fingerprint}.json`);
}

export function fileStateStore(file: string): StateStore {
  return {
    path: file,
    async load() {
      const text = await readFileIfExists(file).catch((err) => {
        throw new OpsError(`Cannot read the checkpoint file ${file}: ${firstLine(err)}`, { exitCode: ExitCode.USAGE, code: 'bad-state', hint: 'check --state-file' });
      });
      if (text === undefined) return undefined;
      try {
        const s = JSON.parse(text) as MigrationState;
        if (s.version !== 1 || typeof s.watermark !== 'number') throw new Error('unknown layout');
        return s;
      } catch (err) {
        throw new OpsError(`Checkpoint file ${file} is unreadable (${(err as Error).message}).`, { exitCode: ExitCode.USAGE, code: 'bad-state', hint: 'pass --restart to start over (users already in the pool are skipped, not duplicated)' });
      }
    },
    save: (state) => writeFileAtomic(file, JSON.stringify(state) + '\n', { mode: 0o600 }),
    remove: () => rm(file, { force: true }),
  };
}
