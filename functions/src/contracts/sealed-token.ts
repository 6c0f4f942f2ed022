import * as z from 'zod';

/**
 * A refresh token as stored: envelope-encrypted (ciphertext, sealed data key, nonce, tag, all
 * base64) plus the key version that sealed the data key, so a rotation can tell which tokens
 * to re-wrap. The engine carries it opaquely; only `secrets/` opens it. Depends on zod alone,
 * so the engine, the stores and the secrets layer share this one declaration.
 */
export const sealedTokenSchema = z.object({
  ciphertext: z.string(),
  sealedKey: z.string(),
  keyVersion: z.string().min(1),
  iv: z.string(),
  tag: z.string(),
});
export type SealedToken = z.infer<typeof sealedTokenSchema>;
