/**
 * Client-side pacing for Cognito's per-account quotas (UserCreation is 50
 * requests/s per account and region, shared with every other caller). Requests
 * are spaced evenly at the current rate, never in bursts; the rate drops
 * multiplicatively when the service throttles and climbs back additively.
 */
import { realClock, type Clock } from '../../../lib/poll.js';

// The one clock (real, or FakeClock in tests) is src/lib/poll.ts's.
export { realClock, type Clock };

export class AdaptiveRateLimiter {
  private current: number;
  private nextSlot = 0;
  private lastCut = -Infinity;
  throttles = 0;

  constructor(
    readonly target: number,
    private readonly clock: Clock = realClock,
    private readonly min = Math.min(1, target),
  ) {
    this.current = target;
  }

  get rate(): number {
    return this.current;
  }

  /** Wait for this caller's slot. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const now = this.clock.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + 1000 / this.current;
    if (slot > now) await this.clock.sleep(slot - now, signal);
  }

  /** The service said "slow down". Cut at most once per second so one burst of rejections is one cut. */
  onThrottle(): void {
    this.throttles += 1;
    const now = this.clock.now();
    if (now - this.lastCut < 1000) return;
    this.lastCut = now;
    this.current = Math.max(this.min, this.current * 0.75);
  }

  /** Climb back towards the target: about +5% of it per second of clean requests. */
  onSuccess(): void {
    if (this.current >= this.target) return;
    this.current = Math.min(this.target, this.current + (this.target * 0.05) / Math.max(1, this.current));
  }
}

/** Full-jitter exponential backoff: a random wait in [0, min(cap, base·2^attempt)). */
export function backoffMs(attempt: number, random: () => number = Math.random, base = 250, cap = 20_000): number {
  return Math.floor(random() * Math.min(cap, base * 2 ** attempt));
}
