import type { Config } from '../config';
import type { GoogleError } from '../engine/errors';

/**
 * Per-account politeness toward Google: a token bucket of HTTP requests (sustained rate +
 * small burst; a batch is one request), at most N calls in flight, a budget of Gmail quota
 * units over a sliding minute (Google's own per-user window, so a batch can never push the
 * user over it), and bounded retries with exponential backoff and full jitter on transient
 * errors, honouring Retry-After. One limiter per source per instance; the lease makes the
 * lease holder the only instance calling Google for a source.
 */

const QUOTA_WINDOW_MS = 60_000;

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
  /** Gmail quota units spent (each attempt counts: Google charges it). */
  units: number;
}

/** A request larger than the whole per-minute budget could never be admitted. */
export class OverBudgetError extends Error {
  constructor(readonly units: number, readonly budget: number) {
    super(`A request of ${units} Gmail units can never fit a budget of ${budget} units a minute`);
    this.name = 'OverBudgetError';
  }
}

export class AccountLimiter {
  private tokens: number;
  private lastRefill: number;
  private inFlight = 0;
  private readonly queue: (() => void)[] = [];
  /** Serialises token-bucket waits so callers are admitted in order. */
  private admission: Promise<void> = Promise.resolve();
  /** Units spent in the last minute, oldest first. */
  private readonly spent: { at: number; units: number }[] = [];
  readonly stats: LimiterStats = { calls: 0, retries: 0, waitedMs: 0, maxInFlightSeen: 0, units: 0 };

  constructor(
    private readonly settings: LimiterSettings,
    private readonly env: LimiterEnvironment = realEnvironment,
  ) {
    this.tokens = settings.burst;
    this.lastRefill = env.nowMs();
  }

  /**
   * Runs `call` (costing `units` Gmail quota units) under the limits, retrying the transient
   * GoogleErrors that `classify` returns.
   */
  async run<T>(call: () => Promise<T>, classify: (error: unknown) => GoogleError, units = 0): Promise<T> {
    if (units > this.settings.gmailUnitsPerMinute) throw new OverBudgetError(units, this.settings.gmailUnitsPerMinute);
    for (let attempt = 1; ; attempt += 1) {
      let retryInMs: number;
      await this.acquireSlot();
      try {
        await this.takeToken(units);
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

  private takeToken(units: number): Promise<void> {
    const turn = this.admission.then(async () => {
      this.refill();
      if (this.tokens < 1) {
        const waitMs = Math.ceil(((1 - this.tokens) / this.settings.ratePerSecond) * 1000);
        this.stats.waitedMs += waitMs;
        await this.env.sleep(waitMs);
        this.refill();
      }
      await this.takeUnits(units);
      this.tokens -= 1;
    });
    this.admission = turn.catch(() => undefined);
    return turn;
  }

  /** Waits until the last minute's units plus these fit the budget, then spends them. */
  private async takeUnits(units: number): Promise<void> {
    if (units === 0) return;
    for (;;) {
      const now = this.env.nowMs();
      while (this.spent.length > 0 && this.spent[0]!.at <= now - QUOTA_WINDOW_MS) this.spent.shift();
      const used = this.spent.reduce((sum, entry) => sum + entry.units, 0);
      if (used + units <= this.settings.gmailUnitsPerMinute) break;
      // The earliest moment enough old units leave the window.
      let freed = 0;
      const enough = this.spent.find((entry) => (freed += entry.units) >= used + units - this.settings.gmailUnitsPerMinute)!;
      const waitMs = Math.max(1, enough.at + QUOTA_WINDOW_MS - now + 1);
      this.stats.waitedMs += waitMs;
      await this.env.sleep(waitMs);
    }
    this.spent.push({ at: this.env.nowMs(), units });
    this.stats.units += units;
  }

  private refill(): void {
    const now = this.env.nowMs();
    const elapsed = (now - this.lastRefill) / 1000;
    this.tokens = Math.min(this.settings.burst, this.tokens + elapsed * this.settings.ratePerSecond);
    this.lastRefill = now;
  }
}
