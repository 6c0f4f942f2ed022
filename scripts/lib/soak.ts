import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sourceIdFor } from '../../functions/src/engine/account/connect';
import { SandboxAdmin, type AccountTruth } from '../../sandbox/src/admin-client';
import type { FaultsInput } from '../../sandbox/src/faults';
import { startSandbox } from '../../sandbox/src/server';
import { connectThroughFlow, firebaseIdToken } from './connect-client';
import { freePort, startEmulators } from './emulators';
import { createFollowUpQueue, localFunctionEnv } from './local-env';
import { finalAudit, type AuditStepResult } from './soak-audit';
import { putRule, SOAK_MAIL, SOAK_RULES, truthIsTask, type SoakRule } from './soak-rules';
import { StreamConsumer, streamDifferences, type ConsumerCounts } from './stream-consumer';

/**
 * The chaos soak: sources with random mail and calendar activity while Google misbehaves
 * (5xx, 429/403, latency spikes, dropped/duplicated/delayed/reordered pushes, expired
 * history, invalidated sync tokens), the functions host is killed mid-sync and restarted,
 * a long outage loses pushes while mail piles up and history expires, Google's clock jumps
 * two hours ahead of ours, an account is disconnected, changed, and reconnected, and another's
 * grant is revoked, then reconnected. Then the jobs catch up and Firestore is compared with
 * the sandbox's ground truth, and a consumer of the change stream with Firestore.
 */

export interface SoakOptions {
  sources: number;
  durationMs: number;
  /** Mail delivered to one account during the long outage (pushes lost, then history expired). */
  outageMessages?: number;
  seed: number;
  logDir: string;
  onProgress?: (line: string) => void;
}

export interface SoakReport {
  seed: number;
  injected: Record<string, number>;
  activity: Record<string, number>;
  differences: string[];
  logLeaks: string[];
  statuses: Record<string, string>;
  checkedTasks: number;
  /** The closing completeness audit: 0 repairs after a clean soak. */
  audit: AuditStepResult;
  /** The change stream's consumer: events received, dropped by version, malformed. */
  stream: ConsumerCounts;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HOUR_MS = 3_600_000;
/** The longest a change stays unreadable after its push while the soak's lag is on. */
const READ_LAG_MS = 3000;

/**
 * Every other source also syncs a second calendar it owns, with focus time left out by its
 * event rules; what the soak did there is its ground truth (the sandbox's account view shows
 * the primary calendar only).
 */
type SecondCalendar = { id: string; events: Map<string, { summary: string; start: string; cancelled: boolean; focus: boolean }> };
/** A soak account, the intake rule its source has now, and its second calendar if it has one. */
type Account = { email: string; userId: string; sourceId: string; rule: SoakRule; second?: SecondCalendar };
const SECOND_CALENDAR_RULES = { excludedTypes: ['birthday', 'workingLocation', 'fromGmail', 'focusTime'] };

/** A long outage: every push is lost while mail piles up, then Gmail's history expires. */
async function outageWithExpiry(admin: SandboxAdmin, account: Account, faults: FaultsInput, messages: number): Promise<void> {
  await admin.setFaults({ ...faults, push: { ...faults.push, dropRate: 1 } });
  for (let i = 0; i < messages; i += 1) await admin.deliverMail(account.email, { subject: `during the outage ${i}` });
  await admin.expireHistory(account.email);
  await admin.setFaults(faults);
}

/**
 * The user disconnects the account, mail arrives and an event changes meanwhile, and the
 * user connects it again through the real connect flow.
 */
async function disconnectAndReconnect(admin: SandboxAdmin, connectUrl: string, idToken: string, account: Account): Promise<void> {
  const response = await fetch(`${connectUrl}/disconnect`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${idToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ sourceId: account.sourceId }),
  });
  if (!response.ok) throw new Error(`disconnect answered ${response.status}`);
  await admin.deliverMail(account.email, { subject: 'while disconnected' });
  const event = (await admin.account(account.email)).events.find((e) => e.status === 'confirmed');
  if (event) await admin.updateEvent(account.email, event.id, { summary: `${event.summary} (renamed while disconnected)` });
  await sleep(300);
  // Google misbehaves during the soak: like a user, try the flow again when it fails.
  let confirmed = 0;
  for (let attempt = 0; attempt < 5 && confirmed !== 200; attempt += 1) {
    confirmed = (await connectThroughFlow(connectUrl, idToken, account.email).catch(() => null))?.confirmed?.status ?? 0;
  }
  if (confirmed !== 200) throw new Error(`reconnect failed for ${account.email}: ${confirmed}`);
}

