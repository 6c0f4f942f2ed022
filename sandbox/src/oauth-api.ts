import type { Reply, Router } from './http';
import { ACCESS_TOKEN_TTL_S, ENGINE_SCOPES } from './oauth-state';
import type { World } from './world';

/**
 * Google's OAuth endpoints: `/token` (refresh and authorization-code grants) and
 * `/o/oauth2/v2/auth`, which auto-approves a known sandbox account named by `login_hint`.
 */

const oauthError = (status: number, error: string, description: string): Reply => ({
  status,
  body: { error, error_description: description },
});

export function registerOAuth(router: Router, world: World): void {
  router.on('POST', '/token', ({ body }) => {
    const form = (body ?? {}) as Record<string, string | undefined>;
    const now = world.clock.now();
    if (form.client_id !== world.options.clientId || form.client_secret !== world.options.clientSecret) {
      return oauthError(401, 'invalid_client', 'The OAuth client was not found.');
    }
    if (form.grant_type === 'refresh_token') {
      const refreshed = world.oauth.refresh(form.refresh_token ?? '', form.client_id, now);
      if (!refreshed) return oauthError(400, 'invalid_grant', 'Token has been expired or revoked.');
      return {
        status: 200,
        body: {
          access_token: refreshed.accessToken,
          expires_in: ACCESS_TOKEN_TTL_S,
          scope: refreshed.grant.scopes.join(' '),
          token_type: 'Bearer',
        },
      };
    }
    if (form.grant_type === 'authorization_code') {
      const grant = world.oauth.redeemCode(form.code ?? '', form.client_id, form.redirect_uri ?? '', now);
      if (!grant) return oauthError(400, 'invalid_grant', 'Malformed auth code.');
      return {
        status: 200,
        body: {
          access_token: world.oauth.issueAccessToken(grant, now),
          refresh_token: world.oauth.grantRefreshToken(grant),
          expires_in: ACCESS_TOKEN_TTL_S,
          scope: grant.scopes.join(' '),
          token_type: 'Bearer',
        },
      };
    }
    return oauthError(400, 'unsupported_grant_type', `Invalid grant_type: ${form.grant_type ?? ''}`);
  });

  router.on('GET', '/o/oauth2/v2/auth', ({ query }) => {
    const clientId = query.get('client_id');
    const redirectUri = query.get('redirect_uri');
    const email = query.get('login_hint');
    if (clientId !== world.options.clientId) return { status: 400, body: 'Error 401: invalid_client' };
    if (!redirectUri) return { status: 400, body: 'Error 400: redirect_uri_mismatch' };
    if (query.get('response_type') !== 'code') return { status: 400, body: 'Error 400: unsupported_response_type' };
    if (!email || !world.account(email)) return { status: 400, body: `No sandbox account for login_hint ${email ?? ''}` };
    const requested = (query.get('scope') ?? '').split(' ').filter(Boolean);
    const scopes = requested.filter((s) => ENGINE_SCOPES.includes(s) || s.startsWith('https://www.googleapis.com/auth/'));
    const code = world.oauth.issueCode({ email, clientId, scopes }, redirectUri, world.clock.now());
    const location = new URL(redirectUri);
    location.searchParams.set('code', code);
    const state = query.get('state');
    if (state !== null) location.searchParams.set('state', state);
    location.searchParams.set('scope', scopes.join(' '));
    return { status: 302, headers: { Location: location.toString() } };
  });
}
