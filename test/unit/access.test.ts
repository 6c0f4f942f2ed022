import { GoogleError } from '../../functions/src/engine/errors';
import type { Source } from '../../functions/src/engine/model';
import { GoogleAccessPool, type RefreshTokenSource } from '../../functions/src/google/access';
import { limitedCaller } from '../../functions/src/google/limited-call';
import { AccountLimiter } from '../../functions/src/google/limiter';
import type { SealedToken } from '../../functions/src/contracts/sealed-token';
import { sourceData } from '../support/builders';

const config = {
  oauth: { clientId: 'id', clientSecret: 'secret', tokenUrl: 'http://127.0.0.1:9/token', authUrl: 'http://127.0.0.1:9/auth', revokeUrl: 'http://127.0.0.1:9/revoke' },
  googleApiRootUrl: 'http://127.0.0.1:9/',
  limiter: { ratePerSecond: 1, burst: 3, maxInFlight: 5, maxAttempts: 1, backoffBaseMs: 1, backoffMaxMs: 1, gmailUnitsPerMinute: 6000 },
  gmailMessagesGetUnits: 20,
};

/** Refresh tokens whose ciphertext the test changes; counts the reads and the decryptions. */
function tokens(): RefreshTokenSource & { ciphertext: Record<string, string>; read: number; opened: number } {
  const store = {
    ciphertext: {} as Record<string, string>,
    read: 0,
    opened: 0,
    sealed: ({ id }: { id: string }): Promise<SealedToken> => {
      store.read += 1;
      return Promise.resolve({ ciphertext: store.ciphertext[id] ?? `c-${id}`, sealedKey: 'k', keyVersion: '1', iv: 'i', tag: 't' });
    },
    open: (_source: { id: string }, sealed: SealedToken) => {
      store.opened += 1;
      return Promise.resolve(`token-for-${sealed.ciphertext}`);
    },
  };
  return store;
}
const source = (id: string, credentialsAt: Date | null = new Date('2026-11-24T10:00:00Z')): Source => ({ id, ...sourceData({ credentialsAt }) });

describe('GoogleAccessPool', () => {
  it('reads and decrypts a refresh token once while the source\'s stamp is unchanged, again after a reconnect', async () => {
    const store = tokens();
    const pool = new GoogleAccessPool(config, store);
    await pool.gmail(source('a'));
    await pool.calendar(source('a'));
    await pool.gmail(source('a'));
    expect(store).toMatchObject({ read: 1, opened: 1 });
    store.ciphertext.a = 'reconnected';
    await pool.gmail(source('a', new Date('2026-11-25T10:00:00Z')));
    expect(store).toMatchObject({ read: 2, opened: 2 });
  });

  it('reads the stored token every time for a source without a stamp, decrypting once per ciphertext', async () => {
    const store = tokens();
    const pool = new GoogleAccessPool(config, store);
    await pool.gmail(source('a', null));
    await pool.gmail(source('a', null));
    expect(store).toMatchObject({ read: 2, opened: 1 });
    store.ciphertext.a = 'rewrapped';
    await pool.gmail(source('a', null));
    expect(store).toMatchObject({ read: 3, opened: 2 });
  });

  it('keeps a bounded number of accounts, dropping the least recently used', async () => {
    const store = tokens();
    const pool = new GoogleAccessPool(config, store, undefined, 2);
    await pool.gmail(source('a'));
    await pool.gmail(source('b'));
    await pool.gmail(source('a'));
    await pool.gmail(source('c'));
    expect(pool.cachedAccounts()).toBe(2);
    expect(pool.limiterFor('b')).toBeUndefined();
    expect(pool.limiterFor('a')).toBeDefined();
  });
});

describe('limitedCaller', () => {
  it('reports invalid_grant (so the cached token is dropped) and a 401 (so the access token is)', async () => {
    const seen: string[] = [];
    const call = limitedCaller(new AccountLimiter(config.limiter), { onUnauthorized: () => seen.push('401'), onRevoked: () => seen.push('revoked') });
    const fail = (status: number, data: unknown) => () => Promise.reject(Object.assign(new Error('x'), { response: { status, data } }));
    await expect(call('gmail.getProfile', fail(400, { error: 'invalid_grant' }))).rejects.toBeInstanceOf(GoogleError);
    await expect(call('gmail.getProfile', fail(401, {}))).rejects.toBeInstanceOf(GoogleError);
    expect(seen).toEqual(['revoked', '401']);
  });
});
