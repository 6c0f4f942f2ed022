import { generateKeyPairSync, sign } from 'node:crypto';

/**
 * Cloud Tasks queues, as the engine depends on them: tasks with a `scheduleTime`, names that
 * cannot be reused for an hour (ALREADY_EXISTS collapses duplicates), dispatch at the
 * scheduled time as an HTTP request carrying an OIDC token of the task's service account,
 * and retries with exponential backoff until a 2xx or the attempts run out.
 */

export interface HttpTarget {
  url: string;
  httpMethod: string;
  headers: Record<string, string>;
  body: Buffer | null;
  oidc: { serviceAccountEmail: string; audience: string } | null;
}

export interface StoredTask {
  name: string;
  scheduleTime: number;
  createTime: number;
  target: HttpTarget;
  dispatchCount: number;
  responseCount: number;
  lastResponseStatus: number | null;
}

/** Google's queue defaults (RetryConfig), with the attempts bounded so a test ends. */
export interface RetrySettings {
  maxAttempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  maxDoublings: number;
}

export const DEFAULT_RETRY: RetrySettings = { maxAttempts: 100, minBackoffMs: 100, maxBackoffMs: 3_600_000, maxDoublings: 16 };

/** A task name stays taken this long after its task ran or was deleted. */
const NAME_REUSE_MS = 60 * 60_000;
const ISSUER = 'https://accounts.google.com';

export class TaskQueues {
  readonly queues = new Set<string>();
  private readonly tasks = new Map<string, StoredTask>();
  /** Names of finished tasks, with when they may be reused. */
  private readonly tombstones = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  readonly stats = { created: 0, duplicates: 0, dispatched: 0, retried: 0, succeeded: 0, abandoned: 0 };
  private closed = false;

  constructor(
    private readonly now: () => number,
    public retry: RetrySettings = DEFAULT_RETRY,
  ) {}

  /** The public key that verifies the OIDC tokens this sandbox signs (PEM). */
  publicKeyPem(): string {
    return this.key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  has(name: string): boolean {
    return this.tasks.has(name) || (this.tombstones.get(name) ?? 0) > this.now();
  }

  /** Tasks not yet finished: waiting for their schedule time or a retry, or being dispatched. */
  get pending(): number {
    return this.tasks.size;
  }

  get(name: string): StoredTask | undefined {
    return this.tasks.get(name);
  }

  add(task: StoredTask): void {
    this.stats.created += 1;
    this.tasks.set(task.name, task);
    this.schedule(task, task.scheduleTime - this.now());
  }

  close(): void {
    this.closed = true;
    this.timers.forEach(clearTimeout);
    this.timers.clear();
  }

  private schedule(task: StoredTask, inMs: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.dispatch(task);
    }, Math.max(0, inMs));
    this.timers.add(timer);
  }

  private async dispatch(task: StoredTask): Promise<void> {
    task.dispatchCount += 1;
    this.stats.dispatched += 1;
    let status: number;
    try {
      const response = await fetch(task.target.url, {
        method: task.target.httpMethod,
        headers: this.headersFor(task),
        ...(task.target.body !== null && { body: new Uint8Array(task.target.body) }),
        signal: AbortSignal.timeout(600_000),
      });
      await response.arrayBuffer();
      status = response.status;
      task.responseCount += 1;
    } catch {
      status = 0;
    }
    task.lastResponseStatus = status;
    if (status >= 200 && status < 300) {
      this.stats.succeeded += 1;
      return this.finish(task);
    }
    if (task.dispatchCount >= this.retry.maxAttempts) {
      this.stats.abandoned += 1;
      return this.finish(task);
    }
    this.stats.retried += 1;
    this.schedule(task, this.backoffMs(task.dispatchCount));
  }

  /** Doubles from minBackoff `maxDoublings` times, then grows linearly, capped at maxBackoff. */
  private backoffMs(attempts: number): number {
    const { minBackoffMs, maxBackoffMs, maxDoublings } = this.retry;
    const doublings = Math.min(attempts - 1, maxDoublings);
    const linear = Math.max(0, attempts - 1 - maxDoublings);
    const wait = minBackoffMs * 2 ** doublings + linear * minBackoffMs * 2 ** maxDoublings;
    return Math.min(maxBackoffMs, wait);
  }

  private finish(task: StoredTask): void {
    this.tasks.delete(task.name);
    this.tombstones.set(task.name, this.now() + NAME_REUSE_MS);
  }

  private headersFor(task: StoredTask): Record<string, string> {
    const [queue, , id] = splitTaskName(task.name);
    const headers: Record<string, string> = {
      ...task.target.headers,
      'User-Agent': 'Google-Cloud-Tasks',
      'X-CloudTasks-QueueName': queue.split('/').pop() ?? queue,
      'X-CloudTasks-TaskName': id,
      'X-CloudTasks-TaskRetryCount': String(task.dispatchCount - 1),
      'X-CloudTasks-TaskExecutionCount': String(task.responseCount),
      'X-CloudTasks-TaskETA': (task.scheduleTime / 1000).toFixed(6),
    };
    if (task.target.oidc) headers.Authorization = `Bearer ${this.idToken(task.target.oidc)}`;
    return headers;
  }

  /** An RS256 ID token shaped like Google's for a service account. */
  private idToken(oidc: { serviceAccountEmail: string; audience: string }): string {
    const iat = Math.floor(this.now() / 1000);
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const header = encode({ alg: 'RS256', typ: 'JWT', kid: 'sandbox' });
    const payload = encode({
      iss: ISSUER,
      aud: oidc.audience,
      azp: oidc.serviceAccountEmail,
      sub: oidc.serviceAccountEmail,
      email: oidc.serviceAccountEmail,
      email_verified: true,
      iat,
      exp: iat + 3600,
    });
    const signature = sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), this.key.privateKey).toString('base64url');
    return `${header}.${payload}.${signature}`;
  }
}

/** `projects/P/locations/L/queues/Q/tasks/T` → [queue name, 'tasks', task id]. */
export function splitTaskName(name: string): [string, string, string] {
  const match = /^(projects\/[^/]+\/locations\/[^/]+\/queues\/[^/]+)\/tasks\/([^/]+)$/.exec(name);
  if (!match) return ['', 'tasks', ''];
  return [match[1]!, 'tasks', match[2]!];
}
