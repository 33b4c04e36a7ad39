// Symmetric primitives over node:crypto, with sizes pinned so misuse fails loudly and early.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';

/** Any cryptographic failure. Messages are fixed strings: never key, nonce or plaintext material. */
export class CryptoError extends Error {
  override name = 'CryptoError';
}

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
// RFC 5869: at most 255 blocks of the hash output.
const HKDF_MAX = 255 * 32;

function checkSizes(key: Buffer, nonce: Buffer, tag?: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) throw new CryptoError('AES-GCM key must be 256 bits');
  if (!Buffer.isBuffer(nonce) || nonce.length !== NONCE_BYTES) throw new CryptoError('AES-GCM nonce must be 96 bits');
  if (tag !== undefined && (!Buffer.isBuffer(tag) || tag.length !== TAG_BYTES)) throw new CryptoError('AES-GCM tag must be 128 bits');
}

/** AES-256-GCM encryption. The caller guarantees the nonce is never reused under the same key. */
export function aesGcmSeal(key: Buffer, nonce: Buffer, plaintext: Buffer, aad: Buffer): { ciphertext: Buffer; tag: Buffer } {
  checkSizes(key, nonce);
  try {
    const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    if (aad.length) c.setAAD(aad);
    const head = c.update(plaintext);
    const tail = c.final();
    return { ciphertext: tail.length ? Buffer.concat([head, tail]) : head, tag: c.getAuthTag() };
  } catch {
    throw new CryptoError('AES-GCM encryption failed');
  }
}

/** AES-256-GCM decryption; throws CryptoError on any size violation or authentication failure. */
export function aesGcmOpen(key: Buffer, nonce: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer): Buffer {
  // Checked before createDecipheriv: Node 20 would otherwise accept a truncated tag (DEP0182).
  checkSizes(key, nonce, tag);
  try {
    const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    d.setAuthTag(tag);
    if (aad.length) d.setAAD(aad);
    const head = d.update(ciphertext);
    const tail = d.final();
    return tail.length ? Buffer.concat([head, tail]) : head;
  } catch {
    throw new CryptoError('AES-GCM authentication failed');
  }
}

/** HKDF-SHA-256 (RFC 5869); `info` strings are UTF-8. Length must be 1..8160 bytes. */
export function hkdfSha256(ikm: Buffer, salt: Buffer, info: Buffer | string, length: number): Buffer {
  if (!Number.isInteger(length) || length < 1 || length > HKDF_MAX) throw new CryptoError('HKDF output length out of range');
  try {
    return Buffer.from(hkdfSync('sha256', ikm, salt, typeof info === 'string' ? Buffer.from(info, 'utf8') : info, length));
  } catch {
    throw new CryptoError('HKDF failed');
  }
}

/** HMAC-SHA-256 (32 bytes); string data is UTF-8. */
export function hmacSha256(key: Buffer, data: Buffer | string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
