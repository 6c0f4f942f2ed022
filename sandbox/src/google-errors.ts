import type { Reply } from './http';

/**
 * Google's JSON error envelope, as Gmail and Calendar send it:
 * `{"error":{"code","message","errors":[{"domain","reason","message",…}],"status"}}`.
 */

const STATUS_TEXT: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  410: 'GONE',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const GOOGLE_REALM = 'https://accounts.google.com/';

export interface ErrorDetail {
  /** The entry's own message, where Google's differs from the envelope's. */
  message?: string;
  domain?: string;
  reason: string;
  location?: string;
  locationType?: string;
}

export class GoogleApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly detail: ErrorDetail,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toReply(): Reply {
    const { domain = 'global', message = this.message, ...rest } = this.detail;
    return {
      status: this.code,
      headers: this.headers,
      body: {
        error: {
          code: this.code,
          message: this.message,
          errors: [{ message, domain, ...rest }],
          status: STATUS_TEXT[this.code] ?? 'UNKNOWN',
        },
      },
    };
  }
}

export const errors = {
  badRequest: (message: string, reason = 'invalidArgument', location?: string) =>
    new GoogleApiError(400, message, location ? { reason, location, locationType: 'parameter' } : { reason }),
  /** A token that is unknown, expired or revoked. */
  unauthenticated: () =>
    new GoogleApiError(
      401,
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      { message: 'Invalid Credentials', reason: 'authError', location: 'Authorization', locationType: 'header' },
      { 'WWW-Authenticate': `Bearer realm="${GOOGLE_REALM}", error="invalid_token"` },
    ),
  /** No token at all. */
  loginRequired: () =>
    new GoogleApiError(
      401,
      'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      { message: 'Login Required.', reason: 'required', location: 'Authorization', locationType: 'header' },
      { 'WWW-Authenticate': `Bearer realm="${GOOGLE_REALM}"` },
    ),
  forbidden: (message: string, reason = 'forbidden') => new GoogleApiError(403, message, { reason }),
  notFound: (message = 'Requested entity was not found.') => new GoogleApiError(404, message, { reason: 'notFound' }),
  gone: () => new GoogleApiError(410, 'Resource has been deleted', { reason: 'deleted' }),
  fullSyncRequired: () =>
    new GoogleApiError(410, 'Sync token is no longer valid, a full sync is required.', {
      domain: 'calendar',
      reason: 'fullSyncRequired',
      location: 'syncToken',
      locationType: 'parameter',
    }),
  updatedMinTooLongAgo: () =>
    new GoogleApiError(410, 'The requested minimum modification time lies too far in the past.', {
      domain: 'calendar',
      reason: 'updatedMinTooLongAgo',
      location: 'updatedMin',
      locationType: 'parameter',
    }),
  userRateLimit: () =>
    new GoogleApiError(403, 'User-rate limit exceeded.', { domain: 'usageLimits', reason: 'userRateLimitExceeded' }),
  rateLimit: (retryAfterSeconds?: number) =>
    new GoogleApiError(
      429,
      'Too many concurrent requests for user.',
      { domain: 'usageLimits', reason: 'rateLimitExceeded' },
      retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) },
    ),
  server: (code: number, retryAfterSeconds?: number) =>
    new GoogleApiError(
      code,
      code === 503 ? 'The service is currently unavailable.' : 'Internal error encountered.',
      { reason: code === 503 ? 'backendError' : 'internalError' },
      retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) },
    ),
};
