import { classifyGoogleError, parseRetryAfter } from '../../functions/src/google/classify';

const apiError = (status: number, reason?: string, headers: Record<string, string> = {}) => ({
  message: 'failed',
  response: {
    status,
    headers: new Headers(headers),
    data: { error: { code: status, message: 'm', errors: reason ? [{ reason, domain: 'global', message: 'm' }] : [] } },
  },
});

describe('classifyGoogleError', () => {
  it.each([
    [apiError(429, 'rateLimitExceeded'), 'gmail.messages.get', 'rate-limited'],
    [apiError(403, 'userRateLimitExceeded'), 'gmail.messages.get', 'rate-limited'],
    [apiError(403, 'rateLimitExceeded'), 'calendar.events.list', 'rate-limited'],
    [apiError(403, 'insufficientPermissions'), 'gmail.messages.get', 'auth-revoked'],
    [apiError(404, 'notFound'), 'gmail.history.list', 'cursor-invalid'],
    [apiError(404, 'notFound'), 'gmail.messages.get', 'not-found'],
    [apiError(410, 'fullSyncRequired'), 'calendar.events.list', 'cursor-invalid'],
    [apiError(500), 'gmail.history.list', 'retryable'],
    [apiError(503), 'gmail.history.list', 'retryable'],
    [apiError(401, 'authError'), 'gmail.history.list', 'retryable'],
    [apiError(400, 'invalidArgument'), 'gmail.history.list', 'bad-request'],
    [{ message: 'x', response: { status: 400, data: { error: 'invalid_grant', error_description: 'revoked' } } }, 'oauth.token', 'auth-revoked'],
    [new TypeError('fetch failed'), 'gmail.history.list', 'retryable'],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'gmail.history.list', 'retryable'],
    [Object.assign(new Error('request failed'), { name: 'GaxiosError' }), 'gmail.history.list', 'retryable'],
    [Object.assign(new Error('request to https://gmail.googleapis.com failed'), { config: { url: 'https://gmail.googleapis.com' } }), 'gmail.history.list', 'retryable'],
    [new DOMException('The operation timed out.', 'TimeoutError'), 'gmail.history.list', 'retryable'],
    // A bug of ours, not Google's: retrying the same code cannot help.
    [new TypeError("Cannot read properties of undefined (reading 'id')"), 'gmail.history.list', 'bad-request'],
    // A 403 that names no permission reason says nothing about the user's grant.
    [apiError(403), 'gmail.messages.get', 'bad-request'],
    [apiError(403, 'accessNotConfigured'), 'calendar.events.list', 'auth-revoked'],
  ])('%# → %s', (error, operation, kind) => {
    expect(classifyGoogleError(error, operation).kind).toBe(kind);
  });

  it('marks only Calendar\'s `forbidden` on a call naming one calendar as a refusal of that calendar alone', () => {
    const refusesOne = (reason: string, operation: string) => classifyGoogleError(apiError(403, reason), operation).refusesOneCalendar;
    expect(refusesOne('forbidden', 'calendar.events.list')).toBe(true);
    expect(refusesOne('forbidden', 'calendar.events.watch')).toBe(true);
    expect(classifyGoogleError(apiError(403, 'forbidden'), 'calendar.events.list')).toMatchObject({ kind: 'auth-revoked', details: { oneCalendar: true } });
    // A missing scope, a disabled API, a domain policy: every calendar alike.
    for (const reason of ['insufficientPermissions', 'accessNotConfigured', 'domainPolicy']) expect(refusesOne(reason, 'calendar.events.list')).toBe(false);
    // Not about one calendar: the account's list, or Gmail.
    expect(refusesOne('forbidden', 'calendar.calendarList.list')).toBe(false);
    expect(refusesOne('forbidden', 'gmail.messages.get')).toBe(false);
    expect(refusesOne('rateLimitExceeded', 'calendar.events.list')).toBe(false);
  });

  it('carries Retry-After in milliseconds', () => {
    expect(classifyGoogleError(apiError(429, 'rateLimitExceeded', { 'Retry-After': '3' }), 'x').details.retryAfterMs).toBe(3000);
    expect(parseRetryAfter(new Date(61_000).toUTCString(), 1_000)).toBe(60_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
