import { asUser } from '../../support/connect';
import { startEngineStack, type EngineStack } from '../../support/engine-stack';

/**
 * What a caller learns from a failure: bad input is a JSON 4xx, an error no handler expected
 * a JSON 500 that names nothing internal (whatever NODE_ENV says), and no answer is HTML
 * that a browser would sniff, frame or render.
 */

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

const LONE_SURROGATES = ['\ud800', 'a\udfffb', 'src-\udc00\ud800'];

describe('error responses', () => {
  it.each(LONE_SURROGATES)('refuses the id %j with a JSON 400 that does not echo it', async (id) => {
    const answers = [
      await fetch(stack.functionUrl('registerWatch'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sourceId: id }) }),
      await fetch(stack.functionUrl('gmailFollowUp'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sourceId: id }) }),
      await asUser(stack, 'user-surrogate', 'disconnect', { method: 'POST', body: { sourceId: id } }),
    ];
    for (const response of answers) {
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.text()).not.toContain(JSON.stringify(id).slice(1, -1));
    }
  });

  it('answers an unexpected error with a JSON 500 that names nothing internal', async () => {
    // A document that fails its schema: the store throws, naming the document and its fields.
    await stack.db.doc('sources/src-malformed').set({ userId: 42, email: 'malformed@example.com' });
    const response = await fetch(stack.functionUrl('registerWatch'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sourceId: 'src-malformed' }) });
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.json()).toEqual({ error: 'internal error' });
    const logged = stack.logLines.map((l) => JSON.parse(l) as { message: string; errorClass?: string }).find((l) => l.message === 'request failed unexpectedly');
    expect(logged?.errorClass).toBe('MalformedDocumentError');
  });

  it('sends nosniff, no-referrer and a deny-all CSP on every answer', async () => {
    const answers = [
      await fetch(`${stack.functionUrl('connectCallback')}/callback?state=x`),
      await fetch(stack.functionUrl('calendarPush'), { method: 'POST' }),
      await fetch(`${stack.functionUrl('connect')}/nope`),
    ];
    for (const response of answers) {
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    }
  });
});
