/**
 * Per-account call counts (what `/_admin/stats` reports) and Google's per-user quota: a
 * sliding one-minute window of units (Gmail) or requests (Calendar).
 */

export interface QuotaConfig {
  gmailUnitsPerMinute: number;
  calendarRequestsPerMinute: number;
  /** Gmail unit costs by method; Calendar costs one request per call. */
  gmailCosts: Record<string, number>;
}

export const DEFAULT_QUOTA: QuotaConfig = {
  gmailUnitsPerMinute: 6000,
  calendarRequestsPerMinute: 600,
  gmailCosts: {
    'gmail.users.getProfile': 1,
    'gmail.users.watch': 100,
    'gmail.users.stop': 50,
    'gmail.users.history.list': 2,
    'gmail.users.messages.list': 5,
    'gmail.users.messages.get': 20,
  },
};

const WINDOW_MS = 60_000;

export class Usage {
  readonly calls = new Map<string, Map<string, number>>();
  private readonly windows = new Map<string, { at: number; cost: number }[]>();
  private batchPartsInFlight = 0;
  /** The most batch parts being answered at one moment: how a test sees that parts run at once. */
  batchPartsPeak = 0;

  constructor(public quota: QuotaConfig) {}

  count(account: string, method: string, by = 1): void {
    const perAccount = this.calls.get(account) ?? new Map<string, number>();
    perAccount.set(method, (perAccount.get(method) ?? 0) + by);
    this.calls.set(account, perAccount);
  }

  /** Charges the call; false when it would exceed the account's quota. */
  charge(account: string, method: string, now: number): boolean {
    const api = method.startsWith('gmail.') ? 'gmail' : 'calendar';
    const cost = api === 'gmail' ? (this.quota.gmailCosts[method] ?? 5) : 1;
    const limit = api === 'gmail' ? this.quota.gmailUnitsPerMinute : this.quota.calendarRequestsPerMinute;
    const key = `${account}|${api}`;
    const window = (this.windows.get(key) ?? []).filter((entry) => entry.at > now - WINDOW_MS);
    const used = window.reduce((sum, entry) => sum + entry.cost, 0);
    if (used + cost > limit) {
      this.windows.set(key, window);
      return false;
    }
    window.push({ at: now, cost });
    this.windows.set(key, window);
    return true;
  }

  /** Counts a batch part as being answered until the returned function is called. */
  batchPartStarted(): () => void {
    this.batchPartsInFlight += 1;
    this.batchPartsPeak = Math.max(this.batchPartsPeak, this.batchPartsInFlight);
    return () => {
      this.batchPartsInFlight -= 1;
    };
  }

  snapshot(): Record<string, Record<string, number>> {
    return Object.fromEntries([...this.calls].map(([account, methods]) => [account, Object.fromEntries(methods)]));
  }

  reset(): void {
    this.calls.clear();
    this.windows.clear();
    this.batchPartsPeak = this.batchPartsInFlight;
  }
}
