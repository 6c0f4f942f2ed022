/**
 * `npm run rewrap`: after rotating the key that seals refresh-token data keys, re-seals every
 * stored data key with the key's current version, so older versions can be disabled.
 *
 *   KMS:   KMS_KEY_NAME=projects/…/cryptoKeys/refresh-tokens npm run rewrap [-- --dry-run]
 *          (Cloud KMS decrypts with whichever version sealed; the primary version seals.)
 *   Local: TOKEN_ENCRYPTION_KEY=<new> TOKEN_ENCRYPTION_KEY_PREVIOUS=<old> npm run rewrap
 *
 * Needs GOOGLE_CLOUD_PROJECT (and FIRESTORE_EMULATOR_HOST locally) and an identity that may
 * encrypt and decrypt with the key and use Firestore. Prints a summary; exits 1 when some
 * tokens no longer decrypt (those sources need a reconnect).
 */
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { LocalKeySealer, type KeySealer } from '../functions/src/secrets/envelope';
import { KmsKeySealer } from '../functions/src/secrets/kms-sealer';
import { rewrapAll } from '../functions/src/secrets/rewrap';
import { createFirestore } from '../functions/src/store/firestore';
import { SourceRepository } from '../functions/src/store/sources';
import { SourceSecretRepository } from '../functions/src/store/source-secrets';

const base64Key = z.string().refine((v) => Buffer.from(v, 'base64').length === 32, 'must be base64 of 32 bytes');
const envSchema = z.union([
  z.object({ GOOGLE_CLOUD_PROJECT: z.string().min(1), KMS_KEY_NAME: z.string().regex(/^projects\/.+\/cryptoKeys\/[^/]+$/) }),
  z.object({ GOOGLE_CLOUD_PROJECT: z.string().min(1), TOKEN_ENCRYPTION_KEY: base64Key, TOKEN_ENCRYPTION_KEY_PREVIOUS: base64Key }),
]);

function sealers(env: z.infer<typeof envSchema>): { from: KeySealer; to: KeySealer } {
  if ('KMS_KEY_NAME' in env) {
    const kms = new KmsKeySealer(env.KMS_KEY_NAME);
    return { from: kms, to: kms };
  }
  return { from: new LocalKeySealer(Buffer.from(env.TOKEN_ENCRYPTION_KEY_PREVIOUS, 'base64')), to: new LocalKeySealer(Buffer.from(env.TOKEN_ENCRYPTION_KEY, 'base64')) };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'dry-run': { type: 'boolean', default: false } } });
  const env = envSchema.safeParse(process.env);
  if (!env.success) {
    console.error('Set GOOGLE_CLOUD_PROJECT and either KMS_KEY_NAME, or TOKEN_ENCRYPTION_KEY and TOKEN_ENCRYPTION_KEY_PREVIOUS (see scripts/rewrap.ts).');
    return 2;
  }
  const db = createFirestore(env.data.GOOGLE_CLOUD_PROJECT);
  const sources = new SourceRepository(db);
  try {
    const summary = await rewrapAll({
      secrets: new SourceSecretRepository(db),
      ownerOf: async (id) => (await sources.get(id))?.userId ?? null,
      ...sealers(env.data),
      dryRun: values['dry-run'],
    });
    console.log(JSON.stringify({ dryRun: values['dry-run'], ...summary, unreadable: summary.unreadable.length }));
    if (summary.unreadable.length > 0) console.error(`${summary.unreadable.length} tokens no longer decrypt: ${summary.unreadable.join(', ')}`);
    return summary.unreadable.length > 0 ? 1 : 0;
  } finally {
    await db.terminate();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
