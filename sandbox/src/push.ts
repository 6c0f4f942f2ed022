import type { Channel } from './calendar-data';
import type { FaultInjector } from './faults';

/**
 * Watches deliver for real. Gmail notifications are published to the Pub/Sub emulator's
 * REST API; Calendar notifications are POSTed to the channel's address with the real
 * X-Goog-* headers and retried with backoff on 500/502/503/504 only, as Google does.
 */

const RETRIED_STATUSES = new Set([500, 502, 503, 504]);
const MAX_CALENDAR_ATTEMPTS = 5;

export interface PushLog {
  gmailPublished: number;
  gmailDroppedRate: number;
  gmailPublishFailures: number;
  calendarDelivered: number;
  calendarFailed: number;
  calendarRetries: number;
}

export class PushDelivery {
  readonly log: PushLog = {
    gmailPublished: 0,
    gmailDroppedRate: 0,
    gmailPublishFailures: 0,
    calendarDelivered: 0,
    calendarFailed: 0,
    calendarRetries: 0,
  };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly faults: FaultInjector,
    private readonly options: { pubsubEmulatorHost: string | undefined; calendarRetryBaseMs: number },
  ) {}

  private later(delayMs: number, work: () => Promise<void>): void {
    if (this.closed) return;
    const run = () => {
      const p = work().finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    };
    if (delayMs <= 0) return run();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, delayMs);
    this.timers.add(timer);
  }

  /**
   * Publishes `{emailAddress, historyId}` to the watch's topic, through the fault plan. As in
   * production, the history id is a JSON number (written from the bigint's digits, exactly).
   */
  publishGmail(topicName: string, emailAddress: string, historyId: bigint): void {
    const data = Buffer.from(`{"emailAddress":${JSON.stringify(emailAddress)},"historyId":${historyId.toString()}}`).toString('base64');
    for (const delay of this.faults.pushPlan()) {
      this.later(delay, async () => {
        try {
          await this.publish(topicName, data);
          this.log.gmailPublished += 1;
        } catch {
          this.log.gmailPublishFailures += 1;
        }
      });
    }
  }

  async topicExists(topicName: string): Promise<boolean> {
    const host = this.options.pubsubEmulatorHost;
    if (!host) return false;
    const response = await fetch(`http://${host}/v1/${topicName}`);
    return response.ok;
  }

  private async publish(topicName: string, data: string): Promise<void> {
    const host = this.options.pubsubEmulatorHost;
    if (!host) throw new Error('no Pub/Sub emulator configured');
    const response = await fetch(`http://${host}/v1/${topicName}:publish`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ messages: [{ data }] }),
    });
    if (!response.ok) throw new Error(`publish to ${topicName} failed: ${response.status}`);
  }

  /** Sends one channel notification; `sync` skips the fault plan (it is part of the watch call). */
  notifyCalendar(channel: Channel, state: 'sync' | 'exists', resourceUri: string): void {
    const number = channel.nextMessageNumber;
    // Message numbers increase, with gaps.
    channel.nextMessageNumber += state === 'sync' ? 1 : 1 + Math.floor(Math.random() * 3);
    const headers: Record<string, string> = {
      'X-Goog-Channel-ID': channel.id,
      'X-Goog-Message-Number': String(number),
      'X-Goog-Resource-ID': channel.resourceId,
      'X-Goog-Resource-State': state,
      'X-Goog-Resource-URI': resourceUri,
      'X-Goog-Channel-Expiration': new Date(channel.expiration).toUTCString(),
    };
    if (channel.token !== undefined) headers['X-Goog-Channel-Token'] = channel.token;
    const delays = state === 'sync' ? [0] : this.faults.pushPlan();
    for (const delay of delays) this.later(delay, () => this.post(channel.address, headers, 1));
  }

  private async post(address: string, headers: Record<string, string>, attempt: number): Promise<void> {
    let status: number;
    try {
      const response = await fetch(address, { method: 'POST', headers, signal: AbortSignal.timeout(10_000) });
      status = response.status;
      await response.arrayBuffer();
    } catch {
      status = 503;
    }
    if ([200, 201, 202, 204, 102].includes(status)) {
      this.log.calendarDelivered += 1;
      return;
    }
    if (RETRIED_STATUSES.has(status) && attempt < MAX_CALENDAR_ATTEMPTS) {
      this.log.calendarRetries += 1;
      const backoff = this.options.calendarRetryBaseMs * 2 ** (attempt - 1);
      this.later(backoff, () => this.post(address, headers, attempt + 1));
      return;
    }
    this.log.calendarFailed += 1;
  }

  /** Pushes not yet delivered: waiting for their delay or a retry, or on their way. */
  get pending(): number {
    return this.timers.size + this.inFlight.size;
  }

  /** Waits for every push due now, so a test can observe them. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timers.forEach(clearTimeout);
    this.timers.clear();
    await this.drain();
  }
}
