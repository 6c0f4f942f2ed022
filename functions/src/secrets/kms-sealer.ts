import { crc32c } from './crc32c';
import type { KeySealer } from './envelope';

type Checksum = { value?: number | string | Long | null } | null | undefined;
interface Long {
  toString(): string;
}

/** The two calls of Cloud KMS that sealing needs, with their integrity fields; the real client satisfies it. */
export interface KmsClient {
  encrypt(request: {
    name: string;
    plaintext: Buffer;
    additionalAuthenticatedData: Buffer;
    plaintextCrc32c: { value: number };
    additionalAuthenticatedDataCrc32c: { value: number };
  }): Promise<[{
    name?: string | null;
    ciphertext?: Uint8Array | string | null;
    ciphertextCrc32c?: Checksum;
    verifiedPlaintextCrc32c?: boolean | null;
    verifiedAdditionalAuthenticatedDataCrc32c?: boolean | null;
  }, ...unknown[]]>;
  decrypt(request: {
    name: string;
    ciphertext: Buffer;
    additionalAuthenticatedData: Buffer;
    ciphertextCrc32c: { value: number };
    additionalAuthenticatedDataCrc32c: { value: number };
  }): Promise<[{ plaintext?: Uint8Array | string | null; plaintextCrc32c?: Checksum }, ...unknown[]]>;
}

export class KmsIntegrityError extends Error {
  constructor(what: string) {
    super(`Cloud KMS ${what}: the request or response was corrupted in transit`);
    this.name = 'KmsIntegrityError';
  }
}

function toBuffer(value: Uint8Array | string | null | undefined, what: string): Buffer {
  if (value === null || value === undefined) throw new Error(`Cloud KMS returned no ${what}`);
  return typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value);
}

function sameChecksum(data: Buffer, checksum: Checksum): boolean {
  return checksum?.value !== undefined && checksum.value !== null && Number(checksum.value.toString()) === crc32c(data);
}

/**
 * Seals data keys with a Cloud KMS key (production), with the source's AAD and CRC32C
 * checks both ways (Google's recommended integrity verification). The client library is
 * loaded on first use, so only functions that touch a token pay for it.
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

  async seal(dataKey: Buffer, aad: Buffer): Promise<{ sealedKey: string; keyVersion: string }> {
    const [response] = await (await this.getClient()).encrypt({
      name: this.keyName,
      plaintext: dataKey,
      additionalAuthenticatedData: aad,
      plaintextCrc32c: { value: crc32c(dataKey) },
      additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
    });
    if (response.verifiedPlaintextCrc32c !== true || response.verifiedAdditionalAuthenticatedDataCrc32c !== true) throw new KmsIntegrityError('encrypt request');
    const ciphertext = toBuffer(response.ciphertext, 'ciphertext');
    if (!sameChecksum(ciphertext, response.ciphertextCrc32c)) throw new KmsIntegrityError('encrypt response');
    if (!response.name) throw new Error('Cloud KMS returned no key version');
    return { sealedKey: ciphertext.toString('base64'), keyVersion: response.name };
  }

  async unseal(sealedKey: string, aad: Buffer): Promise<Buffer> {
    const ciphertext = Buffer.from(sealedKey, 'base64');
    const [response] = await (await this.getClient()).decrypt({
      name: this.keyName,
      ciphertext,
      additionalAuthenticatedData: aad,
      ciphertextCrc32c: { value: crc32c(ciphertext) },
      additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
    });
    const plaintext = toBuffer(response.plaintext, 'plaintext');
    if (!sameChecksum(plaintext, response.plaintextCrc32c)) throw new KmsIntegrityError('decrypt response');
    return plaintext;
  }
}
