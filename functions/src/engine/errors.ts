/**
 * The closed taxonomy of Google failures. The adapters classify every error once into one of
 * these kinds; the engine handles each kind in one place and never looks at status codes or
 * messages.
 */
export type GoogleErrorKind =
  /** 5xx, network failures, timeouts: try again. */
  | 'retryable'
  /** 429, 403 rate-limit reasons: back off, then try again. */
  | 'rate-limited'
  /** Gmail history 404, Calendar 410: the stored cursor is useless; resync. */
  | 'cursor-invalid'
  /** The entity (message, channel, watch) is gone. */
  | 'not-found'
  /**
   * invalid_grant, missing scopes or permission: the source is disconnected. One exception,
   * marked `details.oneCalendar`: Calendar refusing one calendar it names (its sharing).
   */
  | 'auth-revoked'
  /** Our request was wrong; retrying cannot help. */
  | 'bad-request';

export class GoogleError extends Error {
  constructor(
    readonly kind: GoogleErrorKind,
    message: string,
    readonly details: { status?: number; reason?: string; retryAfterMs?: number; operation?: string; oneCalendar?: boolean } = {},
  ) {
    super(message);
    this.name = 'GoogleError';
  }

  /** A refusal of the one calendar the call named, not of the grant: the account's other calendars may still be read. */
  get refusesOneCalendar(): boolean {
    return this.kind === 'auth-revoked' && this.details.oneCalendar === true;
  }

  get transient(): boolean {
    return this.kind === 'retryable' || this.kind === 'rate-limited';
  }
}

export function isGoogleError(error: unknown, kind?: GoogleErrorKind): error is GoogleError {
  return error instanceof GoogleError && (kind === undefined || error.kind === kind);
}

/** A bad input at an entry point: acknowledged and logged, never retried. */
export class BadInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadInputError';
  }
}

/**
 * A source's stored Google credentials cannot be used: `removed` (the user disconnected while
 * a sync was in flight: stop quietly) or `unreadable` (the sealed token no longer decrypts:
 * the source needs a reconnect). Retrying helps neither.
 */
export class CredentialsUnavailableError extends Error {
  constructor(
    readonly sourceId: string,
    readonly why: 'removed' | 'unreadable',
  ) {
    super(`Source ${sourceId}: stored credentials ${why}`);
    this.name = 'CredentialsUnavailableError';
  }
}

/** The caller no longer holds the source's lease: its work must not touch the cursor. */
export class LeaseLostError extends Error {
  constructor(readonly sourceId: string, readonly owner: string) {
    super(`Lease on source ${sourceId} is not held by ${owner}`);
    this.name = 'LeaseLostError';
  }
}

/**
 * A pass stopped because the lease expired under it (a stall longer than the lease, e.g. a
 * write waiting out a crashed instance's lock) and nobody took over: its claimed work was
 * given back as pending. Retrying the trigger runs it.
 */
export class LeaseOutlivedError extends Error {
  constructor(readonly sourceId: string) {
    super(`A pass on source ${sourceId} outlived its lease; its work was given back`);
    this.name = 'LeaseOutlivedError';
  }
}

/** Failures that retrying the trigger can fix: Google's transient ones, a lease outlived. */
export function isRetryable(error: unknown): boolean {
  return (isGoogleError(error) && error.transient) || error instanceof LeaseOutlivedError;
}
