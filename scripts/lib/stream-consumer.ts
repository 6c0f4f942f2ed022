import { changeEventSchema, TASK_CHANGED, type SourceStatusChange, type TaskChange } from '../../functions/src/contracts/change-events';

/**
 * A host app's consumer of the change stream, as the soak runs it: a pull subscription on the
 * emulator's `task-changes`, every event checked against its schema, duplicates and stale
 * deliveries dropped by version. What it holds is what a host app would show.
 */
export interface ConsumerCounts {
  received: number;
  /** Dropped: a version already applied (a duplicate) or older than the one held (stale). */
  dropped: number;
  malformed: number;
}

export class StreamConsumer {
  readonly counts: ConsumerCounts = { received: 0, dropped: 0, malformed: 0 };
  private readonly taskView = new Map<string, TaskChange>();
  private readonly statusChanges = new Map<string, SourceStatusChange[]>();
  private running: Promise<void> | undefined;
  private stopped = false;

  private constructor(
    private readonly base: string,
    private readonly subscription: string,
  ) {}

  static async attach(pubsubHost: string, projectId: string, topic = 'task-changes'): Promise<StreamConsumer> {
    const base = `http://${pubsubHost}/v1`;
    const subscription = `projects/${projectId}/subscriptions/${topic}-consumer`;
    const response = await fetch(`${base}/${subscription}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ topic: `projects/${projectId}/topics/${topic}`, ackDeadlineSeconds: 30, enableMessageOrdering: true }),
    });
    if (!response.ok && response.status !== 409) throw new Error(`subscribing to ${topic}: ${response.status}`);
    return new StreamConsumer(base, subscription);
  }

  /** Pulls in the background until `stop`. */
  start(intervalMs = 200): void {
    this.running = (async () => {
      while (!this.stopped) {
        if ((await this.pullOnce()) === 0) await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Pulls until the subscription is empty twice in a row. */
  async drain(): Promise<void> {
    let empty = 0;
    while (empty < 2) {
      empty = (await this.pullOnce()) === 0 ? empty + 1 : 0;
      if (empty > 0) await new Promise((r) => setTimeout(r, 300));
    }
  }

  /** The user's tasks as the stream described them: task id → the latest version's fields. */
  tasks(userId: string): Map<string, TaskChange> {
    return new Map([...this.taskView].filter(([, t]) => t.userId === userId));
  }

  /** The status changes of a source, in version order. */
  statuses(sourceId: string): SourceStatusChange[] {
    return [...(this.statusChanges.get(sourceId) ?? [])].sort((a, b) => a.version - b.version);
  }

  private async pullOnce(): Promise<number> {
    const response = await fetch(`${this.base}/${this.subscription}:pull`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ maxMessages: 500, returnImmediately: true }),
    });
    if (!response.ok) return 0;
    const body = (await response.json()) as { receivedMessages?: { ackId: string; message: { data: string } }[] };
    const received = body.receivedMessages ?? [];
    received.forEach((r) => this.apply(Buffer.from(r.message.data, 'base64').toString('utf8')));
    if (received.length > 0) {
      await fetch(`${this.base}/${this.subscription}:acknowledge`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ackIds: received.map((r) => r.ackId) }),
      });
    }
    return received.length;
  }

  private apply(json: string): void {
    this.counts.received += 1;
    const parsed = changeEventSchema.safeParse(JSON.parse(json));
    if (!parsed.success) {
      this.counts.malformed += 1;
      return;
    }
    const event = parsed.data;
    if (event.type === TASK_CHANGED) {
      const held = this.taskView.get(event.data.taskId);
      if (held && held.version >= event.data.version) this.counts.dropped += 1;
      else this.taskView.set(event.data.taskId, event.data);
      return;
    }
    const changes = this.statusChanges.get(event.data.sourceId) ?? [];
    if (changes.some((c) => c.version === event.data.version)) this.counts.dropped += 1;
    else this.statusChanges.set(event.data.sourceId, [...changes, event.data]);
  }
}

/** Where the consumer's view of a user's tasks differs from the stored tasks. */
export function streamDifferences(userId: string, view: Map<string, TaskChange>, stored: Map<string, { status: string; title: string; dueAt: string | null }>): string[] {
  const differences: string[] = [];
  const due = (iso: string | null) => (iso === null ? null : Date.parse(iso));
  for (const [taskId, task] of stored) {
    const seen = view.get(taskId);
    if (!seen) differences.push(`stream: ${userId} task ${taskId} never reached the consumer`);
    else if (seen.status !== task.status || seen.title !== task.title || due(seen.dueAt) !== due(task.dueAt)) {
      differences.push(`stream: ${userId} task ${taskId} is ${seen.status} "${seen.title}" for the consumer, ${task.status} "${task.title}" in Firestore`);
    }
  }
  for (const taskId of view.keys()) if (!stored.has(taskId)) differences.push(`stream: ${userId} task ${taskId} announced, not stored`);
  return differences;
}
