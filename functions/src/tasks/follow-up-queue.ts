import type { protos } from '@google-cloud/tasks';
import type { Config } from '../config';
import { createHash, randomBytes } from 'node:crypto';
import type { CalendarLook, FollowUpScheduler, LookFrom } from '../engine/runner/follow-up';

/**
 * Gmail tail looks as Cloud Tasks tasks: one named task per source and due time (the engine
 * puts due times on a grid), so the looks several passes ask for collapse into one (Cloud
 * Tasks answers ALREADY_EXISTS),
 * dispatched to `gmailFollowUp` with an OIDC token of the invoker account. The client loads
 * on first use and speaks REST (`fallback: true`), which also lets it talk to the sandbox.
 */

/** What this adapter uses of the client (loaded with import(), so typed structurally). */
interface CloudTasksClient {
  createTask(request: protos.google.cloud.tasks.v2.ICreateTaskRequest): Promise<unknown>;
  close(): Promise<void>;
}

export type FollowUpQueueConfig = NonNullable<Config['followUps']>;

/** gRPC's ALREADY_EXISTS, which the REST fallback maps Cloud Tasks' 409 to. */
const ALREADY_EXISTS = 6;

/**
 * Cloud Tasks ids allow letters, digits, `-` and `_`: the source id goes in as hex. A Calendar
 * look's id names its calendars (hashed), so it collapses only with a look at the same ones. A
 * walk's look gets a name of its own: one that came early asks for the same time again, and the
 * spent name (taken for an hour) would swallow it.
 */
export function followUpTaskId(sourceId: string, at: Date, from: LookFrom | null = null, calendar?: CalendarLook): string {
  const source = Buffer.from(sourceId, 'utf8').toString('hex');
  if (calendar !== undefined) {
    const calendars = createHash('sha256').update(calendar.calendars.join('\n')).digest('hex').slice(0, 16);
    return `calendar-${source}-${calendars}-${at.getTime()}`;
  }
  const id = `gmail-${source}-${at.getTime()}`;
  return from?.walkAt === undefined ? id : `${id}-walk-${randomBytes(6).toString('hex')}`;
}

type FollowUpBody = { sourceId: string; after?: string; credentialsAt?: string; labelId?: string; retry?: number; walkAt?: string; calendars?: string[]; calendarRetry?: number };

/** The look's request body, as `gmailFollowUp` parses it. */
export function followUpBody(sourceId: string, from: LookFrom | null, calendar?: CalendarLook): FollowUpBody {
  if (calendar !== undefined) return { sourceId, calendars: calendar.calendars, calendarRetry: calendar.retry };
  if (from === null) return { sourceId };
  const { retry, walkAt } = from;
  return { sourceId, after: from.historyId, credentialsAt: from.credentialsAt.toISOString(), labelId: from.labelId, ...(retry !== undefined && { retry }), ...(walkAt !== undefined && { walkAt: walkAt.toISOString() }) };
}

export class CloudTasksFollowUps implements FollowUpScheduler {
  private client: Promise<CloudTasksClient> | undefined;

  constructor(private readonly config: FollowUpQueueConfig) {}

  private tasks(): Promise<CloudTasksClient> {
    return (this.client ??= this.createClient());
  }

  private async createClient(): Promise<CloudTasksClient> {
    const { CloudTasksClient } = await import('@google-cloud/tasks');
    const api = this.config.apiUrl;
    if (api === undefined) return new CloudTasksClient({ fallback: true });
    // A local stand-in (the sandbox): plain HTTP, and a token it accepts instead of ADC.
    const { OAuth2Client } = await import('google-auth-library');
    const authClient = new OAuth2Client({ transporterOptions: { fetchImplementation: fetch } });
    authClient.setCredentials({ access_token: 'local-stand-in', expiry_date: Number.MAX_SAFE_INTEGER });
    const url = new URL(api);
    return new CloudTasksClient({ fallback: true, apiEndpoint: url.hostname, port: Number(url.port), protocol: url.protocol.replace(':', ''), authClient });
  }

  async schedule(sourceId: string, at: Date, from: LookFrom | null, calendar?: CalendarLook): Promise<'scheduled' | 'duplicate'> {
    const { queue, url, invoker } = this.config;
    const client = await this.tasks();
    try {
      await client.createTask({
        parent: queue,
        task: {
          name: `${queue}/tasks/${followUpTaskId(sourceId, at, from, calendar)}`,
          scheduleTime: { seconds: Math.floor(at.getTime() / 1000), nanos: (at.getTime() % 1000) * 1_000_000 },
          httpRequest: {
            url,
            httpMethod: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: Buffer.from(JSON.stringify(followUpBody(sourceId, from, calendar))),
            oidcToken: { serviceAccountEmail: invoker, audience: url },
          },
        },
      });
      return 'scheduled';
    } catch (error) {
      if ((error as { code?: unknown }).code === ALREADY_EXISTS) return 'duplicate';
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.client) await (await this.client).close();
  }
}
