import type { Firestore } from '@google-cloud/firestore';
import type { SandboxAdmin } from '../../sandbox/src/admin-client';

/**
 * The demo's expectations and how they are observed: each scripted change names the task
 * state it should produce; a Firestore listener on the user's tasks notices the state and
 * reports the latency from the change to the task being written.
 */

export interface Expectation {
  label: string;
  changedAt: number;
  matches(task: { id: string; title?: string; status?: string; dueAt?: { toMillis(): number } | null }): boolean;
}

export interface Observed {
  label: string;
  latencyMs: number;
}

export class TaskWatcher {
  private readonly pending: Expectation[] = [];
  readonly observed: Observed[] = [];
  private unsubscribe: (() => void) | undefined;
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly db: Firestore,
    private readonly userId: string,
    private readonly onObserved: (o: Observed) => void,
  ) {}

  start(): void {
    this.unsubscribe = this.db.collection(`users/${this.userId}/tasks`).onSnapshot((snapshot) => {
      const now = Date.now();
      const tasks = snapshot.docs.map((d) => ({ id: d.id, ...(d.data() as { title?: string; status?: string; dueAt?: { toMillis(): number } | null }) }));
      for (const expectation of [...this.pending]) {
        if (!tasks.some((t) => expectation.matches(t))) continue;
        this.pending.splice(this.pending.indexOf(expectation), 1);
        const observed = { label: expectation.label, latencyMs: now - expectation.changedAt };
        this.observed.push(observed);
        this.onObserved(observed);
      }
      if (this.pending.length === 0) this.waiters.splice(0).forEach((w) => w());
    });
  }

  expect(expectation: Expectation): void {
    this.pending.push(expectation);
  }

  get outstanding(): string[] {
    return this.pending.map((p) => p.label);
  }

  /** Resolves when every expectation so far was observed; false on timeout. */
  settled(timeoutMs: number): Promise<boolean> {
    if (this.pending.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  stop(): void {
    this.unsubscribe?.();
  }
}

/**
 * Signs a user up (or in, when they exist) on the Firebase Auth emulator and returns their
 * uid and ID token: the same REST calls the status page makes.
 */
export async function emulatorSignIn(authHost: string, email: string, password: string): Promise<{ uid: string; idToken: string }> {
  const call = (method: 'signUp' | 'signInWithPassword') =>
    fetch(`http://${authHost}/identitytoolkit.googleapis.com/v1/accounts:${method}?key=local`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password, returnSecureToken: true }),
    });
  let response = await call('signUp');
  if (!response.ok) response = await call('signInWithPassword');
  if (!response.ok) throw new Error(`the Auth emulator refused ${email}: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { localId: string; idToken: string };
  return { uid: body.localId, idToken: body.idToken };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Gmail notifies a mailbox at most once a second; spacing the demo's mail keeps every change pushed.
const GMAIL_SPACING_MS = 1100;

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The scripted scenario: mail arrives, an event is created and moved, an email is archived. */
export async function runScenario(admin: SandboxAdmin, email: string, watcher: TaskWatcher): Promise<void> {
  const mail = async (subject: string) => {
    const changedAt = Date.now();
    const sent = await admin.deliverMail(email, { subject, from: 'Demo Sender <sender@example.com>' });
    watcher.expect({ label: `mail "${subject}" → open task`, changedAt, matches: (t) => t.id.endsWith(`:gmail:${sent.id}`) && t.status === 'open' });
    await sleep(GMAIL_SPACING_MS);
    return sent;
  };
  const welcome = await mail('Welcome to the sync engine demo');
  await mail('Quarterly report due Friday');

  const tomorrow = new Date(Date.now() + 86_400_000);
  tomorrow.setUTCHours(10, 0, 0, 0);
  const hour = 3_600_000;
  let changedAt = Date.now();
  const event = await admin.createEvent(email, {
    summary: 'Design review',
    start: { dateTime: tomorrow.toISOString() },
    end: { dateTime: new Date(tomorrow.getTime() + hour).toISOString() },
  });
  watcher.expect({ label: 'event "Design review" created → open task', changedAt, matches: (t) => t.id.endsWith(`:calendar:${event.id}`) && t.status === 'open' });
  await watcher.settled(10_000);

  const moved = new Date(tomorrow.getTime() + 86_400_000 + 4 * hour);
  changedAt = Date.now();
  await admin.updateEvent(email, event.id, { start: { dateTime: moved.toISOString() }, end: { dateTime: new Date(moved.getTime() + hour).toISOString() } });
  watcher.expect({ label: 'event moved → task due date updated', changedAt, matches: (t) => t.id.endsWith(`:calendar:${event.id}`) && t.dueAt?.toMillis() === moved.getTime() });

  changedAt = Date.now();
  await admin.archiveMail(email, welcome.id);
  watcher.expect({ label: 'mail archived → task archived', changedAt, matches: (t) => t.id.endsWith(`:gmail:${welcome.id}`) && t.status === 'archived' });
}

const SUBJECTS = ['Invoice #4821', 'Lunch on Thursday?', 'Your flight is confirmed', 'Weekly metrics', 'Contract draft v3'];
const EVENTS = ['1:1 with Sam', 'Sprint planning', 'Dentist', 'Customer call'];

/** Occasional activity after the scenario, until stopped. */
export async function keepActive(admin: SandboxAdmin, email: string, watcher: TaskWatcher, stopped: () => boolean): Promise<void> {
  for (let n = 0; !stopped(); n += 1) {
    await sleep(8000 + Math.random() * 4000);
    if (stopped()) return;
    const changedAt = Date.now();
    if (n % 3 === 2) {
      const start = new Date(Date.now() + (1 + (n % 5)) * 86_400_000);
      const summary = EVENTS[n % EVENTS.length]!;
      const event = await admin.createEvent(email, { summary, start: { dateTime: start.toISOString() }, end: { dateTime: new Date(start.getTime() + 1_800_000).toISOString() } });
      watcher.expect({ label: `event "${summary}" → open task`, changedAt, matches: (t) => t.id.endsWith(`:calendar:${event.id}`) });
    } else {
      const subject = SUBJECTS[n % SUBJECTS.length]!;
      const sent = await admin.deliverMail(email, { subject });
      watcher.expect({ label: `mail "${subject}" → open task`, changedAt, matches: (t) => t.id.endsWith(`:gmail:${sent.id}`) });
    }
  }
}