/**
 * The user revokes the grant at Google: mail arrives until a sync finds out, then the user
 * reconnects. The mail is starred in the inbox, so its push reaches the source whatever its
 * rule's label (a watch on STARRED publishes nothing for plain mail).
 */
async function revokeAndReconnect(admin: SandboxAdmin, connectUrl: string, idToken: string, account: Account, store: Firestoreish): Promise<void> {
  await admin.revoke(account.email);
  for (let attempt = 0; attempt < 30 && (await store.source(account.sourceId))?.status !== 'disconnected'; attempt += 1) {
    await admin.deliverMail(account.email, { subject: 'after the revocation', labelIds: ['INBOX', 'UNREAD', 'STARRED'] });
    await sleep(1000);
  }
  if ((await store.source(account.sourceId))?.status !== 'disconnected') throw new Error(`${account.email} not disconnected after its revocation`);
  let confirmed = 0;
  for (let attempt = 0; attempt < 5 && confirmed !== 200; attempt += 1) {
    confirmed = (await connectThroughFlow(connectUrl, idToken, account.email).catch(() => null))?.confirmed?.status ?? 0;
  }
  if (confirmed !== 200) throw new Error(`reconnect failed for ${account.email}: ${confirmed}`);
}

/**
 * The consumer's view against Firestore: every user's tasks equal, every source's last status
 * the stored one, and each source the soak disconnected seen disconnected, then back.
 */
async function streamCheck(consumer: StreamConsumer, accounts: Account[], store: Firestoreish, disconnected: Account[]): Promise<string[]> {
  const differences: string[] = [];
  if (consumer.counts.malformed > 0) differences.push(`stream: ${consumer.counts.malformed} malformed events`);
  for (const userId of new Set(accounts.map((a) => a.userId))) differences.push(...streamDifferences(userId, consumer.tasks(userId), await store.tasks(userId)));
  for (const a of accounts) {
    const seen = consumer.statuses(a.sourceId).map((s) => s.status);
    const stored = (await store.source(a.sourceId))?.status;
    if (seen.at(-1) !== stored) differences.push(`stream: ${a.email} last status seen ${seen.at(-1) ?? 'none'}, stored ${stored ?? 'none'}`);
  }
  for (const a of disconnected) {
    const seen = consumer.statuses(a.sourceId).map((s) => s.status);
    const at = seen.indexOf('disconnected');
    if (at < 0 || !seen.slice(at).some((s) => s !== 'disconnected')) differences.push(`stream: ${a.email} statuses seen ${seen.join(' → ')}: no disconnection then reconnection`);
  }
  return differences;
}

