import { RECONNECT_NEEDED } from '../../../functions/src/entry/services';
import { hashChannelToken } from '../../../functions/src/engine/account/watches';
import { startEngineStack, type EngineStack } from '../../support/engine-stack';

/**
 * Stored refresh tokens under stress: a run that finds its token gone (the user disconnected
 * meanwhile) stops quietly; a token that no longer decrypts disconnects the source once and
 * is never retried; storing a token never loses a channel token hash written concurrently.
 */

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

const lines = (from: number) => stack.logLines.slice(from).map((l) => JSON.parse(l) as { severity: string; message: string; sourceId?: string });

describe('stored refresh tokens', () => {
  it('a sync in flight when the user disconnects stops quietly: no ERROR, no redelivery', async () => {
    await stack.connect('src-gone', 'gone@example.com', 'user-gone');
    const mark = stack.logLines.length;
    // The disconnect deleted the secret after this run had read the source as connected.
    await stack.services.secrets.delete('src-gone');
    await expect(stack.services.runner.handle('src-gone', { gmail: '999999', calendar: true }, { trigger: 'push' })).resolves.toBe('ran');
    expect(lines(mark).filter((l) => l.severity === 'ERROR')).toEqual([]);
    expect(lines(mark).some((l) => l.message.includes('no usable credentials'))).toBe(true);
  });

  it('a token that no longer decrypts marks the source disconnected "reconnect needed", once, and is not retried', async () => {
    await stack.connect('src-sealed', 'sealed@example.com', 'user-sealed');
    // A ciphertext sealed for another source: the AAD does not match, decryption fails.
    const foreign = await stack.services.vault.seal({ sourceId: 'src-other', userId: 'user-sealed' }, 'whatever');
    await stack.services.vault.storeSealed('src-sealed', foreign);
    const mark = stack.logLines.length;
    await expect(stack.services.runner.handle('src-sealed', { gmail: '999999', calendar: true }, { trigger: 'push' })).resolves.toBe('ran');
    expect(await stack.services.sources.get('src-sealed')).toMatchObject({ status: 'disconnected', statusReason: RECONNECT_NEEDED });
    // The next trigger (a redelivery, a poll) finds a disconnected source and does nothing.
    await expect(stack.services.runner.handle('src-sealed', { gmail: '9999999', calendar: true }, { trigger: 'push' })).resolves.toBe('disconnected');
    const warnings = lines(mark).filter((l) => l.message.includes('no longer decrypt'));
    expect(warnings).toHaveLength(1);
    expect(lines(mark).filter((l) => l.severity === 'ERROR')).toEqual([]);
  });

  it('storing a refresh token keeps channel token hashes written at the same time', async () => {
    await stack.connect('src-race', 'race@example.com', 'user-race');
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => [
        stack.services.secrets.addChannelTokenHash('src-race', `channel-${i}`, hashChannelToken(`t${i}`)),
        stack.services.vault.store('src-race', `1//token-${i}`),
      ]).flat(),
    );
    const secret = (await stack.services.secrets.get('src-race'))!;
    expect(Object.keys(secret.channelTokenHashes).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `channel-${i}`).sort());
    expect(secret.refreshToken).not.toBeNull();
  });
});
