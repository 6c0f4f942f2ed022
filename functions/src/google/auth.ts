import { OAuth2Client } from 'google-auth-library';
import { requireClientSecret, type Config } from '../config';

/**
 * An OAuth client for one account. It caches its access token and refreshes it shortly
 * before expiry (the library's eager threshold); our limiter owns retries, so the
 * library's are off. Global fetch avoids gaxios loading node-fetch.
 */
export function createAccountAuth(oauth: Config['oauth'], refreshToken: string): OAuth2Client {
  const client = new OAuth2Client({
    clientId: oauth.clientId,
    clientSecret: requireClientSecret(oauth),
    endpoints: { oauth2TokenUrl: oauth.tokenUrl, oauth2AuthBaseUrl: oauth.authUrl },
    transporterOptions: { fetchImplementation: fetch, retry: false },
  });
  client.setCredentials({ refresh_token: refreshToken });
  return client;
}

/**
 * Drops the cached access token so the next call refreshes it. Used on a 401 instead of the
 * library's own refresh-and-retry, which would also fire on 403 rate limits and retry twice.
 */
export function forgetAccessToken(client: OAuth2Client): void {
  client.setCredentials({ refresh_token: client.credentials.refresh_token ?? null });
}
