import { signIdToken } from '../../../sandbox/src/identity-keys';
import { asUser } from '../../support/connect';
import { registerWatch, startEngineStack, type EngineStack } from '../../support/engine-stack';

/** The `connect` function's routes for a source's Gmail intake rule and its labels. */

const SERVER = 'backend@demo-project.iam.gserviceaccount.com';
let stack: EngineStack;
let labelId: string;
beforeAll(async () => {
  stack = await startEngineStack({ env: { CONNECT_SERVER_CALLERS: SERVER } });
  await stack.connect('src-rules', 'rules@example.com', 'user-owner');
  expect((await registerWatch(stack, 'src-rules')).status).toBe(200);
  labelId = (await stack.admin.createLabel('rules@example.com', 'Follow up')).id;
});
afterAll(() => stack.close());

const now = () => Math.floor(Date.now() / 1000);
const rules = (userId: string, init: { method?: string; body?: unknown } = {}, sourceId = 'src-rules') => asUser(stack, userId, `rules?sourceId=${sourceId}`, init);
const storedRule = async () => (await stack.services.sources.get('src-rules'))!.gmailRule;

describe('GET/PUT /rules and GET /labels', () => {
  it('reads the default rule (version 0) of a source that never set one', async () => {
    const response = await rules('user-owner');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      sourceId: 'src-rules',
      version: 0,
      rule: { selector: { kind: 'inbox' }, exclude: { categories: [], senders: [], domains: [], bulk: false, sent: false } },
      problem: null,
    });
  });

  it('lists the account labels: system ones, categories and the user label', async () => {
    const response = await asUser(stack, 'user-owner', 'labels?sourceId=src-rules');
    expect(response.status).toBe(200);
    const { labels } = (await response.json()) as { labels: { id: string; name: string; type: string }[] };
    expect(labels).toEqual(expect.arrayContaining([
      { id: 'INBOX', name: 'INBOX', type: 'system' },
      { id: 'CATEGORY_PROMOTIONS', name: 'CATEGORY_PROMOTIONS', type: 'system' },
      { id: labelId, name: 'Follow up', type: 'user' },
    ]));
  });

  it('replaces the rule; each replacement is one version up', async () => {
    const put = await rules('user-owner', { method: 'PUT', body: { selector: { kind: 'label', labelId }, exclude: { categories: ['social'], senders: ['Boss@Example.com'] } } });
    expect(put.status).toBe(200);
    const first = (await put.json()) as { version: number };
    expect(first.version).toBe(1);
    expect((await storedRule())?.rule.exclude.senders).toEqual(['boss@example.com']);
    const again = await rules('user-owner', { method: 'PUT', body: { selector: { kind: 'starred' } } });
    expect(((await again.json()) as { version: number }).version).toBe(2);
    expect(await (await rules('user-owner')).json()).toMatchObject({ version: 2, rule: { selector: { kind: 'starred' } } });
  });

  it('refuses bad input with 400 naming every problem, and changes nothing', async () => {
    const before = await storedRule();
    const tooMany = Array.from({ length: 101 }, (_, i) => `d${i}.example.com`);
    const cases: [unknown, string[]][] = [
      [{ selector: { kind: 'label', labelId: 'Label_999' } }, ['selector.labelId: no label Label_999 in this account']],
      [{ selector: { kind: 'inbox' }, exclude: { domains: tooMany } }, ['exclude: at most 100 exclusions (categories, senders and domains together)']],
      [
        { selector: { kind: 'label', labelId: 'Label_998' }, exclude: { senders: ['nobody'], domains: ['bad_domain'] } },
        ['exclude.senders.0: must be an email address', 'exclude.domains.0: must be a domain name', 'selector.labelId: no label Label_998 in this account'],
      ],
      [{ selector: { kind: 'everything' }, extra: 1 }, [expect.stringContaining("selector.kind: Invalid discriminator value. Expected 'inbox'"), expect.stringContaining('extra')]],
      [[1], [expect.stringContaining('expected object')]],
    ];
    for (const [body, problems] of cases) {
      const response = await rules('user-owner', { method: 'PUT', body });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { problems: string[] }).problems).toEqual(problems);
    }
    expect(await storedRule()).toEqual(before);
  });

  it("answers 404 for someone else's source or an unknown one, 403 for naming another user, 401 without a token", async () => {
    const before = await storedRule();
    expect((await rules('user-intruder')).status).toBe(404);
    expect((await rules('user-intruder', { method: 'PUT', body: { selector: { kind: 'inbox' } } })).status).toBe(404);
    expect((await asUser(stack, 'user-intruder', 'labels?sourceId=src-rules')).status).toBe(404);
    expect((await rules('user-owner', {}, 'src-nope')).status).toBe(404);
    expect((await asUser(stack, 'user-owner', 'rules?sourceId=src-rules&userId=user-other')).status).toBe(403);
    expect((await asUser(stack, 'user-owner', 'rules')).status).toBe(400);
    expect((await fetch(`${stack.functionUrl('connect')}/rules?sourceId=src-rules`)).status).toBe(401);
    expect((await asUser(stack, 'user-owner', 'rules?sourceId=src-rules', { method: 'POST', body: {} })).status).toBe(405);
    expect(await storedRule()).toEqual(before);
  });

  it('a server caller names the owner', async () => {
    const token = await signIdToken(stack.sandbox.url, {
      claims: { iss: 'https://accounts.google.com', aud: stack.config.identity.connectUrl, sub: '1', email: SERVER, email_verified: true, iat: now(), exp: now() + 600 },
    });
    const call = (query: string) => fetch(`${stack.functionUrl('connect')}/rules?${query}`, { headers: { Authorization: `Bearer ${token}` } });
    expect((await call('sourceId=src-rules')).status).toBe(403);
    expect((await call('sourceId=src-rules&userId=user-intruder')).status).toBe(404);
    const read = await call('sourceId=src-rules&userId=user-owner');
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ sourceId: 'src-rules' });
  });
});
