import * as z from 'zod';
import type { Random } from './random';

/**
 * Faults the admin API can inject. Rates are probabilities per call or per push, drawn from
 * the sandbox's seeded generator; `failNext` fails an exact number of calls, for tests.
 */

const method = z.string().min(1);

export const faultsSchema = z.object({
  latencyMs: z.number().int().nonnegative().default(0),
  latencyJitterMs: z.number().int().nonnegative().default(0),
  /** Probability that an API call answers 500 or 503. */
  serverErrorRate: z.number().min(0).max(1).default(0),
  /** Probability that an API call answers 429 rateLimitExceeded or 403 userRateLimitExceeded. */
  rateLimitRate: z.number().min(0).max(1).default(0),
  retryAfterSeconds: z.number().int().positive().optional(),
  failNext: z
    .array(
      z.object({
        method: method.optional(),
        account: z.string().optional(),
        /** Only calls on this calendar (the path's `calendarId`). */
        calendarId: z.string().optional(),
        /** 404 and 410: Google no longer knows the watch or channel (the renewal's re-registration path). */
        status: z.union([z.literal(403), z.literal(404), z.literal(410), z.literal(429), z.literal(500), z.literal(502), z.literal(503), z.literal(504)]),
        /** A 403's reason: a rate limit unless `forbidden` (the caller may not read that calendar). */
        reason: z.literal('forbidden').optional(),
        count: z.number().int().positive().default(1),
        retryAfterSeconds: z.number().int().positive().optional(),
      }),
    )
    .default([]),
  push: z
    .object({
      dropRate: z.number().min(0).max(1).default(0),
      duplicateRate: z.number().min(0).max(1).default(0),
      /** Each push is delayed by a random 0..maxDelayMs, which also reorders them. */
      maxDelayMs: z.number().int().nonnegative().default(0),
    })
    .default({ dropRate: 0, duplicateRate: 0, maxDelayMs: 0 }),
});
export type Faults = z.infer<typeof faultsSchema>;
export type FaultsInput = z.input<typeof faultsSchema>;

export type InjectedError = { status: number; retryAfterSeconds: number | undefined; forbidden?: true };

/** The call an injected error may answer. */
export interface FaultTarget {
  method: string;
  account: string;
  calendarId: string | undefined;
}

export class FaultInjector {
  faults: Faults = faultsSchema.parse({});
  readonly injected = { serverErrors: 0, rateLimits: 0, gone: 0, pushesDropped: 0, pushesDuplicated: 0, pushesDelayed: 0 };

  constructor(private readonly random: Random) {}

  set(input: FaultsInput): void {
    this.faults = faultsSchema.parse(input);
  }

  latency(): number {
    const { latencyMs, latencyJitterMs } = this.faults;
    return latencyMs + (latencyJitterMs > 0 ? this.random.int(0, latencyJitterMs) : 0);
  }

  /** The error to answer this call with, if any. */
  errorFor(call: FaultTarget): InjectedError | null {
    const planned = this.faults.failNext.find(
      (f) => f.count > 0 && (!f.method || f.method === call.method) && (!f.account || f.account === call.account) && (!f.calendarId || f.calendarId === call.calendarId),
    );
    if (planned) {
      planned.count -= 1;
      if (planned.reason === 'forbidden') return { status: 403, retryAfterSeconds: undefined, forbidden: true };
      this.count(planned.status);
      return { status: planned.status, retryAfterSeconds: planned.retryAfterSeconds };
    }
    const { serverErrorRate, rateLimitRate, retryAfterSeconds } = this.faults;
    if (this.random.chance(serverErrorRate)) {
      const status = this.random.chance(0.5) ? 500 : 503;
      this.count(status);
      return { status, retryAfterSeconds };
    }
    if (this.random.chance(rateLimitRate)) {
      const status = this.random.chance(0.5) ? 429 : 403;
      this.count(status);
      return { status, retryAfterSeconds };
    }
    return null;
  }

  private count(status: number): void {
    if (status === 404 || status === 410) this.injected.gone += 1;
    else if (status === 429 || status === 403) this.injected.rateLimits += 1;
    else this.injected.serverErrors += 1;
  }

  /** How many copies of a push to send (0 = dropped) and after how long each. */
  pushPlan(): number[] {
    const { dropRate, duplicateRate, maxDelayMs } = this.faults.push;
    if (this.random.chance(dropRate)) {
      this.injected.pushesDropped += 1;
      return [];
    }
    const copies = this.random.chance(duplicateRate) ? 2 : 1;
    if (copies === 2) this.injected.pushesDuplicated += 1;
    return Array.from({ length: copies }, () => {
      const delay = maxDelayMs > 0 ? this.random.int(0, maxDelayMs) : 0;
      if (delay > 0) this.injected.pushesDelayed += 1;
      return delay;
    });
  }
}
