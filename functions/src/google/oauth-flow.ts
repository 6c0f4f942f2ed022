import { CodeChallengeMethod, OAuth2Client } from 'google-auth-library';
import { oauthClientOptions, type Config } from '../config';
import type { OAuthFlow } from '../engine/account/ports';
import { classifyGoogleError } from './classify';

/**
 * The narrowest scopes the engine needs: Gmail metadata (history, labels and headers, never
 * bodies) and read-only Calendar (events and push channels).
 */
export const CONNECT_SCOPES = [
  'https://www.googleapis.com/auth/gmail.metadata',
  'https://www.googleapis.com/auth/calendar.readonly',
];

export class GoogleOAuthFlow implements OAuthFlow {
  private readonly client: OAuth2Client;

  constructor(private readonly config: Pick<Config, 'oauth' | 'connect' | 'googleApiRootUrl'>) {
    this.client = new OAuth2Client({
      ...oauthClientOptions(config.oauth),
      redirectUri: config.connect.redirectUrl,
      endpoints: { oauth2TokenUrl: config.oauth.tokenUrl, oauth2AuthBaseUrl: config.oauth.authUrl, oauth2RevokeUrl: config.oauth.revokeUrl },
      transporterOptions: { fetchImplementation: fetch, retry: false },
    });
  }

  consentUrl(request: { state: string; loginHint: string | null; codeChallenge: string }): string {
    return this.client.generateAuthUrl({
      // A refresh token comes back only for offline access, and only on the first consent
      // unless the consent screen is shown again: a reconnect needs a fresh one.
      access_type: 'offline',
      prompt: 'consent',
      scope: CONNECT_SCOPES,
      state: request.state,
      include_granted_scopes: false,
      code_challenge: request.codeChallenge,
      code_challenge_method: CodeChallengeMethod.S256,
      ...(request.loginHint !== null && { login_hint: request.loginHint }),
    });
  }

  async revoke(token: string): Promise<void> {
    try {
      await this.client.revokeToken(token);
    } catch (error) {
      throw classifyGoogleError(error, 'oauth.revoke');
    }
  }

  async exchangeCode(code: string, codeVerifier: string) {
    try {
      const { tokens } = await this.client.getToken({ code, codeVerifier });
      if (!tokens.access_token) return null;
      return { refreshToken: tokens.refresh_token ?? null, accessToken: tokens.access_token };
    } catch (error) {
      const classified = classifyGoogleError(error, 'oauth.token');
      if (classified.kind === 'auth-revoked' || classified.kind === 'bad-request') return null;
      throw classified;
    }
  }

  async accountEmail(accessToken: string): Promise<string> {
    const { gmail } = await import('@googleapis/gmail');
    const auth = new OAuth2Client({ transporterOptions: { fetchImplementation: fetch, retry: false } });
    auth.setCredentials({ access_token: accessToken });
    const root = this.config.googleApiRootUrl;
    const client = gmail({ version: 'v1', auth, retry: false, fetchImplementation: fetch, ...(root !== undefined && { rootUrl: root.endsWith('/') ? root : `${root}/` }) });
    try {
      const { data } = await client.users.getProfile({ userId: 'me' });
      if (!data.emailAddress) throw new Error('Gmail returned no address');
      return data.emailAddress;
    } catch (error) {
      throw classifyGoogleError(error, 'gmail.getProfile');
    }
  }
}
