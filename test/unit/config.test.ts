import { ConfigError, connectFlowIsPublic, oauthClientOptions, parseConfig, requireClientSecret } from '../../functions/src/config';

const valid = {
  GOOGLE_CLOUD_PROJECT: 'demo-project',
  OAUTH_CLIENT_ID: 'client-id',
  OAUTH_CLIENT_SECRET: 'client-secret',
  TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  CALENDAR_PUSH_URL: 'https://region-project.cloudfunctions.net/calendarPush',
  CONNECT_REDIRECT_URL: 'https://connectcallback-xyz.a.run.app/callback',
  CONNECT_ALLOWED_ORIGINS: 'https://tasks.example.com',
  CONNECT_RETURN_URL: 'https://tasks.example.com/settings',
};

describe('parseConfig', () => {
  it('applies the plan defaults', () => {
    const config = parseConfig(valid);
    expect(config.limiter).toMatchObject({ ratePerSecond: 1, maxInFlight: 5 });
    expect(config.retentionMs).toBe(7 * 24 * 3_600_000);
    expect(config.renewBeforeMs).toBe(24 * 3_600_000);
    expect(config.fallbackAfterMs).toBe(10 * 60_000);
    expect(config.gmailTopic).toBe('projects/demo-project/topics/gmail-watch');
  });

  it('writes INFO and above unless LOG_LEVEL says otherwise, and names a level it does not know', () => {
    expect(parseConfig(valid).logLevel).toBe('INFO');
    expect(parseConfig({ ...valid, LOG_LEVEL: 'DEBUG' }).logLevel).toBe('DEBUG');
    expect(() => parseConfig({ ...valid, LOG_LEVEL: 'VERBOSE' })).toThrow(/LOG_LEVEL/);
  });

  it('wants exactly one way of sealing refresh tokens', () => {
    expect(parseConfig(valid).tokenSealing.kind).toBe('local');
    const kms = { ...valid, TOKEN_ENCRYPTION_KEY: undefined, KMS_KEY_NAME: 'projects/p/locations/global/keyRings/r/cryptoKeys/k' };
    expect(parseConfig(kms).tokenSealing).toEqual({ kind: 'kms', keyName: 'projects/p/locations/global/keyRings/r/cryptoKeys/k' });
    expect(() => parseConfig({ ...kms, TOKEN_ENCRYPTION_KEY: valid.TOKEN_ENCRYPTION_KEY })).toThrow(/exactly one/);
  });

  it('takes the OAuth client secret only where it is mounted, and names it where it is missing', () => {
    const { OAUTH_CLIENT_SECRET: _, ...withoutSecret } = valid;
    const config = parseConfig(withoutSecret);
    expect(config.oauth).not.toHaveProperty('clientSecret');
    expect(oauthClientOptions(config.oauth)).toEqual({ clientId: 'client-id' });
    expect(() => requireClientSecret(config.oauth)).toThrow(/OAUTH_CLIENT_SECRET: not mounted on this function/);
    expect(requireClientSecret(parseConfig(valid).oauth)).toBe('client-secret');
    expect(() => parseConfig({ ...valid, OAUTH_CLIENT_SECRET: '' })).toThrow(/OAUTH_CLIENT_SECRET/);
  });

  it('wants the origins that may start connecting when the flow is public, and defaults to the return URL locally', () => {
    const { CONNECT_ALLOWED_ORIGINS: _, ...unnamed } = valid;
    expect(() => parseConfig(unnamed)).toThrow(/CONNECT_ALLOWED_ORIGINS: required/);
    expect(parseConfig(valid).connect.allowedOrigins).toEqual(['https://tasks.example.com']);
    expect(parseConfig({ ...valid, CONNECT_ALLOWED_ORIGINS: ' https://a.example , https://b.example:8443' }).connect.allowedOrigins).toEqual(['https://a.example', 'https://b.example:8443']);
    for (const bad of ['https://a.example/', 'https://a.example/app', 'a.example', '*']) {
      expect(() => parseConfig({ ...valid, CONNECT_ALLOWED_ORIGINS: bad })).toThrow(/CONNECT_ALLOWED_ORIGINS.0: must be an origin/);
    }
    const local = { ...unnamed, CONNECT_REDIRECT_URL: 'http://127.0.0.1:5001/connectCallback/callback', CONNECT_RETURN_URL: 'http://localhost:3000/app?x=1' };
    expect(parseConfig(local).connect.allowedOrigins).toEqual(['http://localhost:3000']);
    expect(connectFlowIsPublic('http://[::1]:80/cb')).toBe(false);
    expect(connectFlowIsPublic('https://127.example.com/cb')).toBe(true);
  });

  it('refuses the Auth emulator next to production settings', () => {
    const emulator = { ...valid, FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099' };
    expect(parseConfig(emulator).identity.acceptUnsignedTokens).toBe(true);
    expect(() => parseConfig({ ...emulator, K_SERVICE: 'connect' })).toThrow(/FIREBASE_AUTH_EMULATOR_HOST: refused next to production settings/);
    const kms = { ...emulator, TOKEN_ENCRYPTION_KEY: undefined, KMS_KEY_NAME: 'projects/p/locations/global/keyRings/r/cryptoKeys/k' };
    expect(() => parseConfig(kms)).toThrow(/FIREBASE_AUTH_EMULATOR_HOST: refused/);
  });

  it('converts to working units and groups the settings', () => {
    const config = parseConfig({ ...valid, CHANNEL_TTL_HOURS: '2', AUDIT_GRACE_SECONDS: '0', CALENDAR_FUTURE_DAYS: '3', GMAIL_PASS_BUDGET_SECONDS: '5' });
    expect(config.channelTtlSeconds).toBe(7200);
    expect(config.audit).toEqual({ periodMs: 24 * 3_600_000, windowMs: 24 * 3_600_000, graceMs: 0, maxMessages: 200, maxSources: 500 });
    expect(config.taskRule.calendarFutureMs).toBe(3 * 24 * 3_600_000);
    expect(config.gmailPassBudgetMs).toBe(5000);
    expect(config.identity).toMatchObject({ firebaseProjectId: 'demo-project', acceptUnsignedTokens: false, authEmulatorHost: null, serverCallers: [] });
    expect(config.followUps).toBeNull();
  });

  it('wants the follow-up settings all together, and CONNECT_URL with server callers', () => {
    const followUps = {
      FOLLOW_UP_QUEUE: 'projects/p/locations/r/queues/gmail-follow-ups',
      FOLLOW_UP_URL: 'https://gmailfollowup-xyz.a.run.app',
      FOLLOW_UP_INVOKER: 'tasks-invoker@p.iam.gserviceaccount.com',
    };
    expect(parseConfig({ ...valid, ...followUps }).followUps).toEqual({ queue: followUps.FOLLOW_UP_QUEUE, url: followUps.FOLLOW_UP_URL, invoker: followUps.FOLLOW_UP_INVOKER, apiUrl: undefined });
    expect(() => parseConfig({ ...valid, ...followUps, FOLLOW_UP_URL: '' })).toThrow(/set all three \(Gmail tail looks\) or none/);
    const callers = { ...valid, CONNECT_SERVER_CALLERS: ' Backend@P.iam.gserviceaccount.com ,' };
    expect(() => parseConfig(callers)).toThrow(/CONNECT_URL: required with CONNECT_SERVER_CALLERS/);
    const identity = parseConfig({ ...callers, CONNECT_URL: 'https://connect-xyz.a.run.app' }).identity;
    expect(identity).toMatchObject({ serverCallers: ['backend@p.iam.gserviceaccount.com'], connectUrl: 'https://connect-xyz.a.run.app' });
  });

  it('lists every bad variable in one message', () => {
    const attempt = () =>
      parseConfig({
        OAUTH_CLIENT_ID: 'id',
        RATE_LIMIT_PER_SECOND: 'fast',
        MAX_IN_FLIGHT: '-2',
        GOOGLE_API_ROOT_URL: 'not a url',
        GMAIL_TOPIC: 'gmail-watch',
      });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const problems = (error as ConfigError).problems.map((p) => p.split(':')[0]);
      expect(problems.sort()).toEqual(
        [
          'GMAIL_TOPIC',
          'GOOGLE_API_ROOT_URL',
          'GOOGLE_CLOUD_PROJECT',
          'MAX_IN_FLIGHT',
          'RATE_LIMIT_PER_SECOND',
          'KMS_KEY_NAME / TOKEN_ENCRYPTION_KEY',
          'CALENDAR_PUSH_URL',
          'CONNECT_REDIRECT_URL',
          'CONNECT_RETURN_URL',
        ].sort(),
      );
      expect((error as Error).message).toContain('RATE_LIMIT_PER_SECOND');
    }
  });
});