class Seeded {
  constructor(private state: number) {}
  next(): number {
    this.state = (this.state * 1103515245 + 12345) % 2147483648;
    return this.state / 2147483648;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

interface Firestoreish {
  tasks(userId: string): Promise<Map<string, { status: string; title: string; dueAt: string | null }>>;
  source(sourceId: string): Promise<{ status: string; lease: boolean; pending: boolean } | null>;
}

/** Reads the emulator's REST API: the soak needs no Firestore client of its own. */
function restFirestore(host: string, projectId: string): Firestoreish {
  const base = `http://${host}/v1/projects/${projectId}/databases/(default)/documents`;
  const get = async (path: string) => (await fetch(`${base}/${path}`, { headers: { Authorization: 'Bearer owner' } })).json() as Promise<Record<string, unknown>>;
  type Value = { stringValue?: string; timestampValue?: string; nullValue?: null; mapValue?: { fields?: Record<string, Value> }; booleanValue?: boolean; arrayValue?: { values?: Value[] } };
  return {
    async tasks(userId) {
      const out = new Map<string, { status: string; title: string; dueAt: string | null }>();
      let pageToken: string | undefined;
      do {
        const body = (await get(`users/${userId}/tasks?pageSize=300${pageToken ? `&pageToken=${pageToken}` : ''}`)) as { documents?: { name: string; fields: Record<string, Value> }[]; nextPageToken?: string };
        for (const doc of body.documents ?? []) {
          const f = doc.fields;
          out.set(doc.name.split('/').pop()!, { status: f.status?.stringValue ?? '', title: f.title?.stringValue ?? '', dueAt: f.dueAt?.timestampValue ?? null });
        }
        pageToken = body.nextPageToken;
      } while (pageToken);
      return out;
    },
    async source(sourceId) {
      const body = (await get(`sources/${sourceId}`)) as { fields?: Record<string, Value> };
      if (!body.fields) return null;
      const pending = body.fields.pending?.mapValue?.fields ?? {};
      return {
        status: body.fields.status?.stringValue ?? '',
        lease: body.fields.lease?.mapValue !== undefined,
        pending: pending.gmail?.stringValue !== undefined || pending.calendar?.booleanValue === true || (pending.calendars?.arrayValue?.values ?? []).length > 0,
      };
    },
  };
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const progress = options.onProgress ?? (() => undefined);
  const random = new Seeded(options.seed);
  const projectId = `demo-soak-${options.seed}`;
  const logFile = join(options.logDir, `soak-${options.seed}.log`);
  writeFileSync(logFile, '');
  const cleanups: (() => Promise<void> | void)[] = [];
  const activity: Record<string, number> = {};
  const count = (what: string) => (activity[what] = (activity[what] ?? 0) + 1);

  try {
    const emulators = await startEmulators({ projectId });
    cleanups.push(() => emulators.stop());
    const sandbox = await startSandbox({ pubsubEmulatorHost: emulators.pubsubHost, seed: options.seed, calendarRetryBaseMs: 500 });
    cleanups.push(() => sandbox.close());
    await createFollowUpQueue(projectId, sandbox.url);
    const admin = new SandboxAdmin(sandbox.url);
    const port = await freePort();
    const functionsUrl = `http://127.0.0.1:${port}`;
    const fn = (name: string) => `${functionsUrl}/${name}`;

    for (const [topic, target] of [['gmail-watch', 'gmailPush'], ['sync-requests', 'syncWorker']] as const) {
      const put = (path: string, body: unknown) => fetch(`http://${emulators.pubsubHost}/v1/${path}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      await put(`projects/${projectId}/topics/${topic}`, {});
      await put(`projects/${projectId}/subscriptions/${topic}-push`, { topic: `projects/${projectId}/topics/${topic}`, ackDeadlineSeconds: 30, pushConfig: { pushEndpoint: `${fn(target)}/projects/${projectId}/topics/${topic}` } });
    }
    await fetch(`http://${emulators.pubsubHost}/v1/projects/${projectId}/topics/task-changes`, { method: 'PUT' });
    const consumer = await StreamConsumer.attach(emulators.pubsubHost, projectId);
    consumer.start();
    cleanups.push(() => consumer.stop());
    const store = restFirestore(emulators.firestoreHost, projectId);
    const disconnected: Account[] = [];

    const env = {
      ...process.env,
      ...emulators.env,
      ...localFunctionEnv({ projectId, sandboxUrl: sandbox.url, functionUrl: fn }),
      RATE_LIMIT_PER_SECOND: '10',
      RATE_LIMIT_BURST: '10',
      BACKOFF_BASE_MS: '100',
      BACKOFF_MAX_MS: '2000',
      // A killed holder's lease must expire within the soak.
      LEASE_SECONDS: '5',
      // Every line, DEBUG too: the final audit waits for each request's line, and no line may carry a secret.
      LOG_LEVEL: 'DEBUG',
      SYNC_HOST_PORT: String(port),
      SYNC_LOG_FILE: logFile,
    };
    let host: ChildProcess | undefined;
    const startHost = async (clockOffsetMs = 0) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'functions-host-main.ts')], {
        env: { ...env, SYNC_CLOCK_OFFSET_MS: String(clockOffsetMs) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      host = child;
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => c.toString().includes('ready') && resolve());
        child.on('exit', (code) => reject(new Error(`functions host exited with ${code}`)));
      });
    };
    const killHost = async () => {
      if (!host) return;
      const exited = new Promise((r) => host!.once('exit', r));
      host.kill('SIGKILL');
      await exited;
      host = undefined;
    };
    cleanups.push(killHost);
    await startHost();

    progress(`connecting ${options.sources} sources`);
    const accounts: Account[] = [];
    for (let i = 0; i < options.sources; i += 1) {
      const email = `soak${i}@example.com`;
      const userId = `soak-user-${i % Math.max(1, Math.floor(options.sources / 2))}`;
      await admin.createAccount(email);
      const walk = await connectThroughFlow(fn('connect'), await firebaseIdToken(sandbox.url, projectId, userId), email);
      if (walk.confirmed?.status !== 200) throw new Error(`connect failed for ${email}: ${walk.callback.status} ${walk.confirmed?.status ?? ''}`);
      const token = await firebaseIdToken(sandbox.url, projectId, userId);
      const account: Account = { email, userId, sourceId: sourceIdFor(userId, email), rule: SOAK_RULES[i % SOAK_RULES.length]! };
      // The first source keeps the default rule it has never set (inbox).
      if (i % SOAK_RULES.length !== 0) await putRule(fn('connect'), token, account.sourceId, account.rule);
      if (i % 2 === 1) account.second = await chooseSecondCalendar(admin, fn('connect'), token, account);
      accounts.push(account);
    }
    await sleep(1200);

    const faults: FaultsInput = {
      latencyMs: 10,
      latencyJitterMs: 300,
      serverErrorRate: 0.05,
      rateLimitRate: 0.05,
      retryAfterSeconds: 1,
      push: { dropRate: 0.15, duplicateRate: 0.2, maxDelayMs: 1500 },
    };
    await admin.setFaults(faults);
    // Read-after-push lag: every Gmail change readable only up to 3 s after its push, with
    // Gmail's answered history id running ahead of its records, and every Calendar change
    // served by events.list only up to 3 s after its channel message.
    await admin.setLag({ api: 'gmail', maxMs: READ_LAG_MS, historyId: 'ahead' });
    await admin.setLag({ api: 'calendar', maxMs: READ_LAG_MS });

    const end = Date.now() + options.durationMs;
    const nextChaos = { kill: Date.now() + options.durationMs / 4, expire: Date.now() + options.durationMs / 3, invalidate: Date.now() + options.durationMs / 2 };
    // Each once: early enough that activity follows and the jobs must catch up.
    const once = [
      {
        at: Date.now() + options.durationMs / 5,
        name: 'google-clock-2h-ahead',
        run: () => admin.advanceClock(2 * HOUR_MS),
      },
      {
        at: Date.now() + (options.durationMs * 2) / 5,
        name: 'outage-with-expiry',
        run: () => outageWithExpiry(admin, random.pick(accounts), faults, options.outageMessages ?? 230),
      },
      {
        // Mid-run, under load and faults: one source's rule changes (its selector flips).
        at: Date.now() + (options.durationMs * 9) / 20,
        name: 'rule-changed',
        run: async () => {
          const account = random.pick(accounts);
          const rule = SOAK_RULES[(SOAK_RULES.indexOf(account.rule) + 1) % SOAK_RULES.length]!;
          await putRule(fn('connect'), await firebaseIdToken(sandbox.url, projectId, account.userId), account.sourceId, rule);
          account.rule = rule;
        },
      },
      {
        at: Date.now() + (options.durationMs * 3) / 5,
        name: 'disconnected-and-reconnected',
        run: async () => {
          const account = random.pick(accounts);
          disconnected.push(account);
          await disconnectAndReconnect(admin, fn('connect'), await firebaseIdToken(sandbox.url, projectId, account.userId), account);
        },
      },
      {
        at: Date.now() + (options.durationMs * 7) / 10,
        name: 'revoked-and-reconnected',
        run: async () => {
          const account = random.pick(accounts);
          disconnected.push(account);
          await revokeAndReconnect(admin, fn('connect'), await firebaseIdToken(sandbox.url, projectId, account.userId), account, store);
        },
      },
    ];
    while (Date.now() < end) {
      const account = random.pick(accounts);
      const truth = await admin.account(account.email);
      const inbox = truth.messages.filter((m) => !m.deleted && m.labelIds.includes('INBOX'));
      const live = truth.messages.filter((m) => !m.deleted);
      const events = truth.events.filter((e) => e.status !== 'cancelled');
      const day = 86_400_000;
      const when = () => new Date(Date.now() + (1 + Math.floor(random.next() * 6)) * day + Math.floor(random.next() * 20) * 1_800_000);
      const op = random.pick(['mail', 'mail', 'mail', 'archive', 'delete', 'label', 'event', 'event', 'move', 'cancel'] as const);
      try {
        if (op === 'mail') await admin.deliverMail(account.email, { ...random.pick(SOAK_MAIL), subject: `soak ${Object.values(activity).reduce((a, b) => a + b, 0)}` });
        else if (op === 'archive' && inbox.length > 0) await admin.archiveMail(account.email, random.pick(inbox).id);
        else if (op === 'delete' && live.length > 0) await admin.deleteMail(account.email, random.pick(live).id);
        else if (op === 'label' && live.length > 0) await admin.labelMail(account.email, random.pick(live).id, random.pick([{ add: ['STARRED'] }, { remove: ['STARRED'] }, { remove: ['UNREAD'] }]));
        else if (op === 'event' && account.second && random.next() < 0.5) await secondCalendarEvent(admin, account, account.second, random, when());
        else if (op === 'event') {
          const start = when();
          const eventType = random.next() < 0.1 ? ('birthday' as const) : undefined;
          await admin.createEvent(account.email, { summary: `soak event ${activity.event ?? 0}`, start: { dateTime: start.toISOString() }, end: { dateTime: new Date(start.getTime() + 1_800_000).toISOString() }, ...(eventType && { eventType }) });
        } else if (op === 'move' && events.length > 0) {
          const start = when();
          await admin.updateEvent(account.email, random.pick(events).id, { start: { dateTime: start.toISOString() }, end: { dateTime: new Date(start.getTime() + 1_800_000).toISOString() } });
        } else if (op === 'cancel' && events.length > 0) await admin.cancelEvent(account.email, random.pick(events).id);
        else continue;
        count(op);
      } catch {
        count('admin-refused');
      }
      if (Date.now() > nextChaos.kill) {
        nextChaos.kill = Date.now() + options.durationMs / 4;
        await killHost();
        count('host-killed');
        await sleep(200 + random.next() * 1500);
        await startHost();
      }
      if (Date.now() > nextChaos.expire) {
        nextChaos.expire = Date.now() + options.durationMs / 3;
        await admin.expireHistory(random.pick(accounts).email);
        count('history-expired');
      }
      for (const step of once.filter((o) => Date.now() > o.at)) {
        once.splice(once.indexOf(step), 1);
        await step.run();
        count(step.name);
      }
      if (Date.now() > nextChaos.invalidate) {
        nextChaos.invalidate = Date.now() + options.durationMs / 2;
        await admin.invalidateSyncTokens(random.pick(accounts).email);
        count('sync-tokens-invalidated');
      }
      progress(`activity ${JSON.stringify(activity)}`);
      await sleep(50 + random.next() * 150);
    }

    const injected = (await admin.stats()).injected;
    progress('activity over: clearing faults, letting the jobs catch up');
    await admin.setFaults({});
    await admin.clearLag();
    // The scheduled jobs' next cycle, 11 minutes on: every source is quiet by then, every
    // crashed lease long expired, and every change the lag hid readable (else one made in the
    // last seconds could be hidden from the one catch-up poll that lists its calendar).
    await admin.advanceClock(READ_LAG_MS);
    await admin.drainPushes();
    await killHost();
    await startHost(11 * 60_000);
    const settle = async () => {
      for (let i = 0; i < 120; i += 1) {
        const states = await Promise.all(accounts.map((a) => store.source(a.sourceId)));
        if (states.every((s) => s && !s.lease && !s.pending)) return;
        await sleep(500);
      }
      const states = await Promise.all(accounts.map(async (a) => `${a.email}: ${JSON.stringify(await store.source(a.sourceId))}`));
      progress(`not settled after 60 s: ${states.join('; ')}`);
    };
    for (let cycle = 0; cycle < 2; cycle += 1) {
      progress(`catch-up poll ${cycle + 1}`);
      await fetch(fn('fallbackPoll'), { method: 'POST' });
      await sleep(1000);
      await settle();
    }
    // Pushes flow again: one more mail each (starred, so that every rule's watch announces it) brings every source back to active.
    for (const account of accounts) await admin.deliverMail(account.email, { subject: 'all quiet', labelIds: ['INBOX', 'UNREAD', 'STARRED'] });
    await sleep(2500);
    await settle();

    let differences: string[] = [];
    let checked = 0;
    // A few extra poll cycles for changes still in flight; a cursor that skipped work would
    // not be repaired by them, so this cannot hide a loss.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      progress(`comparing with the ground truth (attempt ${attempt + 1})`);
      ({ differences, checked } = await compare(accounts, admin, store));
      if (differences.length === 0) break;
      await fetch(fn('fallbackPoll'), { method: 'POST' });
      await sleep(1500);
      await settle();
    }
    const statuses: Record<string, string> = {};
    for (const a of accounts) statuses[a.email] = (await store.source(a.sourceId))?.status ?? 'missing';
    for (const [email, status] of Object.entries(statuses)) if (status !== 'active') differences.push(`${email}: status ${status}, expected active`);

