import { apiCall } from './api-call';
import { errors, GoogleApiError } from './google-errors';
import type { Router } from './http';
import { answeredHistoryId, checkUser, decodeToken, encodeToken, FULL_READ_SCOPES, GMAIL_BASE, GMAIL_SCOPES, messageResource, pageSize, type GmailCall } from './gmail-common';
import { registerHistory } from './gmail-history';
import { registerLabelsAndThreads } from './gmail-labels';
import { WATCH_TTL_MS, type World } from './world';

/** Gmail v1 under /gmail/v1/users/{userId}/…, as the official client calls it. */

const TOPIC = /^projects\/[^/]+\/topics\/[^/]+$/;

function watchFilter(body: Record<string, unknown>): { labelIds: string[]; behavior: 'include' | 'exclude' } {
  const labelIds = Array.isArray(body.labelIds) ? body.labelIds.filter((l): l is string => typeof l === 'string') : [];
  // labelFilterBehavior replaces the deprecated labelFilterAction: when both are set, the latter is ignored.
  const rawBehavior = body.labelFilterBehavior ?? body.labelFilterAction ?? 'include';
  const behavior = typeof rawBehavior === 'string' ? rawBehavior.toLowerCase() : '';
  if (behavior !== 'include' && behavior !== 'exclude') throw errors.badRequest('Invalid labelFilterBehavior');
  return { labelIds, behavior };
}

function registerWatch(router: Router, world: World, call: GmailCall): void {
  router.on('POST', `${GMAIL_BASE}/watch`, call('gmail.users.watch', async (context) => {
    const { request, account, now } = context;
    const body = (request.body ?? {}) as Record<string, unknown>;
    const topicName = body.topicName;
    if (typeof topicName !== 'string' || !TOPIC.test(topicName)) {
      throw errors.badRequest('Invalid topicName does not match projects/SOME-ANDROID-PROJECT/topics/*');
    }
    if (!(await world.push.topicExists(topicName))) {
      throw new GoogleApiError(404, `Resource not found (resource=${topicName.split('/').pop()}).`, { reason: 'notFound' });
    }
    const expiration = now + WATCH_TTL_MS;
    // Gmail sends one notification right after a watch call.
    account.gmailWatch = { topicName, ...watchFilter(body), expiration, lastPublishAt: Date.now() };
    world.push.publishGmail(topicName, account.email, account.mailbox.historyId);
    return { status: 200, body: { historyId: answeredHistoryId(world, context), expiration: String(expiration) } };
  }));

  router.on('POST', `${GMAIL_BASE}/stop`, call('gmail.users.stop', ({ account }) => {
    account.gmailWatch = null;
    return { status: 204 };
  }));
}

function registerMessages(router: Router, call: GmailCall): void {
  router.on('GET', `${GMAIL_BASE}/messages`, call('gmail.users.messages.list', ({ request, account, grant, now }) => {
    const { query } = request;
    if (query.get('q') !== null && !FULL_READ_SCOPES.some((s) => grant.scopes.includes(s))) {
      throw errors.forbidden("Metadata scope does not support 'q' parameter");
    }
    const labelIds = query.getAll('labelIds');
    const includeSpamTrash = query.get('includeSpamTrash') === 'true';
    const max = pageSize(query.get('maxResults'), 100, 500);
    const offset = decodeToken<{ offset: number }>(query.get('pageToken'))?.offset ?? 0;
    const matching = [...account.mailbox.messages.values()]
      .filter((m) => account.mailbox.readable(m, now))
      .filter((m) => includeSpamTrash || (!m.labelIds.has('SPAM') && !m.labelIds.has('TRASH')))
      .filter((m) => labelIds.every((l) => m.labelIds.has(l)))
      .sort((a, b) => b.internalDate - a.internalDate || (b.historyId > a.historyId ? 1 : -1));
    const page = matching.slice(offset, offset + max);
    const body: Record<string, unknown> = { resultSizeEstimate: matching.length };
    if (page.length > 0) body.messages = page.map((m) => ({ id: m.id, threadId: m.threadId }));
    if (offset + max < matching.length) body.nextPageToken = encodeToken({ offset: offset + max });
    return { status: 200, body };
  }));

  router.on('GET', `${GMAIL_BASE}/messages/:id`, call('gmail.users.messages.get', ({ request, account, grant, now }) => {
    const format = request.query.get('format') ?? 'full';
    if (!['minimal', 'metadata', 'full', 'raw'].includes(format)) throw errors.badRequest(`Invalid format: ${format}`);
    if ((format === 'full' || format === 'raw') && !FULL_READ_SCOPES.some((s) => grant.scopes.includes(s))) {
      throw errors.forbidden(`Metadata scope doesn't allow format ${format.toUpperCase()}`);
    }
    // A message whose arrival still lags answers as a missing one does.
    const message = account.mailbox.messages.get(request.params.id ?? '');
    if (!account.mailbox.readable(message, now)) throw errors.notFound();
    return { status: 200, body: messageResource(message, format, request.query.getAll('metadataHeaders')) };
  }));
}

export function registerGmail(router: Router, world: World): void {
  const call: GmailCall = (method, run) =>
    apiCall(world, method, GMAIL_SCOPES, (context) => {
      checkUser(context);
      return run(context);
    });
  registerLabelsAndThreads(router, call);
  registerHistory(router, world, call);
  registerWatch(router, world, call);
  registerMessages(router, call);

  router.on('GET', `${GMAIL_BASE}/profile`, call('gmail.users.getProfile', (context) => {
    const live = [...context.account.mailbox.messages.values()].filter((m) => context.account.mailbox.readable(m, context.now));
    return {
      status: 200,
      body: {
        emailAddress: context.account.email,
        messagesTotal: live.length,
        threadsTotal: new Set(live.map((m) => m.threadId)).size,
        historyId: answeredHistoryId(world, context),
      },
    };
  }));
}
