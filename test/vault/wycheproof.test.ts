// Runs C2SP Wycheproof vectors (from ../shared/testvectors/wycheproof beside the checkout)
// through the vault primitives. Ed25519 vectors are covered elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { aesGcmOpen, aesGcmSeal, CryptoError, hkdfSha256, hmacSha256, HmacSha256Key } from '../../src/vault/aead.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = path.resolve(repoRoot, '..', 'shared', 'testvectors', 'wycheproof');
const present = existsSync(dir);
// Absent folder (a fresh clone without shared/): one skipped test says so, nothing else runs.
if (!present) test('Wycheproof vectors', { skip: `Wycheproof vectors not found at ${dir}` }, () => {});
const vectors = (name: string, fn: () => void) => { if (present) test(name, fn); };

interface Case { tcId: number; flags: string[]; result: 'valid' | 'invalid' | 'acceptable'; [k: string]: unknown }
interface Group { tests: Case[]; [k: string]: unknown }
interface VectorFile { numberOfTests: number; testGroups: Group[] }

const load = (name: string) => JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as VectorFile;
const hex = (c: Case, field: string) => Buffer.from(c[field] as string, 'hex');
const label = (c: Case) => `tcId ${c.tcId} (${c.result}; ${c.flags.join(',')})`;

vectors('Wycheproof aes_gcm_test.json: 256/96/128 groups match, other sizes are refused', () => {
  const f = load('aes_gcm_test.json');
  let ran = 0;
  let supported = 0;
  for (const g of f.testGroups) {
    const ok = g.keySize === 256 && g.ivSize === 96 && g.tagSize === 128;
    for (const c of g.tests) {
      ran++;
      const [key, iv, aad, msg, ct, tag] = ['key', 'iv', 'aad', 'msg', 'ct', 'tag'].map((k) => hex(c, k));
      if (!ok) {
        assert.throws(() => aesGcmSeal(key, iv, msg, aad), CryptoError, `seal must refuse ${g.keySize}/${g.ivSize}/${g.tagSize}: ${label(c)}`);
        assert.throws(() => aesGcmOpen(key, iv, ct, tag, aad), CryptoError, `open must refuse ${g.keySize}/${g.ivSize}/${g.tagSize}: ${label(c)}`);
        continue;
      }
      supported++;
      if (c.result === 'invalid') {
        assert.throws(() => aesGcmOpen(key, iv, ct, tag, aad), CryptoError, label(c));
        continue;
      }
      // valid (and 'acceptable', none at this commit): must encrypt and decrypt exactly.
      const sealed = aesGcmSeal(key, iv, msg, aad);
      assert.equal(sealed.ciphertext.toString('hex'), ct.toString('hex'), label(c));
      assert.equal(sealed.tag.toString('hex'), tag.toString('hex'), label(c));
      assert.equal(aesGcmOpen(key, iv, ct, tag, aad).toString('hex'), msg.toString('hex'), label(c));
    }
  }
  assert.equal(ran, f.numberOfTests);
  assert.ok(supported > 0, 'no 256-bit key / 96-bit IV / 128-bit tag group found');
});

vectors('Wycheproof hkdf_sha256_test.json', () => {
  const f = load('hkdf_sha256_test.json');
  let ran = 0;
  for (const g of f.testGroups) {
    for (const c of g.tests) {
      ran++;
      const [ikm, salt, info, okm] = ['ikm', 'salt', 'info', 'okm'].map((k) => hex(c, k));
      const size = c.size as number;
      if (c.result === 'valid') {
        assert.equal(hkdfSha256(ikm, salt, info, size).toString('hex'), okm.toString('hex'), label(c));
      } else if (c.flags.includes('SizeTooLarge')) {
        // Output longer than 255 × 32 bytes is not defined by RFC 5869: must be refused.
        assert.throws(() => hkdfSha256(ikm, salt, info, size), CryptoError, label(c));
      } else {
        let out: Buffer | null = null;
        try { out = hkdfSha256(ikm, salt, info, size); } catch (e) { assert.ok(e instanceof CryptoError, label(c)); }
        if (out) assert.notEqual(out.toString('hex'), okm.toString('hex'), label(c));
      }
    }
  }
  assert.equal(ran, f.numberOfTests);
});

vectors('Wycheproof hmac_sha256_test.json (tags truncated to tagSize)', () => {
  const f = load('hmac_sha256_test.json');
  let ran = 0;
  for (const g of f.testGroups) {
    const tagBytes = (g.tagSize as number) / 8;
    for (const c of g.tests) {
      ran++;
      const [key, msg, tag] = ['key', 'msg', 'tag'].map((k) => hex(c, k));
      const mac = hmacSha256(key, msg).subarray(0, tagBytes).toString('hex');
      // The blind-index form (two one-shot hashes over precomputed pads) must agree on every vector too.
      const fast = new HmacSha256Key(key).hex(msg).slice(0, tagBytes * 2);
      assert.equal(fast, mac, label(c));
      if (c.result === 'valid') assert.equal(mac, tag.toString('hex'), label(c));
      else if (c.result === 'invalid') assert.notEqual(mac, tag.toString('hex'), label(c));
    }
  }
  assert.equal(ran, f.numberOfTests);
});
