/** What the engine needs from Gmail. */

export interface GmailHistoryRecord {
  id: string;
  messagesAdded: string[];
  messagesDeleted: string[];
  labelsAdded: { messageId: string; labelIds: string[] }[];
  labelsRemoved: { messageId: string; labelIds: string[] }[];
}

export interface GmailMessageMetadata {
  id: string;
  labelIds: string[];
  subject: string | null;
  from: string | null;
  date: string | null;
  /** The `List-Unsubscribe` and `Precedence` headers (read by the rule's bulk exclusion). */
  listUnsubscribe: string | null;
  precedence: string | null;
  internalDate: Date | null;
}

/** What history.list is asked for: only the records the task rule needs. */
export interface GmailHistoryFilter {
  labelId?: string;
  historyTypes?: readonly ('messageAdded' | 'messageDeleted' | 'labelAdded' | 'labelRemoved')[];
}

/** A label as users.labels.list shows it. */
export interface GmailLabel {
  id: string;
  name: string;
  type: 'system' | 'user';
}

export interface GmailApi {
  getProfile(): Promise<{ emailAddress: string; historyId: string }>;
  listHistory(startHistoryId: string, pageToken: string | null, maxResults: number, filter?: GmailHistoryFilter): Promise<{
    records: GmailHistoryRecord[];
    historyId: string;
    nextPageToken: string | null;
  }>;
  listMessageIds(labelId: string, pageToken: string | null, maxResults: number): Promise<{ ids: string[]; nextPageToken: string | null }>;
  /** Metadata of several messages (batched by the adapter); a message that no longer exists maps to `null`. */
  getMessagesMetadata(ids: readonly string[]): Promise<Map<string, GmailMessageMetadata | null>>;
  listLabels(): Promise<GmailLabel[]>;
  watch(topicName: string, labelIds: string[]): Promise<{ historyId: string; expiration: Date }>;
  stop(): Promise<void>;
}