    const audit = await finalAudit(fn('auditCompleteness'), logFile);
    differences.push(...audit.repairs.map((r) => `the closing audit had to repair ${r}`));
    // What the killed hosts staged and never published: the sweep's turn (the host's clock is
    // 11 minutes on, so every entry is old enough for it).
    await fetch(fn('publishChanges'), { method: 'POST' });
    await consumer.drain();
    differences.push(...(await streamCheck(consumer, accounts, store, disconnected)));
    const logLeaks = await auditLogs(readFileSync(logFile, 'utf8'), accounts, admin);
    return { seed: options.seed, injected, activity, differences, logLeaks, statuses, checkedTasks: checked, audit, stream: consumer.counts };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

async function compare(accounts: Account[], admin: SandboxAdmin, store: Firestoreish) {
  const differences: string[] = [];
  let checked = 0;
  const tasksByUser = new Map<string, Map<string, { status: string; title: string; dueAt: string | null }>>();
  for (const a of accounts) if (!tasksByUser.has(a.userId)) tasksByUser.set(a.userId, await store.tasks(a.userId));
  for (const a of accounts) {
    const truth: AccountTruth = await admin.account(a.email);
    const tasks = tasksByUser.get(a.userId)!;
    const mine = new Map([...tasks].filter(([id]) => id.startsWith(`${a.sourceId}:`)));
    const known = new Set<string>();
    for (const m of truth.messages) {
      const id = `${a.sourceId}:gmail:${m.id}`;
      known.add(id);
      const task = mine.get(id);
      const isTask = truthIsTask(a.rule, m);
      if (isTask && task?.status !== 'open') differences.push(`${a.email} message ${m.id} (a task under ${JSON.stringify(a.rule)}): task ${task ? task.status : 'missing'}`);
      if (!isTask && task && task.status !== 'archived') differences.push(`${a.email} message ${m.id} (${m.deleted ? 'deleted' : 'no task under its rule'}): task ${task.status}`);
      if (task) checked += 1;
    }
    for (const e of truth.events) {
      const id = `${a.sourceId}:calendar:${e.id}`;
      known.add(id);
      const task = mine.get(id);
      if (e.status === 'confirmed' && e.eventType === 'birthday') {
        if (task && task.status === 'open') differences.push(`${a.email} birthday ${e.id} (left out by the rules): task open`);
      } else if (e.status === 'confirmed') {
        const start = 'dateTime' in e.start ? new Date(e.start.dateTime).toISOString() : null;
        if (task?.status !== 'open') differences.push(`${a.email} event ${e.id}: task ${task ? task.status : 'missing'}`);
        else if (task.title !== e.summary || (start !== null && task.dueAt !== null && new Date(task.dueAt).toISOString() !== start)) {
          differences.push(`${a.email} event ${e.id}: task shows "${task.title}" at ${task.dueAt}, event is "${e.summary}" at ${start}`);
        }
      } else if (task && task.status !== 'cancelled') differences.push(`${a.email} event ${e.id} (cancelled): task ${task.status}`);
      if (task) checked += 1;
    }
    if (a.second) checked += compareSecondCalendar(a, a.second, mine, known, differences);
    for (const id of mine.keys()) if (!known.has(id)) differences.push(`${a.email}: task ${id} has no message or event`);
  }
  return { differences, checked };
}

/** No refresh token, access token or channel token may appear in any log line. */
async function auditLogs(log: string, accounts: { email: string }[], admin: SandboxAdmin): Promise<string[]> {
  const secrets: string[] = [];
  for (const a of accounts) secrets.push(...(await admin.refreshTokens(a.email)).refreshTokens);
  secrets.push(...(await admin.channels()).channels.map((c) => c.token).filter((t): t is string => t !== null));
  const leaks = secrets.filter((s) => log.includes(s)).map((s) => `secret ${s.slice(0, 12)}… appears in the log`);
  if (/ya29\.[A-Za-z0-9_-]{10,}/.test(log)) leaks.push('an access token (ya29.…) appears in the log');
  // Cloud Run logs every request URL: the ones we shape carry no login hint, code, link id or
  // ID token (only Google's redirect to the callback carries a code, and that URL is Google's).
  const requestUrls = log.split('\n').flatMap((l) => /"requestUrl":"([^"]*)"/.exec(l)?.[1] ?? []);
  if (requestUrls.length === 0) leaks.push('the host logged no request lines: request URLs were not audited');
  for (const url of requestUrls) {
    if (!url.startsWith('/connectCallback/callback') && /[?&](loginHint|login_hint|code|idToken|link)=/.test(url)) leaks.push(`a request URL carries a secret or an address: ${url.split('?')[0]}`);
  }
  if (log.split('\n').filter(Boolean).length === 0) leaks.push('the functions wrote no log lines at all: nothing was audited');
  return leaks;
}

