/**
 * The one "try until it works or the deadline passes" loop (import jobs, DNS
 * propagation, ACME orders, Bluetooth state, ECS tasks). Ctrl-C (the signal)
 * ends the wait at once; the clock is handed in so tests run on a fake one.
 */
import { OpsError, interrupted } from './errors.js';

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

function abortReason(signal: AbortSignal): unknown {
  return signal.reason instanceof Error ? signal.reason : interrupted();
}

export type PollStep<T> = { done: true; value: T } | { done: false; detail?: string; retryAfterMs?: number };

export interface PollOptions {
  /** Total time allowed, from the first attempt. */
  timeoutMs: number;
  /** Wait between attempts (first), growing by `backoff` up to `maxIntervalMs`. */
  intervalMs: number;
  backoff?: number;
  maxIntervalMs?: number;
  signal?: AbortSignal;
  clock?: Clock;
  /** What is being waited for, for the timeout message ("the DNS record", "bluetoothd"). */
  what: string;
  hint?: string;
  code?: string;
}

/** Calls `attempt` until it reports done; throws a one-line OpsError at the deadline, or on Ctrl-C. */
export async function pollUntil<T>(attempt: (n: number) => Promise<PollStep<T>>, opts: PollOptions): Promise<T> {
  const clock = opts.clock ?? realClock;
  const start = clock.now();
  let interval = opts.intervalMs;
  let last: string | undefined;
  for (let n = 1; ; n++) {
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    const step = await attempt(n);
    if (step.done) return step.value;
    last = step.detail ?? last;
    const elapsed = clock.now() - start;
    const left = opts.timeoutMs - elapsed;
    if (left <= 0) {
      throw new OpsError(`Timed out after ${formatDuration(opts.timeoutMs)} waiting for ${opts.what}${last ? ` (last: ${last})` : ''}.`, {
        code: opts.code ?? 'timeout',
        hint: opts.hint,
      });
    }
    const wait = Math.min(step.retryAfterMs ?? interval, left);
    await clock.sleep(wait, opts.signal);
    interval = Math.min(interval * (opts.backoff ?? 1), opts.maxIntervalMs ?? Number.POSITIVE_INFINITY);
  }
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
  return `${Math.round(s / 60)} min`;
}

/** A clock tests drive by hand: sleep resolves when `advance` passes its time. */
export class FakeClock implements Clock {
  private t: number;
  private waiters: Array<{ at: number; resolve: () => void; reject: (e: unknown) => void }> = [];
  constructor(start = 0) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const w = { at: this.t + ms, resolve, reject };
      this.waiters.push(w);
      signal?.addEventListener('abort', () => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(abortReason(signal));
      }, { once: true });
    });
  }
  /** Move time forward, waking sleepers in order (each given a turn of the event loop). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.waiters.sort((a, b) => a.at - b.at);
      const next = this.waiters[0];
      if (!next || next.at > end) break;
      this.waiters.shift();
      this.t = next.at;
      next.resolve();
      await new Promise((r) => setImmediate(r));
    }
    this.t = end;
  }
  get pending(): number {
    return this.waiters.length;
  }
}
