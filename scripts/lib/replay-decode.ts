import * as z from 'zod';
import type { ReceivedMessage } from './replay-pubsub';

/**
 * What a dead-lettered message is, for an operator: Pub/Sub adds
 * `CloudPubSubDeadLetterSourceSubscription` (+ `…SubscriptionProject`), `…DeliveryCount` and
 * `…TopicPublishTime` when it dead-letters; the data is ours (a sync request, or Gmail's
 * `{emailAddress, historyId}`). Email addresses are masked: the output ends up in terminals
 * and tickets.
 */

const DEAD_LETTER_PREFIX = 'CloudPubSubDeadLetterSource';

export interface DeadLetter {
  ackId: string;
  messageId: string;
  /** `projects/P/subscriptions/S` the message failed on; null when Pub/Sub did not say. */
  sourceSubscription: string | null;
  attempts: number | null;
  /** When the message was first published (its first delivery failed soon after). */
  firstPublished: string | null;
  deadLetteredAt: string | null;
  source: string;
  trigger: string;
  /** The message as it was first published: data and our own attributes. */
  original: { data: string; attributes: Record<string, string> };
}

const syncRequestSchema = z.object({ sourceId: z.string(), trigger: z.string() });
const gmailNotificationSchema = z.object({ emailAddress: z.string(), historyId: z.union([z.string(), z.number()]) });

export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}

function describeData(data: string): { source: string; trigger: string } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch {
    return { source: '(undecodable data)', trigger: '?' };
  }
  const request = syncRequestSchema.safeParse(json);
  if (request.success) return { source: request.data.sourceId, trigger: request.data.trigger };
  const gmail = gmailNotificationSchema.safeParse(json);
  if (gmail.success) return { source: `gmail ${maskEmail(gmail.data.emailAddress)} history ${gmail.data.historyId}`, trigger: 'push' };
  return { source: '(unknown payload)', trigger: '?' };
}

export function decodeDeadLetter(received: ReceivedMessage): DeadLetter {
  const attributes = received.message.attributes ?? {};
  const subscription = attributes[`${DEAD_LETTER_PREFIX}Subscription`];
  const project = attributes[`${DEAD_LETTER_PREFIX}SubscriptionProject`];
  const count = Number(attributes[`${DEAD_LETTER_PREFIX}DeliveryCount`]);
  const data = received.message.data ?? '';
  const ours = Object.fromEntries(Object.entries(attributes).filter(([key]) => !key.startsWith(DEAD_LETTER_PREFIX)));
  return {
    ackId: received.ackId,
    messageId: received.message.messageId,
    sourceSubscription: subscription && project ? `projects/${project}/subscriptions/${subscription}` : null,
    attempts: Number.isInteger(count) ? count : null,
    firstPublished: attributes[`${DEAD_LETTER_PREFIX}TopicPublishTime`] ?? null,
    deadLetteredAt: received.message.publishTime ?? null,
    ...describeData(data),
    original: { data, attributes: ours },
  };
}
