import { ConfigError, parseConfig } from '../../functions/src/config';
import { bearerToken } from '../../functions/src/identity/id-tokens';

const valid = {
  GOOGLE_CLOUD_PROJECT: 'demo-project',
  OAUTH_CLIENT_ID: 'id',
  OAUTH_CLIENT_SECRET: 'secret',
  CALENDAR_PUSH_URL: 'https://example.com/calendarPush',
  CONNECT_REDIRECT_URL: 'https://example.com/connectCallback/callback',
  CONNECT_ALLOWED_ORIGINS: 'https://tasks.example.com',
  CONNECT_RETURN_URL: 'https://app.example.com/settings',
  TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
};

describe('identity configuration', () => {
  it("verifies Google's published keys and refuses unsigned tokens by default", () => {
    const { identity, oauth } = parseConfig(valid);
    expect(identity).toMatchObject({
      firebaseProjectId: 'demo-project',
      firebaseCertsUrl: 'https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com',
      acceptUnsignedTokens: false,
      serverCallers: [],
    });
    expect(oauth.revokeUrl).toBe('https://oauth2.googleapis.com/revoke');
  });

  it('accepts unsigned tokens only with the Auth emulator configured', () => {
    expect(parseConfig({ ...valid, FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099' }).identity.acceptUnsignedTokens).toBe(true);
  });

  it('needs the connect URL (their tokens\' audience) when server callers are allowed', () => {
    expect(() => parseConfig({ ...valid, CONNECT_SERVER_CALLERS: 'backend@p.iam.gserviceaccount.com' })).toThrow(ConfigError);
    const config = parseConfig({ ...valid, CONNECT_SERVER_CALLERS: ' Backend@p.iam.gserviceaccount.com, ops@p.iam.gserviceaccount.com ', CONNECT_URL: 'https://example.com/connect' });
    expect(config.identity.serverCallers).toEqual(['backend@p.iam.gserviceaccount.com', 'ops@p.iam.gserviceaccount.com']);
    expect(() => parseConfig({ ...valid, CONNECT_SERVER_CALLERS: 'not-an-email', CONNECT_URL: 'https://example.com/connect' })).toThrow(ConfigError);
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc.def.ghi-jkl_mno.pqrstuvwxyz', 'abc.def.ghi-jkl_mno.pqrstuvwxyz'],
    ['Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'],
    ['bearer abc.def.ghi-jkl_mno.pqrstuvwxyz', null],
    ['Basic eDp5', null],
    ['Bearer short', null],
    ['Bearer has spaces in it ..........', null],
    [undefined, null],
  ])('%s → %s', (header, expected) => {
    expect(bearerToken(header)).toBe(expected);
  });
});
