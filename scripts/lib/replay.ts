import { decodeDeadLetter, type DeadLetter } from './replay-decode';
import type { PubSubRest } from './replay-pubsub';

/**
 * Dead-letter replay: pull what sits in a dead-letter subscription, show it, and (unless a dry
 * run) re-publish each message to the topic of the subscription it failed on, acknowledging
 * it only once the publish succeeded. Anything not re-published is released for the next run.
 */

export interface ReplayOptions {
  /** `projects/P/subscriptions/S`: the dead-letter topic's subscription. */
  subscription: string;
  dryRun: boolean;
  limit: number;
}

export interface ReplayOutcome {
  listed: number;
  republished: number;
  failed: number;
}

const PULL_BATCH = 100;
/** Pulls that came back empty before the subscription counts as drained. */
const EMPTY_PULLS = 3;

export async function replayDeadLetters(pubsub: PubSubRest, options: ReplayOptions, report: (line: string) => void): Promise<ReplayOutcome> {
  const outcome: ReplayOutcome = { listed: 0, republished: 0, failed: 0 };
  const seen = new Set<string>();
  const held: string[] = [];
  const topics = new Map<string, string>();
  let empty = 0;
  try {
    while (outcome.listed < options.limit && empty < EMPTY_PULLS) {
      const batch = await pubsub.pull(options.subscription, Math.min(PULL_BATCH, options.limit - outcome.listed));
      // A message we already handled came back (its ack deadline passed): the backlog is done.
      const fresh = batch.filter((m) => !seen.has(m.message.messageId));
      held.push(...batch.filter((m) => seen.has(m.message.messageId)).map((m) => m.ackId));
      empty = fresh.length === 0 ? empty + 1 : 0;
      for (const received of fresh) {
        if (outcome.listed >= options.limit) {
          held.push(received.ackId);
          continue;
        }
        seen.add(received.message.messageId);
        outcome.listed += 1;
        const letter = decodeDeadLetter(received);
        report(describe(letter));
        if (options.dryRun) {
          held.push(letter.ackId);
          continue;
        }
        try {
          const topic = await originalTopic(pubsub, letter, topics);
          const id = await pubsub.publish(topic, letter.original);
          await pubsub.acknowledge(options.subscription, [letter.ackId]);
          outcome.republished += 1;
          report(`  → re-published to ${topic} as ${id}`);
        } catch (error) {
          outcome.failed += 1;
          held.push(letter.ackId);
          report(`  ✗ not re-published (left in the dead-letter subscription): ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
  } finally {
    // Listed but not re-published: make them available again right away.
    await pubsub.release(options.subscription, held);
  }
  return outcome;
}

async function originalTopic(pubsub: PubSubRest, letter: DeadLetter, cache: Map<string, string>): Promise<string> {
  if (letter.sourceSubscription === null) throw new Error('the message carries no CloudPubSubDeadLetterSourceSubscription attribute: not a dead-lettered message');
  let topic = cache.get(letter.sourceSubscription);
  if (topic === undefined) {
    topic = await pubsub.topicOf(letter.sourceSubscription);
    cache.set(letter.sourceSubscription, topic);
  }
  return topic;
}

function describe(letter: DeadLetter): string {
  const attempts = letter.attempts === null ? '? attempts' : `${letter.attempts} attempts`;
  return `${letter.messageId}  ${letter.source}  trigger ${letter.trigger}  ${attempts}  first published ${letter.firstPublished ?? '?'}  dead-lettered ${letter.deadLetteredAt ?? '?'}  from ${letter.sourceSubscription ?? '?'}`;
}
