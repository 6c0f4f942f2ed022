import type { gmail_v1 } from '@googleapis/gmail';
import type { GmailApi, GmailHistoryFilter, GmailHistoryRecord, GmailLabel, GmailMessageMetadata } from '../engine/gmail/ports';
import type { OAuth2Client } from 'google-auth-library';
import { GmailBatch } from './gmail-batch';
import { RULE_HEADERS } from '../engine/gmail/rule';
import type { LimitedCall } from './limited-call';

/** Gmail for one account, over @googleapis/gmail, every call through the account's limiter. */

/** Headers only (the scope is gmail.metadata): what a task shows and what the rule reads. */
const METADATA_HEADERS = ['From', 'Subject', 'Date', ...RULE_HEADERS];

/** Gmail quota units per method (messages.get's cost depends on the project: configuration). */
const UNITS = { getProfile: 1, historyList: 2, messagesList: 5, labelsList: 1, watch: 100, stop: 50 } as const;

function toRecord(h: gmail_v1.Schema$History): GmailHistoryRecord {
  const ids = (list: { message?: gmail_v1.Schema$Message }[] | undefined) =>
    (list ?? []).map((m) => m.message?.id).filter((id): id is string => typeof id === 'string');
  const labelChanges = (list: { message?: gmail_v1.Schema$Message; labelIds?: string[] | null }[] | undefined) =>
    (list ?? [])
      .filter((c) => typeof c.message?.id === 'string')
      .map((c) => ({ messageId: c.message!.id!, labelIds: c.labelIds ?? [] }));
  return {
    id: h.id ?? '0',
    messagesAdded: ids(h.messagesAdded),
    messagesDeleted: ids(h.messagesDeleted),
    labelsAdded: labelChanges(h.labelsAdded),
    labelsRemoved: labelChanges(h.labelsRemoved),
  };
}

function header(message: gmail_v1.Schema$Message, name: string): string | null {
  const found = message.payload?.headers?.find((h) => h.name?.toLowerCase() === name.toLowerCase());
  return found?.value ?? null;
}

/** A messages.get resource as the engine's metadata. */
export function toMetadata(id: string, data: gmail_v1.Schema$Message): GmailMessageMetadata {
  return {
    id,
    labelIds: data.labelIds ?? [],
    subject: header(data, 'Subject'),
    from: header(data, 'From'),
    date: header(data, 'Date'),
    listUnsubscribe: header(data, 'List-Unsubscribe'),
    precedence: header(data, 'Precedence'),
    internalDate: data.internalDate ? new Date(Number(data.internalDate)) : null,
  };
}

export class GmailAdapter implements GmailApi {
  private readonly batch: GmailBatch;

  constructor(
    private readonly client: gmail_v1.Gmail,
    private readonly call: LimitedCall,
    batch: { auth: OAuth2Client; rootUrl: string; unitsPerGet: number },
  ) {
    this.batch = new GmailBatch(batch.auth, batch.rootUrl, call, METADATA_HEADERS, toMetadata, batch.unitsPerGet);
  }

  /** Many messages' metadata in batch requests (≤ 50 parts each). */
  getMessagesMetadata(ids: readonly string[]): Promise<Map<string, GmailMessageMetadata | null>> {
    return this.batch.getMessagesMetadata(ids);
  }

  async getProfile() {
    const { data } = await this.call('gmail.getProfile', () => this.client.users.getProfile({ userId: 'me' }), UNITS.getProfile);
    return { emailAddress: data.emailAddress ?? '', historyId: data.historyId ?? '0' };
  }

  async listHistory(startHistoryId: string, pageToken: string | null, maxResults: number, filter: GmailHistoryFilter = {}) {
    const { data } = await this.call('gmail.history.list', () =>
      this.client.users.history.list({
        userId: 'me',
        startHistoryId,
        maxResults,
        ...(pageToken !== null && { pageToken }),
        ...(filter.labelId !== undefined && { labelId: filter.labelId }),
        ...(filter.historyTypes !== undefined && { historyTypes: [...filter.historyTypes] }),
      }),
      UNITS.historyList,
    );
    return {
      records: (data.history ?? []).map(toRecord),
      historyId: data.historyId ?? startHistoryId,
      nextPageToken: data.nextPageToken ?? null,
    };
  }

  async listMessageIds(labelId: string, pageToken: string | null, maxResults: number) {
    const { data } = await this.call('gmail.messages.list', () =>
      this.client.users.messages.list({ userId: 'me', labelIds: [labelId], maxResults, ...(pageToken !== null && { pageToken }) }),
      UNITS.messagesList,
    );
    return {
      ids: (data.messages ?? []).map((m) => m.id).filter((id): id is string => typeof id === 'string'),
      nextPageToken: data.nextPageToken ?? null,
    };
  }

  async listLabels(): Promise<GmailLabel[]> {
    const { data } = await this.call('gmail.users.labels.list', () => this.client.users.labels.list({ userId: 'me' }), UNITS.labelsList);
    return (data.labels ?? [])
      .filter((l): l is gmail_v1.Schema$Label & { id: string } => typeof l.id === 'string')
      .map((l) => ({ id: l.id, name: l.name ?? l.id, type: l.type === 'user' ? 'user' : 'system' }));
  }

  async watch(topicName: string, labelIds: string[]) {
    const { data } = await this.call('gmail.watch', () =>
      this.client.users.watch({ userId: 'me', requestBody: { topicName, labelIds, labelFilterBehavior: 'include' } }),
      UNITS.watch,
    );
    return { historyId: data.historyId ?? '0', expiration: new Date(Number(data.expiration ?? 0)) };
  }

  async stop() {
    await this.call('gmail.stop', () => this.client.users.stop({ userId: 'me' }), UNITS.stop);
  }
}
