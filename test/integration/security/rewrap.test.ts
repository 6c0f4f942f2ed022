import { decryptToken, LocalKeySealer } from '../../../functions/src/secrets/envelope';
import { rewrapAll } from '../../../functions/src/secrets/rewrap';
import { startEngineStack, type EngineStack } from '../../support/engine-stack';

/** Key rotation: every sealed data key moves to the new key, once; tokens still decrypt. */

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

test('re-wraps every token to the new key, skips what is current, reports what no longer decrypts', async () => {
  const oldKey = stack.config.tokenSealing.kind === 'local' ? stack.config.tokenSealing.key : Buffer.alloc(0);
  const [from, to] = [new LocalKeySealer(oldKey), new LocalKeySealer(Buffer.alloc(32, 7))];
  await stack.connect('src-r1', 'r1@example.com', 'user-r');
  await stack.connect('src-r2', 'r2@example.com', 'user-r');
  await stack.connect('src-r3', 'r3@example.com', 'user-r');
  // A token sealed for another source cannot be opened for this one.
  await stack.services.vault.storeSealed('src-r3', await stack.services.vault.seal({ sourceId: 'elsewhere', userId: 'user-r' }, 't'));
  const deps = { secrets: stack.services.secrets, ownerOf: async (id: string) => (await stack.services.sources.get(id))?.userId ?? null, from, to };
  const before = (await stack.services.secrets.get('src-r1'))!.refreshToken!;

  expect(await rewrapAll(deps)).toEqual({ rewrapped: 2, alreadyCurrent: 0, changedMeanwhile: 0, unreadable: ['src-r3'] });
  const after = (await stack.services.secrets.get('src-r1'))!.refreshToken!;
  expect(after.keyVersion).not.toBe(before.keyVersion);
  expect(after.ciphertext).toBe(before.ciphertext);
  const owner = { sourceId: 'src-r1', userId: 'user-r' };
  expect(await decryptToken(after, to, owner)).toBe(await decryptToken(before, from, owner));
  await expect(decryptToken(after, from, owner)).rejects.toThrow();

  // Run again (with the new key as both): nothing left to do.
  expect(await rewrapAll({ ...deps, from: to })).toMatchObject({ rewrapped: 0, alreadyCurrent: 2 });
});
