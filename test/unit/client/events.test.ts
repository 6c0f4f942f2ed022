import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseChangeEvent, taskChangedEvent, sourceStatusEvent, VersionGate, type TaskChange } from '../../../client/src/events';
import { connectOutcome } from '../../../client/src/connect';
import { renderSchemas, SCHEMA_DIR } from '../../../scripts/client-schemas';

const change: TaskChange = { userId: 'u1', sourceId: 's1', taskId: 's1:gmail:m1', origin: 'gmail', externalId: 'm1', title: 'Hello', dueAt: null, link: null, status: 'open', version: 1, change: 'created' };
const at = new Date('2026-12-07T10:00:00Z');

describe('the client package: events', () => {
  it('parses a push delivery\'s base64 data and a pull\'s text into the checked event, and refuses a malformed one', () => {
    const event = taskChangedEvent(change, at);
    const base64 = Buffer.from(JSON.stringify(event)).toString('base64');
    expect(parseChangeEvent(base64)).toEqual(event);
    expect(parseChangeEvent(JSON.stringify(event), 'utf8')).toEqual(event);
    expect(() => parseChangeEvent(JSON.stringify({ ...event, data: { ...change, version: 0 } }), 'utf8')).toThrow();
    expect(() => parseChangeEvent(JSON.stringify({ ...event, type: 'dev.pushsync.task.changed.v0' }), 'utf8')).toThrow();
  });

  it('drops duplicates and stale deliveries by version, per subject', () => {
    const gate = new VersionGate();
    const v = (version: number) => taskChangedEvent({ ...change, version }, at);
    expect([v(1), v(1), v(3), v(2), v(4)].map((e) => gate.accept(e))).toEqual([true, false, true, false, true]);
    const status = sourceStatusEvent({ userId: 'u1', sourceId: 's1', email: 'a@example.com', status: 'disconnected', reason: 'revoked', polling: false, version: 1 }, at);
    expect(gate.accept(status)).toBe(true);
  });

  it('ships JSON Schema files generated from the same schemas (regenerate: npx tsx scripts/client-schemas.ts)', () => {
    for (const [name, text] of Object.entries(renderSchemas())) expect(readFileSync(join(__dirname, '../../..', SCHEMA_DIR, name), 'utf8')).toBe(text);
  });

  it('reads the connect outcome from the return URL\'s fragment', () => {
    expect(connectOutcome('#status=confirm&link=abc')).toEqual({ status: 'confirm', link: 'abc' });
    expect(connectOutcome('#status=denied')).toEqual({ status: 'denied' });
    expect(connectOutcome('')).toBeNull();
  });
});
