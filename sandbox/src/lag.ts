import * as z from 'zod';
import type { Random } from './random';

/**
 * Read-after-push lag: Google can announce a change (a Gmail notification, a Calendar channel
 * message) before its read paths serve it. A rule per account (or for every account) and per
 * API delays when a change becomes readable, by a fixed amount or by a random amount up to a
 * bound, drawn from the seeded generator. Pushes are not delayed. Visibility is a prefix: a
 * change is readable only once every earlier change of the same mailbox or calendar is, so a
 * reader never sees a later change while an earlier one is still hidden.
 */

export type LaggedApi = 'gmail' | 'calendar';

export const lagRuleSchema = z
  .object({
    /** Omitted: every account without a rule of its own. */
    account: z.string().min(1).optional(),
    api: z.enum(['gmail', 'calendar']),
    fixedMs: z.number().int().positive().optional(),
    maxMs: z.number().int().positive().optional(),
    /**
     * Gmail only: the history id that `history.list`, `getProfile` and `watch` answer while a
     * change is hidden: `visible` (that of the last readable change) or `ahead` (the newest,
     * beyond the records a listing returns).
     */
    historyId: z.enum(['visible', 'ahead']).default('visible'),
  })
  .refine((rule) => (rule.fixedMs === undefined) !== (rule.maxMs === undefined), { message: 'give exactly one of fixedMs and maxMs' });
export type LagRule = z.output<typeof lagRuleSchema>;
export type LagRuleInput = z.input<typeof lagRuleSchema>;

export const lagClearSchema = z.object({ account: z.string().min(1).optional(), api: z.enum(['gmail', 'calendar']).optional() });
export type LagClear = z.infer<typeof lagClearSchema>;

const ANY_ACCOUNT = '*';

export class ReadLag {
  private readonly rules = new Map<string, LagRule>();
  /** Changes whose visibility was delayed, per API. */
  readonly delayed: Record<LaggedApi, number> = { gmail: 0, calendar: 0 };

  constructor(private readonly random: Random) {}

  private key(account: string | undefined, api: LaggedApi): string {
    return `${account ?? ANY_ACCOUNT}|${api}`;
  }

  set(rule: LagRule): void {
    this.rules.set(this.key(rule.account, rule.api), rule);
  }

  /** Removes the rules matching the filter (all of them for an empty filter). */
  clear(filter: LagClear): void {
    for (const [key, rule] of this.rules) {
      if ((filter.account === undefined || rule.account === filter.account) && (filter.api === undefined || rule.api === filter.api)) {
        this.rules.delete(key);
      }
    }
  }

  list(): LagRule[] {
    return [...this.rules.values()];
  }

  rule(account: string, api: LaggedApi): LagRule | undefined {
    return this.rules.get(this.key(account, api)) ?? this.rules.get(this.key(undefined, api));
  }

  /** How long the change being made now stays unreadable. */
  delayMs(account: string, api: LaggedApi): number {
    const rule = this.rule(account, api);
    if (!rule) return 0;
    const delay = rule.fixedMs ?? this.random.int(0, rule.maxMs ?? 0);
    if (delay > 0) this.delayed[api] += 1;
    return delay;
  }

  historyIdAhead(account: string): boolean {
    return this.rule(account, 'gmail')?.historyId === 'ahead';
  }
}

/**
 * When a change made now becomes readable: after its own delay, and never before the change
 * made just before it.
 */
export function visibleAt(now: number, delayMs: number, previousVisibleAt: number): number {
  return Math.max(now + delayMs, previousVisibleAt);
}
