// Bench-only: a cipher that stores bodies as they are, to measure what encryption costs.
// It lives in bench/ so no production code path can turn encryption off.
import type { ResourceCipher } from '../src/vault/resource-cipher.ts';

export const plainCipher: ResourceCipher = {
  seal: (_keys, _aad, plaintext) => Buffer.from(plaintext),
  open: (_keys, _aad, blob) => blob,
};
