import type { IncomingMessage } from 'node:http';
import type { Services } from '../../functions/src/entry/services';
import type { FollowUpScheduler } from '../../functions/src/engine/runner/follow-up';
import type { SyncRequest, SyncRequestPublisher } from '../../functions/src/engine/jobs/ports';

/**
 * What one functions host process used, beyond Firestore operations, for the cost model:
 * per function its invocations and the time an instance was busy serving it (what Cloud Run
 * bills under request-based billing: from the first request in until the last one out,
 * rounded up to 100 ms per busy spell), the bytes of structured log and of request log it
 * wrote, KMS decrypts, Cloud Tasks calls and sync requests published.
 */
export interface FunctionUsage {
  invocations: number;
  /** Busy spells, each rounded up to 100 ms: the instance time billed. */
  billableMs: number;
  /** Sum of every request's own duration: what it would cost with one request per instance. */
  requestMs: number;
  /** Request bodies (Pub/Sub pushes carry the message). */
  bodyBytes: number;
}

export interface Usage {
  functions: Record<string, FunctionUsage>;
  /** Structured log lines the functions wrote, and their bytes. */
  logLines: number;
  logBytes: number;
  /** The request log line per request (what Cloud Run writes for every request). */
  requestLogLines: number;
  requestLogBytes: number;
  kmsDecrypts: number;
  /** Cloud Tasks create calls (a duplicate is refused, and still billed as an operation). */
  cloudTasksCreates: number;
  syncRequestsPublished: number;
  syncRequestBytes: number;
  cpuMs: number;
}

/**
 * What is under way in one host process and what it has finished since it started, never
 * reset: the bench's idle check compares the messages acknowledged with those published.
 */
export interface Flow {
  /** Requests being served now. */
  inFlight: number;
  syncRequestsPublished: number;
  /** Per function, requests answered with a status Pub/Sub and Cloud Tasks take as done (2xx, 102). */
  acknowledged: Record<string, number>;
}

export const emptyUsage = (): Usage => ({
  functions: {},
  logLines: 0,
  logBytes: 0,
  requestLogLines: 0,
  requestLogBytes: 0,
  kmsDecrypts: 0,
  cloudTasksCreates: 0,
  syncRequestsPublished: 0,
  syncRequestBytes: 0,
  cpuMs: 0,
});

export function sumFlow(all: Flow[]): Flow {
  const acknowledged: Record<string, number> = {};
  for (const f of all) for (const [name, n] of Object.entries(f.acknowledged)) acknowledged[name] = (acknowledged[name] ?? 0) + n;
  return { inFlight: all.reduce((a, f) => a + f.inFlight, 0), syncRequestsPublished: all.reduce((a, f) => a + f.syncRequestsPublished, 0), acknowledged };
}

/** A push endpoint's answers that end a delivery (any other status is retried). */
export const acknowledges = (status: number): boolean => (status >= 200 && status < 300) || status === 102;

export function sumUsage(all: Usage[]): Usage {
  const total = emptyUsage();
  for (const u of all) {
    for (const key of ['logLines', 'logBytes', 'requestLogLines', 'requestLogBytes', 'kmsDecrypts', 'cloudTasksCreates', 'syncRequestsPublished', 'syncRequestBytes', 'cpuMs'] as const) total[key] += u[key];
    for (const [name, f] of Object.entries(u.functions)) {
      const t = (total.functions[name] ??= { invocations: 0, billableMs: 0, requestMs: 0, bodyBytes: 0 });
      t.invocations += f.invocations;
      t.billableMs += f.billableMs;
      t.requestMs += f.requestMs;
      t.bodyBytes += f.bodyBytes;
    }
  }
  return total;
}

const BILLING_GRANULE_MS = 100;

/** Meters one host process: install once, read with `usage()`, restart with `reset()`. */
export class UsageMeter {
  private current = emptyUsage();
  private readonly busy = new Map<string, { inFlight: number; since: number }>();
  private cpuAtReset = process.cpuUsage();
  private readonly lifetime: Flow = { inFlight: 0, syncRequestsPublished: 0, acknowledged: {} };

  /** The host's request observer: call at a request's start, the result at its end with the response's status. */
  observe = (name: string, req: IncomingMessage): ((status: number) => void) => {
    const started = Date.now();
    this.lifetime.inFlight += 1;
    const f = (this.current.functions[name] ??= { invocations: 0, billableMs: 0, requestMs: 0, bodyBytes: 0 });
    f.invocations += 1;
    f.bodyBytes += Number(req.headers['content-length'] ?? 0);
    const spell = this.busy.get(name) ?? { inFlight: 0, since: started };
    if (spell.inFlight === 0) spell.since = started;
    spell.inFlight += 1;
    this.busy.set(name, spell);
    let ended = false;
    return (status) => {
      if (ended) return;
      ended = true;
      this.lifetime.inFlight -= 1;
      if (acknowledges(status)) this.lifetime.acknowledged[name] = (this.lifetime.acknowledged[name] ?? 0) + 1;
      const now = Date.now();
      const g = (this.current.functions[name] ??= { invocations: 0, billableMs: 0, requestMs: 0, bodyBytes: 0 });
      g.requestMs += now - started;
      spell.inFlight -= 1;
      if (spell.inFlight === 0) g.billableMs += Math.ceil(Math.max(1, now - spell.since) / BILLING_GRANULE_MS) * BILLING_GRANULE_MS;
    };
  };

  /** Counts a structured log line (wrap the logger's writer with it). */
  logLine = (line: string): void => {
    this.current.logLines += 1;
    this.current.logBytes += Buffer.byteLength(line) + 1;
  };

  requestLogLine = (line: string): void => {
    this.current.requestLogLines += 1;
    this.current.requestLogBytes += Buffer.byteLength(line) + 1;
  };

  /** Counts KMS decrypts (opening a sealed token) and sync-request publishes on the services' own objects. */
  install(services: Services): void {
    const vault = services.vault;
    const open = vault.open.bind(vault);
    vault.open = (...args) => {
      this.current.kmsDecrypts += 1;
      return open(...args);
    };
    onPublish(services.publisher, (request) => {
      this.current.syncRequestsPublished += 1;
      this.lifetime.syncRequestsPublished += 1;
      this.current.syncRequestBytes += Buffer.byteLength(JSON.stringify(request));
    });
  }

  /** The follow-up scheduler the runner is built with, counting its Cloud Tasks create calls. */
  countFollowUps(inner: FollowUpScheduler): FollowUpScheduler {
    return {
      schedule: (...args) => {
        this.current.cloudTasksCreates += 1;
        return inner.schedule(...args);
      },
    };
  }

  flow(): Flow {
    return { ...this.lifetime, acknowledged: { ...this.lifetime.acknowledged } };
  }

  usage(): Usage {
    const cpu = process.cpuUsage(this.cpuAtReset);
    return { ...this.current, cpuMs: Math.round((cpu.user + cpu.system) / 1000) };
  }

  reset(): void {
    this.current = emptyUsage();
    this.cpuAtReset = process.cpuUsage();
  }
}

/** Shows `see` each sync request the publisher publishes, patching it in place. */
export function onPublish(publisher: SyncRequestPublisher, see: (request: SyncRequest) => void): void {
  const publish = publisher.publish.bind(publisher);
  publisher.publish = (request) => {
    see(request);
    return publish(request);
  };
}
