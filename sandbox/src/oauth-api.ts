import type { Reply, Router } from './http';
import { ACCESS_TOKEN_TTL_S, ENGINE_SCOPES } from './oauth-state';
import type { World } from './world';

/**
 * Google's OAuth endpoints: `/token` (refresh and authorization-code grants, PKCE checked),
 * `/revoke`, and `/o/oauth2/v2/auth`, which auto-approves the sandbox account signed in to
 * "Google" in this browser: `authuser` (an email, the sandbox's stand-in for Google's account
 * chooser) or else the account named by `login_hint`.
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
      const redeemed = world.oauth.redeemCode(form.code ?? '', { clientId: form.client_id, redirectUri: form.redirect_uri ?? '', codeVerifier: form.code_verifier }, now);
      if ('error' in redeemed) return oauthError(400, 'invalid_grant', redeemed.error);
      const { grant, refreshToken } = redeemed;
      return {
        status: 200,
        body: {
          access_token: world.oauth.issueAccessToken(grant, now),
          ...(refreshToken !== null && { refresh_token: refreshToken }),
          expires_in: ACCESS_TOKEN_TTL_S,
          scope: grant.scopes.join(' '),
          token_type: 'Bearer',
        },
      };
    }
    return oauthError(400, 'unsupported_grant_type', `Invalid grant_type: ${form.grant_type ?? ''}`);
  });

  // Google accepts the token as a query parameter or a form field; an unknown one is a 400.
  router.on('POST', '/revoke', ({ query, body }) => {
    const token = query.get('token') ?? ((body ?? {}) as Record<string, string | undefined>).token ?? '';
    if (!world.oauth.revokeToken(token)) return oauthError(400, 'invalid_token', 'Token expired or revoked');
    return { status: 200, body: {} };
  });

  router.on('GET', '/o/oauth2/v2/auth', ({ query }) => {
    const clientId = query.get('client_id');
    const redirectUri = query.get('redirect_uri');
    const email = query.get('authuser') ?? query.get('login_hint');
    if (clientId !== world.options.clientId) return { status: 400, body: 'Error 401: invalid_client' };
    if (!redirectUri) return { status: 400, body: 'Error 400: redirect_uri_mismatch' };
    if (query.get('response_type') !== 'code') return { status: 400, body: 'Error 400: unsupported_response_type' };
    if (!email || !world.account(email)) return { status: 400, body: `No sandbox account for login_hint ${email ?? ''}` };
    const challenge = query.get('code_challenge');
    if (challenge !== null && query.get('code_challenge_method') !== 'S256') return { status: 400, body: 'Error 400: invalid_request (code_challenge_method)' };
    const requested = (query.get('scope') ?? '').split(' ').filter(Boolean);
    const scopes = requested.filter((s) => ENGINE_SCOPES.includes(s) || s.startsWith('https://www.googleapis.com/auth/'));
    const consent = {
      redirectUri,
      offline: query.get('access_type') === 'offline',
      forceConsent: (query.get('prompt') ?? '').split(' ').includes('consent'),
      codeChallenge: challenge,
    };
    const code = world.oauth.issueCode({ email, clientId, scopes }, consent, world.clock.now());
    const location = new URL(redirectUri);
    location.searchParams.set('code', code);
    const state = query.get('state');
    if (state !== null) location.searchParams.set('state', state);
    location.searchParams.set('scope', scopes.join(' '));
    return { status: 302, headers: { Location: location.toString() } };
  });
}
