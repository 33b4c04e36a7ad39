// Integer and byte helpers of the Merkle code: sizes, powers of two, hash and proof shapes.

/** Bytes of a SHA-256 hash: every node and leaf hash. */
export const HASH_SIZE = 32;


// ---------------------------------------------------------------------------------------------
// Small integer helpers that stay exact up to 2^53 (JS bitwise operators truncate to 32 bits).

export function isSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

export function half(n: number): number {
  return Math.floor(n / 2);
}

export function isOdd(n: number): boolean {
  return n % 2 === 1;
}

/** Number of trailing zero bits of n > 0. */
export function trailingZeros(n: number): number {
  let z = 0;
  while (n % 2 === 0) { n /= 2; z++; }
  return z;
}

/** Smallest h with 2^h ≥ n (n ≥ 1). */
export function ceilLog2(n: number): number {
  let h = 0;
  while (2 ** h < n) h++;
  return h;
}

export function popcount(n: number): number {
  let c = 0;
  while (n > 0) { if (isOdd(n)) c++; n = half(n); }
  return c;
}

export function isHash(b: unknown): b is Buffer {
  return Buffer.isBuffer(b) && b.length === HASH_SIZE;
}

export function isProof(proof: unknown): proof is Buffer[] {
  return Array.isArray(proof) && proof.every(isHash);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.length === b.length && a.equals(b);
}

export function isValidSubtree(start: number, end: number): boolean {
  if (!isSize(start) || !isSize(end) || start > end) return false;
  if (start === 0 || start === end) return true;
  return start % 2 ** ceilLog2(end - start) === 0;
}
