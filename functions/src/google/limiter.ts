import type { Config } from '../config';
import type { GoogleError } from '../engine/errors';

/**
 * Per-account politeness toward Google: a token bucket (sustained rate + small burst), at
 * most N calls in flight, and bounded retries with exponential backoff and full jitter on
 * transient errors, honouring Retry-After. One limiter per source per instance; the lease
 * makes the lease holder the only instance calling Google for a source.
 */

export type LimiterSettings = Config['limiter'];

export interface LimiterEnvironment {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

export const realEnvironment: LimiterEnvironment = {
  nowMs: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

export interface LimiterStats {
  calls: number;
  retries: number;
  waitedMs: number;
  maxInFlightSeen: number;
}

export class AccountLimiter {
  private tokens: number;
  private lastRefill: number;
  private inFlight = 0;
  private readonly queue: (() => void)[] = [];
  /** Serialises token-bucket waits so callers are admitted in order. */
  private admission: Promise<void> = Promise.resolve();
  readonly stats: LimiterStats = { calls: 0, retries: 0, waitedMs: 0, maxInFlightSeen: 0 };

  constructor(
    private readonly settings: LimiterSettings,
    private readonly env: LimiterEnvironment = realEnvironment,
  ) {
    this.tokens = settings.burst;
    this.lastRefill = env.nowMs();
  }

  /** Runs `call` under the limits, retrying the transient GoogleErrors that `classify` returns. */
  async run<T>(call: () => Promise<T>, classify: (error: unknown) => GoogleError): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      let retryInMs: number;
      await this.acquireSlot();
      try {
        await this.takeToken();
        this.stats.calls += 1;
        return await call();
      } catch (error) {
        const classified = classify(error);
        if (!classified.transient || attempt >= this.settings.maxAttempts) throw classified;
        retryInMs = this.backoff(attempt, classified.details.retryAfterMs);
      } finally {
        this.releaseSlot();
      }
      // Waiting for a retry holds no slot, so other calls for the account can go on.
      this.stats.retries += 1;
      this.stats.waitedMs += retryInMs;
      await this.env.sleep(retryInMs);
    }
  }

  /** Full jitter: a random wait up to base·2^(attempt-1), capped; Retry-After wins when larger. */
  backoff(attempt: number, retryAfterMs: number | undefined): number {
    const ceiling = Math.min(this.settings.backoffMaxMs, this.settings.backoffBaseMs * 2 ** (attempt - 1));
    const jittered = Math.floor(this.env.random() * ceiling);
    return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
  }

  private async acquireSlot(): Promise<void> {
    if (this.inFlight >= this.settings.maxInFlight) {
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else {
      this.inFlight += 1;
    }
    this.stats.maxInFlightSeen = Math.max(this.stats.maxInFlightSeen, this.inFlight);
  }

  private releaseSlot(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.inFlight -= 1;
  }

  private takeToken(): Promise<void> {
    const turn = this.admission.then(async () => {
      this.refill();
      if (this.tokens < 1) {
        const waitMs = Math.ceil(((1 - this.tokens) / this.settings.ratePerSecond) * 1000);
        this.stats.waitedMs += waitMs;
        await this.env.sleep(waitMs);
        this.refill();
      }
      this.tokens -= 1;
    });
    this.admission = turn.catch(() => undefined);
    return turn;
  }

  private refill(): void {
    const now = this.env.nowMs();
    const elapsed = (now - this.lastRefill) / 1000;
    this.tokens = Math.min(this.settings.burst, this.tokens + elapsed * this.settings.ratePerSecond);
    this.lastRefill = now;
  }
}
