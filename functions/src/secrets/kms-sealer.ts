import type { KeySealer } from './envelope';

/** The two calls of Cloud KMS that sealing needs; the real client satisfies it. */
export interface KmsClient {
  encrypt(request: { name: string; plaintext: Buffer }): Promise<[{ ciphertext?: Uint8Array | string | null }, ...unknown[]]>;
  decrypt(request: { name: string; ciphertext: Buffer }): Promise<[{ plaintext?: Uint8Array | string | null }, ...unknown[]]>;
}

function toBuffer(value: Uint8Array | string | null | undefined, what: string): Buffer {
  if (value === null || value === undefined) throw new Error(`Cloud KMS returned no ${what}`);
  return typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value);
}

/**
 * Seals data keys with a Cloud KMS key (production). The client library is loaded on first
 * use, so only functions that decrypt a refresh token pay for it.
 */
export class KmsKeySealer implements KeySealer {
  private client: Promise<KmsClient> | undefined;

  constructor(
    private readonly keyName: string,
    client?: KmsClient,
  ) {
    if (client) this.client = Promise.resolve(client);
  }

  private getClient(): Promise<KmsClient> {
    this.client ??= import('@google-cloud/kms').then(({ KeyManagementServiceClient }) => new KeyManagementServiceClient() as unknown as KmsClient);
    return this.client;
  }

  async seal(dataKey: Buffer): Promise<string> {
    const [response] = await (await this.getClient()).encrypt({ name: this.keyName, plaintext: dataKey });
    return toBuffer(response.ciphertext, 'ciphertext').toString('base64');
  }

  async unseal(sealedKey: string): Promise<Buffer> {
    const [response] = await (await this.getClient()).decrypt({ name: this.keyName, ciphertext: Buffer.from(sealedKey, 'base64') });
    return toBuffer(response.plaintext, 'plaintext');
  }
}
