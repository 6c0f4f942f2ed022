import { GoogleError, type GoogleErrorKind } from '../engine/errors';

/**
 * The one place where Google's failures are read: status, `errors[0].reason`, the OAuth
 * `error` field and `Retry-After` become a GoogleError of a closed set of kinds.
 */

const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded', 'dailyLimitExceeded']);
const PERMISSION_REASONS = new Set(['insufficientPermissions', 'forbidden', 'accessNotConfigured', 'domainPolicy']);

interface ErrorShape {
  message?: string;
  status?: number;
  response?: {
    status?: number;
    headers?: { get?(name: string): string | null } | Record<string, string>;
    data?: unknown;
  };
}

function header(headers: NonNullable<ErrorShape['response']>['headers'], name: string): string | null {
  if (!headers) return null;
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(n: string): string | null }).get(name);
  const record = headers as Record<string, string>;
  return record[name] ?? record[name.toLowerCase()] ?? null;
}

/** `Retry-After` in seconds or as an HTTP date; `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function reasonOf(data: unknown): { reason?: string; oauthError?: string } {
  if (typeof data !== 'object' || data === null) return {};
  const error = (data as { error?: unknown }).error;
  if (typeof error === 'string') return { oauthError: error };
  if (typeof error === 'object' && error !== null) {
    const errors = (error as { errors?: { reason?: unknown }[] }).errors;
    const reason = errors?.[0]?.reason;
    return typeof reason === 'string' ? { reason } : {};
  }
  return {};
}

/** Operations whose "not found" means the cursor is gone rather than the entity. */
export type Operation = 'gmail.history.list' | 'calendar.events.list' | (string & {});

const NETWORK_CODES = /^(E[A-Z]+|UND_ERR_[A-Z_]+|ERR_SOCKET_[A-Z_]+)$/;
const NETWORK_NAMES = new Set(['GaxiosError', 'AbortError', 'TimeoutError', 'FetchError']);

/** A failure to reach Google (connection, DNS, reset, timeout), as opposed to a thrown bug. */
function isNetworkFailure(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; typeof current === 'object' && current !== null && depth < 5; depth += 1) {
    const { name, code, message, cause, config } = current as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; config?: unknown };
    // gaxios' GaxiosError carries the request's `config`; without a response, the request failed.
    if (typeof config === 'object' && config !== null) return true;
    if (typeof code === 'string' && NETWORK_CODES.test(code)) return true;
    if (typeof name === 'string' && NETWORK_NAMES.has(name)) return true;
    // undici's fetch: TypeError('fetch failed') with the socket error as its cause.
    if (name === 'TypeError' && message === 'fetch failed') return true;
    current = cause;
  }
  return false;
}

export function classifyGoogleError(error: unknown, operation: Operation): GoogleError {
  if (error instanceof GoogleError) return error;
  const e = (error ?? {}) as ErrorShape;
  const status = e.response?.status ?? (typeof e.status === 'number' ? e.status : undefined);
  const { reason, oauthError } = reasonOf(e.response?.data);
  const kind = kindOf({ status, reason, oauthError, operation }, error);
  const named = reason || oauthError ? ` ${reason ?? oauthError}` : '';
  return new GoogleError(kind, `${operation} failed: ${status ?? 'no response'}${named}`, detailsOf(e, operation, status, reason ?? oauthError));
}

function detailsOf(e: ErrorShape, operation: Operation, status: number | undefined, reason: string | undefined) {
  const retryAfterMs = parseRetryAfter(header(e.response?.headers, 'retry-after'));
  return {
    operation,
    ...(status !== undefined && { status }),
    ...(reason !== undefined && { reason }),
    ...(retryAfterMs !== undefined && { retryAfterMs }),
    ...(refusesOneCalendar(status, reason, operation) && { oneCalendar: true }),
  };
}

/**
 * Calendar's `forbidden` on a call that names one calendar (its events) is that calendar's
 * sharing refusing the account. The other permission reasons (a missing scope, the API
 * disabled, a domain policy) refuse every calendar alike.
 */
function refusesOneCalendar(status: number | undefined, reason: string | undefined, operation: Operation): boolean {
  return status === 403 && reason === 'forbidden' && operation.startsWith('calendar.events.');
}

function kindOf(answer: { status: number | undefined; reason: string | undefined; oauthError: string | undefined; operation: Operation }, error: unknown): GoogleErrorKind {
  const { status, reason, oauthError, operation } = answer;
  if (oauthError === 'invalid_grant' || oauthError === 'unauthorized_client') return 'auth-revoked';
  // No response: the network or a timeout is worth retrying; anything else is our own bug,
  // which no retry fixes.
  if (status === undefined) return isNetworkFailure(error) ? 'retryable' : 'bad-request';
  if (status === 403) return forbiddenKind(reason);
  return STATUS_KINDS.get(status) ?? (status === 404 ? notFoundKind(operation) : status >= 500 ? 'retryable' : 'bad-request');
}

/** Statuses whose kind depends on nothing else. */
const STATUS_KINDS = new Map<number, GoogleErrorKind>([
  [429, 'rate-limited'],
  [401, 'retryable'],
  [410, 'cursor-invalid'],
  [408, 'retryable'],
]);

/** A 404 on history.list means the cursor is older than the history Gmail keeps. */
function notFoundKind(operation: Operation): GoogleErrorKind {
  return operation === 'gmail.history.list' ? 'cursor-invalid' : 'not-found';
}

function forbiddenKind(reason: string | undefined): GoogleErrorKind {
  if (reason && RATE_LIMIT_REASONS.has(reason)) return 'rate-limited';
  // Missing scopes, a disabled API, a domain policy: only the user or an admin can fix it.
  // A 403 that names no such reason proves nothing about the grant: not a disconnect.
  return reason && PERMISSION_REASONS.has(reason) ? 'auth-revoked' : 'bad-request';
}
