import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';
import { runMigration, type MigrateOptions, type MigrateDeps } from '../../src/commands/cognito/migrate/index.js';
import { openSource } from '../../src/commands/cognito/migrate/sources.js';
import { fileStateStore } from '../../src/commands/cognito/migrate/state.js';
import { realClock } from '../../src/commands/cognito/migrate/rate.js';

const made: string[] = [];
const cleanup = () => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
};
// Under vitest, each test file removes its directories when it ends; the benchmark removes them at exit.
if (process.env.VITEST) (await import('vitest')).afterAll(cleanup);
else process.once('exit', cleanup);

/** A temporary directory, removed when the test process exits. */
export function tmpDir(prefix = 'opsctl-cognito-'): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

export function sdkClient(endpoint: string): CognitoIdentityProviderClient {
  return new CognitoIdentityProviderClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
}

export function options(o: Partial<MigrateOptions> & { userPoolId: string; from: string }): MigrateOptions {
  return { map: [], mode: 'admin-create', invite: false, update: false, rate: 1000, concurrency: 8, groups: [], restart: false, dryRun: false, verify: false, ...o };
}

export function deps(client: CognitoIdentityProviderClient, dir: string, extra: Partial<MigrateDeps> = {}): MigrateDeps {
  return { cognito: client, openSource, stateStore: fileStateStore, clock: realClock, env: { HOME: dir, XDG_STATE_HOME: path.join(dir, 'state') }, cwd: dir, random: () => 0.5, ...extra };
}

export async function migrate(o: Partial<MigrateOptions> & { userPoolId: string; from: string }, client: CognitoIdentityProviderClient, dir: string, extra: Partial<MigrateDeps> = {}) {
  return runMigration(options(o), deps(client, dir, extra));
}

/** A Devise-shaped CSV: good users plus known-bad rows. Returns the emails that must end up in the pool. */
export function deviseCsv(dir: string, n: number, name = 'users.csv'): { file: string; valid: string[]; bad: number } {
  const lines = ['id,email,encrypted_password,confirmed_at,created_at'];
  const valid: string[] = [];
  const hash = '$2a$11$abcdefghijklmnopqrstuu5Tz3r0mN0tARealHashAtAll0123456';
  for (let i = 1; i <= n; i++) {
    const email = `user${i}@example.com`;
    valid.push(email);
    lines.push(`${i},${email},${hash},${i % 3 ? '2020-01-02 03:04:05' : ''},2019-05-06 07:08:09`);
  }
  // Bad rows: invalid email, missing email, duplicate (different case), malformed row, too-long id.
  lines.push(`${n + 1},not-an-email,${hash},,2019-01-01`);
  lines.push(`${n + 2},,${hash},,2019-01-01`);
  lines.push(`${n + 3},USER1@example.com,${hash},,2019-01-01`);
  lines.push(`${n + 4},short@row.com`);
  lines.push(`${'9'.repeat(70)},longid@example.com,${hash},,2019-01-01`);
  const file = path.join(dir, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return { file, valid, bad: 5 };
}
