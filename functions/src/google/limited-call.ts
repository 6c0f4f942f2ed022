import type { AccountLimiter } from './limiter';
import { classifyGoogleError, type Operation } from './classify';

/**
 * How every adapter calls Google: through the account's limiter, each failure classified once,
 * and a 401 drops the cached access token so the retry refreshes it.
 */
export function limitedCaller(limiter: AccountLimiter, onUnauthorized: () => void) {
  return <T>(operation: Operation, run: () => Promise<T>): Promise<T> =>
    limiter.run(run, (error) => {
      const classified = classifyGoogleError(error, operation);
      if (classified.details.status === 401) onUnauthorized();
      return classified;
    });
}

export type LimitedCall = ReturnType<typeof limitedCaller>;
