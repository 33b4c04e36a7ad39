// Key providers hold the key-encryption key (KEK) outside the database and wrap/unwrap data keys.
// The local key file is the default; an HSM (PKCS#11) or a remote KMS implements the same interface.
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { aesGcmOpen, aesGcmSeal } from './aead.ts';

export interface KeyProvider {
  /** Stable identifier of the KEK in use, stored beside each wrapped key. */
  readonly id: string;
  wrap(plain: Buffer, context: string): Promise<Buffer>;
  unwrap(wrapped: Buffer, context: string): Promise<Buffer>;
  /** Throws when the provider cannot serve (fail closed). */
  check(): Promise<void>;
}

export class KeyProviderError extends Error {}

const FILE_PREFIX = 'cerbere-kek-v1:';

/** Creates the key file (mode 0600) if missing; refuses a file readable by group or others. */
export function loadOrCreateKeyFile(path: string): { kek: Buffer; created: boolean } {
  let created = false;
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, FILE_PREFIX + randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    created = true;
  }
  const st = statSync(path);
  if (!st.isFile()) throw new KeyProviderError(`key file ${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new KeyProviderError(`key file ${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
  }
  const text = readFileSync(path, 'utf8').trim();
  if (!text.startsWith(FILE_PREFIX)) throw new KeyProviderError(`key file ${path} is not a Cerbère key file`);
  const kek = Buffer.from(text.slice(FILE_PREFIX.length), 'base64');
  if (kek.length !== 32) throw new KeyProviderError(`key file ${path} does not hold a 256-bit key`);
  return { kek, created };
}

/** Wraps with AES-256-GCM under the file's KEK; context binds tenant, purpose and version. */
export class LocalKeyFileProvider implements KeyProvider {
  readonly id: string;
  private readonly kek: Buffer;
  constructor(kek: Buffer) {
    this.kek = Buffer.from(kek); // own copy: the caller zeroes its buffer
    this.id = 'file:' + createHash('sha256').update('cerbere-kek-id').update(kek).digest('hex').slice(0, 16);
  }
  async wrap(plain: Buffer, context: string): Promise<Buffer> {
    const nonce = randomBytes(12);
    const { ciphertext, tag } = aesGcmSeal(this.kek, nonce, plain, Buffer.from(context));
    return Buffer.concat([nonce, ciphertext, tag]);
  }
  async unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    if (wrapped.length < 28) throw new KeyProviderError('wrapped key too short');
    return aesGcmOpen(this.kek, wrapped.subarray(0, 12), wrapped.subarray(12, -16), wrapped.subarray(-16), Buffer.from(context));
  }
  async check(): Promise<void> {}
}
