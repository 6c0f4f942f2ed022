import { decodeDeadLetter, maskEmail } from '../../scripts/lib/replay-decode';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');
const deadLettered = {
  CloudPubSubDeadLetterSourceSubscription: 'gmail-push',
  CloudPubSubDeadLetterSourceSubscriptionProject: 'my-project',
  CloudPubSubDeadLetterSourceDeliveryCount: '7',
  CloudPubSubDeadLetterSourceTopicPublishTime: '2026-11-25T04:00:00.000Z',
};

test('a dead-lettered Gmail notification: masked mailbox, attempts, times, and the original without Pub/Sub\'s attributes', () => {
  const letter = decodeDeadLetter({
    ackId: 'a1',
    message: { messageId: 'm1', publishTime: '2026-11-25T04:05:00.000Z', data: b64({ emailAddress: 'ada@example.com', historyId: 1234 }), attributes: { ...deadLettered, origin: 'gmail' } },
  });
  expect(letter).toMatchObject({
    sourceSubscription: 'projects/my-project/subscriptions/gmail-push',
    attempts: 7,
    firstPublished: '2026-11-25T04:00:00.000Z',
    deadLetteredAt: '2026-11-25T04:05:00.000Z',
    source: 'gmail a***@example.com history 1234',
    trigger: 'push',
    original: { attributes: { origin: 'gmail' } },
  });
});

test('a message Pub/Sub did not dead-letter, or whose data is not ours, is still described', () => {
  const letter = decodeDeadLetter({ ackId: 'a2', message: { messageId: 'm2', data: b64('not json') } });
  expect(letter).toMatchObject({ sourceSubscription: null, attempts: null, source: '(undecodable data)', trigger: '?' });
  expect(decodeDeadLetter({ ackId: 'a3', message: { messageId: 'm3', data: b64({ hello: 1 }) } }).source).toBe('(unknown payload)');
});

test('email addresses are masked', () => {
  expect(maskEmail('grace@example.com')).toBe('g***@example.com');
});