/** Creates a second calendar for the account and chooses it (with the primary one) through connect /calendars. */
async function chooseSecondCalendar(admin: SandboxAdmin, connectUrl: string, idToken: string, account: Account): Promise<SecondCalendar> {
  const { id } = await admin.createCalendar(account.email, 'Soak work');
  const response = await fetch(`${connectUrl}/calendars`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${idToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ sourceId: account.sourceId, selection: ['primary', id], eventRules: SECOND_CALENDAR_RULES }),
  });
  if (response.status !== 200) throw new Error(`choosing calendars failed for ${account.email}: ${response.status} ${await response.text()}`);
  return { id, events: new Map() };
}

/** One change on the second calendar (a new event, some of them focus time, a move or a cancellation), recorded as its truth once the sandbox took it. */
async function secondCalendarEvent(admin: SandboxAdmin, account: Account, second: SecondCalendar, random: Seeded, start: Date): Promise<void> {
  const live = [...second.events].filter(([, e]) => !e.cancelled);
  const pick = random.next();
  const range = { start: { dateTime: start.toISOString() }, end: { dateTime: new Date(start.getTime() + 1_800_000).toISOString() } };
  if (pick < 0.2 && live.length > 0) {
    const [id, event] = random.pick(live);
    await admin.cancelEvent(account.email, id, second.id);
    event.cancelled = true;
  } else if (pick < 0.4 && live.length > 0) {
    const [id, event] = random.pick(live);
    await admin.updateEvent(account.email, id, range, second.id);
    event.start = start.toISOString();
  } else {
    const focus = random.next() < 0.2;
    const summary = `soak work event ${second.events.size}`;
    const { id } = await admin.createEvent(account.email, { summary, ...range, calendarId: second.id, ...(focus && { eventType: 'focusTime' as const }) });
    second.events.set(id, { summary, start: start.toISOString(), cancelled: false, focus });
  }
}

function compareSecondCalendar(a: Account, second: SecondCalendar, mine: Map<string, { status: string; title: string; dueAt: string | null }>, known: Set<string>, differences: string[]): number {
  let checked = 0;
  for (const [eventId, e] of second.events) {
    const id = `${a.sourceId}:calendar:${encodeURIComponent(second.id)}:${eventId}`;
    known.add(id);
    const task = mine.get(id);
    if (task) checked += 1;
    if (e.cancelled || e.focus) {
      if (task && task.status === 'open') differences.push(`${a.email} second-calendar event ${eventId} (${e.cancelled ? 'cancelled' : 'left out by the rules'}): task open`);
    } else if (task?.status !== 'open') differences.push(`${a.email} second-calendar event ${eventId}: task ${task ? task.status : 'missing'}`);
    else if (task.title !== e.summary || (task.dueAt !== null && new Date(task.dueAt).toISOString() !== new Date(e.start).toISOString())) {
      differences.push(`${a.email} second-calendar event ${eventId}: task shows "${task.title}" at ${task.dueAt}, event is "${e.summary}" at ${e.start}`);
    }
  }
  return checked;
}
