import { errors, GoogleApiError } from './google-errors';
import type { Handler, Reply, Request } from './http';
import type { Grant } from './oauth-state';
import type { Account, World } from './world';

/**
 * What every Gmail and Calendar call goes through, in Google's order: authentication,
 * injected latency and errors, the per-user quota, then the method itself. Every call is
 * counted per account and method, whatever its outcome.
 */

export interface ApiContext {
  request: Request;
  grant: Grant;
  account: Account;
  now: number;
}

export const UNAUTHENTICATED_ACCOUNT = '(unauthenticated)';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function bearer(request: Request): string | undefined {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}

export function apiCall(
  world: World,
  method: string,
  requiredScopes: string[],
  run: (context: ApiContext) => Reply | Promise<Reply>,
): Handler {
  return async (request) => {
    try {
      const now = world.clock.now();
      const token = bearer(request);
      const grant = world.oauth.authenticate(token, now);
      world.usage.count(grant?.email ?? UNAUTHENTICATED_ACCOUNT, method);
      if (!grant) throw token === undefined ? errors.loginRequired() : errors.unauthenticated();
      const account = world.account(grant.email);
      if (!account) throw errors.unauthenticated();

      const latency = world.faults.latency();
      if (latency > 0) await sleep(latency);

      const injected = world.faults.errorFor({ method, account: account.email, calendarId: request.params.calendarId });
      if (injected) {
        if (injected.forbidden) throw errors.forbidden('Forbidden');
        if (injected.status === 429) throw errors.rateLimit(injected.retryAfterSeconds);
        if (injected.status === 403) throw errors.userRateLimit();
        if (injected.status === 404) throw errors.notFound();
        if (injected.status === 410) throw errors.gone();
        throw errors.server(injected.status, injected.retryAfterSeconds);
      }
      if (!requiredScopes.some((scope) => grant.scopes.includes(scope))) {
        throw new GoogleApiError(403, 'Request had insufficient authentication scopes.', {
          reason: 'insufficientPermissions',
        });
      }
      if (!world.usage.charge(account.email, method, Date.now())) {
        throw world.options.quotaExceededStatus === 403 ? errors.userRateLimit() : errors.rateLimit();
      }
      return await run({ request, grant, account, now: world.clock.now() });
    } catch (error) {
      if (error instanceof GoogleApiError) return error.toReply();
      throw error;
    }
  };
}
