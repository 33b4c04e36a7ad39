// Symmetric primitives over node:crypto, with sizes pinned so misuse fails loudly and early.
import { createCipheriv, createDecipheriv, createHmac, hash, hkdfSync } from 'node:crypto';

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

const SHA256_BLOCK = 64;
/** Room for messages after the pad block; longer ones take a one-off buffer. */
const MESSAGE_ROOM = 1024;

/**
 * HMAC-SHA-256 under one fixed key, for blind-index tokens (≈ 19 per imported patient): RFC 2104's
 * H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)) as two one-shot node:crypto SHA-256 calls over pad blocks computed
 * once. createHmac() spends most of its ≈ 2.4 µs building a native object and a Buffer per call;
 * this takes ≈ 0.9 µs. Checked against createHmac and the Wycheproof HMAC-SHA-256 vectors in the tests.
 */
export class HmacSha256Key {
  /** K ⊕ ipad, then the message being hashed. */
  private readonly inner = Buffer.alloc(SHA256_BLOCK + MESSAGE_ROOM);
  /** K ⊕ opad, then the inner digest. */
  private readonly outer = Buffer.alloc(SHA256_BLOCK + 32);

  constructor(key: Buffer) {
    if (!Buffer.isBuffer(key)) throw new CryptoError('HMAC key must be a Buffer');
    const k = key.length > SHA256_BLOCK ? hash('sha256', key, 'buffer') : key;
    for (let i = 0; i < SHA256_BLOCK; i++) {
      const b = i < k.length ? k[i] : 0;
      this.inner[i] = b ^ 0x36;
      this.outer[i] = b ^ 0x5c;
    }
  }

  /** Lower-case hex HMAC of `data`; a string is UTF-8 encoded, as createHmac().update(string) does. */
  hex(data: string | Buffer): string {
    let n: number;
    if (typeof data === 'string') {
      n = this.inner.write(data, SHA256_BLOCK, 'utf8');
      // write() stops short of a character that does not fit: near the end, the message may be cut.
      if (n > MESSAGE_ROOM - 4) return this.hexOf(Buffer.from(data, 'utf8'));
    } else {
      if (data.length > MESSAGE_ROOM) return this.hexOf(data);
      n = data.copy(this.inner, SHA256_BLOCK);
    }
    return this.finish(hash('sha256', this.inner.subarray(0, SHA256_BLOCK + n), 'binary'));
  }

  /** Overwrites the pad blocks (they are as secret as the key). */
  zero(): void {
    this.inner.fill(0);
    this.outer.fill(0);
  }

  private hexOf(message: Buffer): string {
    return this.finish(hash('sha256', Buffer.concat([this.inner.subarray(0, SHA256_BLOCK), message]), 'binary'));
  }

  private finish(innerDigest: string): string {
    this.outer.write(innerDigest, SHA256_BLOCK, 'binary');
    return hash('sha256', this.outer, 'hex');
  }
}
