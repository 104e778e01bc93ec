import { ExitCode, OpsError } from '../../lib/errors.js';
import type { ChallengeItem, ChallengeSolver } from './acme.js';
import type { HerokuApi } from './heroku.js';
import { answers, describeFetch, fetchChallenge, type FetchResult, type SelfCheckOptions } from './http01.js';

export const HEROKU_KEY_VAR = 'LETSENCRYPT_KEY';
export const HEROKU_CHALLENGE_VAR = 'LETSENCRYPT_CHALLENGE';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs: number;
  sleep?: (ms: number) => Promise<void>;
  signal?: AbortSignal;
}

const sleepFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * --heroku-app APP, the write-up's method: the app answers
 * /.well-known/acme-challenge/:token with ENV['LETSENCRYPT_CHALLENGE'] when the
 * token equals ENV['LETSENCRYPT_KEY']. Setting the vars restarts the dynos, so
 * opsctl waits until the URL answers before asking the CA, one domain at a
 * time (the vars hold one answer), and removes the vars afterwards, also on failure.
 */
export function herokuSolver(app: string, api: () => Promise<HerokuApi>, check: SelfCheckOptions, wait: WaitOptions, log: (m: string) => void): ChallengeSolver {
  let client: HerokuApi | undefined;
  const sleep = wait.sleep ?? sleepFor;
  return {
    name: 'heroku',
    challengeType: 'http-01',
    batchSize: 1,
    async prepare() {
      // Fail on a bad key or app name before an order is placed.
      client = await api();
      await client.getConfigVars(app);
    },
    async present(items) {
      const item = items[0]!;
      client ??= await api();
      await client.setConfigVars(app, { [HEROKU_KEY_VAR]: item.token, [HEROKU_CHALLENGE_VAR]: item.keyAuthorization });
      log(`set ${HEROKU_KEY_VAR}/${HEROKU_CHALLENGE_VAR} on ${app}; waiting for the app to restart and answer`);
      const deadline = Date.now() + wait.timeoutMs;
      let last: FetchResult | undefined;
      for (;;) {
        last = await fetchChallenge(item, check, Math.min(10_000, wait.timeoutMs));
        if (answers(last, item)) return;
        if (wait.signal?.aborted) throw new OpsError('Interrupted.', { exitCode: ExitCode.INTERRUPTED, code: 'interrupted' });
        if (Date.now() >= deadline) break;
        await sleep(wait.intervalMs);
      }
      throw new OpsError(`The Heroku app ${app} did not answer the challenge within ${Math.round(wait.timeoutMs / 1000)}s: ${last.url} gave ${describeFetch(last)}.`, {
        hint: `the app needs the route GET /.well-known/acme-challenge/:id that renders ENV['${HEROKU_CHALLENGE_VAR}'] when :id == ENV['${HEROKU_KEY_VAR}'] (see the README), and ${item.domain} must point at the app`,
        code: 'heroku-challenge-timeout',
      });
    },
    async cleanup() {
      if (!client) return;
      await client.setConfigVars(app, { [HEROKU_KEY_VAR]: null, [HEROKU_CHALLENGE_VAR]: null });
      log(`removed ${HEROKU_KEY_VAR}/${HEROKU_CHALLENGE_VAR} from ${app}`);
    },
  };
}

/** The TXT record name for a DNS-01 challenge (a wildcard shares its base domain's). */
export function dnsRecordName(item: Pick<ChallengeItem, 'domain'>): string {
  return `_acme-challenge.${item.domain.replace(/^\*\./, '')}`;
}
