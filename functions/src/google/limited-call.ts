import type { AccountLimiter } from './limiter';
import { classifyGoogleError, type Operation } from './classify';

/**
 * How every adapter calls Google: through the account's limiter (with the call's Gmail quota
 * units), each failure classified once, and a 401 drops the cached access token so the retry
 * refreshes it.
 */
export function limitedCaller(limiter: AccountLimiter, on: { onUnauthorized(): void; onRevoked(): void }) {
  return <T>(operation: Operation, run: () => Promise<T>, gmailUnits = 0): Promise<T> =>
    limiter.run(
      run,
      (error) => {
        const classified = classifyGoogleError(error, operation);
        if (classified.details.status === 401) on.onUnauthorized();
        // A refused grant: the cached refresh token is dropped, so a reconnect's new one is read.
        if (classified.kind === 'auth-revoked' && classified.details.reason === 'invalid_grant') on.onRevoked();
        return classified;
      },
      gmailUnits,
    );
}

export type LimitedCall = ReturnType<typeof limitedCaller>;
