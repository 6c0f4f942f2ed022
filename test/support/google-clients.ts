import { calendar } from '@googleapis/calendar';
import { gmail } from '@googleapis/gmail';
import { OAuth2Client } from 'google-auth-library';
import type { CreatedAccount } from '../../sandbox/src/admin-client';

/** The official clients, pointed at the sandbox the way the engine's adapters point them. */
export function officialClients(sandboxUrl: string, account: Pick<CreatedAccount, 'clientId' | 'clientSecret' | 'refreshToken'>) {
  const auth = new OAuth2Client({
    clientId: account.clientId,
    clientSecret: account.clientSecret,
    endpoints: { oauth2TokenUrl: `${sandboxUrl}/token` },
    // gaxios would otherwise import node-fetch dynamically, which jest's module sandbox refuses.
    transporterOptions: { fetchImplementation: fetch },
  });
  auth.setCredentials({ refresh_token: account.refreshToken });
  const rootUrl = `${sandboxUrl}/`;
  return {
    auth,
    gmail: gmail({ version: 'v1', auth, rootUrl, retry: false, fetchImplementation: fetch }),
    calendar: calendar({ version: 'v3', auth, rootUrl, retry: false, fetchImplementation: fetch }),
  };
}

/** The status and first error reason of a rejected client call, as Google's client reports them. */
export async function failure(promise: Promise<unknown>): Promise<{ status: number; reason: string | undefined; message: string; headers: Headers | undefined }> {
  try {
    await promise;
  } catch (error) {
    const e = error as {
      status?: number;
      response?: { status: number; headers?: Headers; data?: { error?: { errors?: { reason?: string }[] } } };
      message: string;
    };
    return {
      status: e.response?.status ?? e.status ?? 0,
      reason: e.response?.data?.error?.errors?.[0]?.reason,
      message: e.message,
      headers: e.response?.headers,
    };
  }
  throw new Error('expected the call to fail');
}
