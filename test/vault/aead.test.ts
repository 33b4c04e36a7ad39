import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { aesGcmOpen, aesGcmSeal, CryptoError, hkdfSha256, hmacSha256, HmacSha256Key } from '../../src/vault/aead.ts';

const key = randomBytes(32);
const nonce = randomBytes(12);
const aad = Buffer.from('tenant-a|Patient|p1|1');
const msg = Buffer.from('{"resourceType":"Patient","name":[{"family":"Le Gall"}]}');

test('AES-256-GCM round-trips, with and without AAD and plaintext', () => {
  const { ciphertext, tag } = aesGcmSeal(key, nonce, msg, aad);
  assert.equal(ciphertext.length, msg.length);
  assert.equal(tag.length, 16);
  assert.deepEqual(aesGcmOpen(key, nonce, ciphertext, tag, aad), msg);
  const empty = aesGcmSeal(key, nonce, Buffer.alloc(0), Buffer.alloc(0));
  assert.equal(empty.ciphertext.length, 0);
  assert.deepEqual(aesGcmOpen(key, nonce, empty.ciphertext, empty.tag, Buffer.alloc(0)), Buffer.alloc(0));
});

test('AES-GCM authentication failures throw CryptoError', () => {
  const { ciphertext, tag } = aesGcmSeal(key, nonce, msg, aad);
  const flip = (b: Buffer, i: number) => { const c = Buffer.from(b); c[i] ^= 1; return c; };
  assert.throws(() => aesGcmOpen(key, nonce, flip(ciphertext, 3), tag, aad), CryptoError);
  assert.throws(() => aesGcmOpen(key, nonce, ciphertext, flip(tag, 15), aad), CryptoError);
  assert.throws(() => aesGcmOpen(key, nonce, ciphertext, tag, Buffer.from('tenant-b|Patient|p1|1')), CryptoError);
  assert.throws(() => aesGcmOpen(key, flip(nonce, 0), ciphertext, tag, aad), CryptoError);
  assert.throws(() => aesGcmOpen(randomBytes(32), nonce, ciphertext, tag, aad), CryptoError);
});

test('truncated tags are rejected (Node 20 would otherwise accept a 4-byte tag)', () => {
  const { ciphertext, tag } = aesGcmSeal(key, nonce, msg, aad);
  for (const n of [0, 4, 8, 12, 15]) {
    assert.throws(() => aesGcmOpen(key, nonce, ciphertext, tag.subarray(0, n), aad), CryptoError, `tag of ${n} bytes`);
  }
  assert.throws(() => aesGcmOpen(key, nonce, ciphertext, Buffer.concat([tag, Buffer.alloc(1)]), aad), CryptoError);
});

test('only 256-bit keys and 96-bit nonces are accepted', () => {
  for (const k of [randomBytes(16), randomBytes(24), randomBytes(31), randomBytes(33)]) {
    assert.throws(() => aesGcmSeal(k, nonce, msg, aad), CryptoError);
    assert.throws(() => aesGcmOpen(k, nonce, msg, randomBytes(16), aad), CryptoError);
  }
  for (const n of [0, 8, 11, 13, 16]) {
    assert.throws(() => aesGcmSeal(key, randomBytes(n), msg, aad), CryptoError);
    assert.throws(() => aesGcmOpen(key, randomBytes(n), msg, randomBytes(16), aad), CryptoError);
  }
});

test('CryptoError messages carry no key or plaintext material', () => {
  const { ciphertext, tag } = aesGcmSeal(key, nonce, msg, aad);
  const bad = Buffer.from(tag); bad[0] ^= 1;
  try {
    aesGcmOpen(key, nonce, ciphertext, bad, aad);
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof CryptoError);
    assert.equal(e.name, 'CryptoError');
    for (const secret of [key.toString('hex'), key.toString('base64'), msg.toString(), 'Le Gall']) assert.ok(!e.message.includes(secret));
    assert.ok(!String(e.stack).includes(key.toString('hex')));
  }
});

test('HKDF-SHA-256 matches RFC 5869 test case 1 and enforces output length', () => {
  const okm = hkdfSha256(Buffer.alloc(22, 0x0b), Buffer.from('000102030405060708090a0b0c', 'hex'), Buffer.from('f0f1f2f3f4f5f6f7f8f9', 'hex'), 42);
  assert.ok(Buffer.isBuffer(okm));
  assert.equal(okm.toString('hex'), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  // String info is UTF-8.
  assert.deepEqual(hkdfSha256(key, Buffer.alloc(0), 'cerbère', 32), hkdfSha256(key, Buffer.alloc(0), Buffer.from('cerbère', 'utf8'), 32));
  assert.equal(hkdfSha256(key, Buffer.alloc(0), '', 8160).length, 8160);
  for (const n of [0, -1, 8161, 1.5]) assert.throws(() => hkdfSha256(key, Buffer.alloc(0), '', n), CryptoError);
});

test('HMAC-SHA-256 matches RFC 4231 test case 2', () => {
  assert.equal(hmacSha256(Buffer.from('Jefe'), 'what do ya want for nothing?').toString('hex'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  assert.deepEqual(hmacSha256(key, 'é'), hmacSha256(key, Buffer.from('é', 'utf8')));
  assert.equal(new HmacSha256Key(Buffer.from('Jefe')).hex('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
});

test('HmacSha256Key gives createHmac\'s result for every key and message length, string or bytes', () => {
  // Key lengths around the 64-byte block (longer keys are hashed first); messages around the 1,024 bytes
  // kept after the pad block, as strings of 1- to 4-byte UTF-8 characters and lone surrogates, and as bytes.
  const chars = ['a', 'é', '€', '😀', '\ud800', '\udc00', ' ', '\u0000'];
  for (const klen of [0, 1, 31, 32, 33, 63, 64, 65, 100, 200]) {
    const k = randomBytes(klen);
    const mac = new HmacSha256Key(k);
    for (const mlen of [0, 1, 2, 55, 56, 64, 119, 120, 1000, 1019, 1020, 1021, 1022, 1023, 1024, 1025, 1030, 3000]) {
      const bytes = randomBytes(mlen);
      assert.equal(mac.hex(bytes), hmacSha256(k, bytes).toString('hex'), `key ${klen}, ${mlen} bytes`);
      for (const c of chars) {
        const str = c.repeat(Math.ceil(mlen / c.length)).slice(0, mlen) + (mlen % 3 === 0 ? '' : 'x');
        assert.equal(mac.hex(str), hmacSha256(k, str).toString('hex'), `key ${klen}, string of ${JSON.stringify(c)} × ${mlen}`);
      }
    }
    // A long message, then a short one: nothing of the first is left in the second's input.
    assert.equal(mac.hex('z'.repeat(1010)) + mac.hex('ab'), hmacSha256(k, 'z'.repeat(1010)).toString('hex') + hmacSha256(k, 'ab').toString('hex'));
  }
});

test('HmacSha256Key.zero() overwrites its pad blocks', () => {
  const mac = new HmacSha256Key(randomBytes(32));
  const before = mac.hex('x');
  mac.zero();
  assert.notEqual(mac.hex('x'), before);
  // Both pad blocks are now zero bytes: SHA-256(0⁶⁴ ‖ SHA-256(0⁶⁴ ‖ m)), no trace of the key.
  const zeros = Buffer.alloc(64);
  const inner = createHash('sha256').update(zeros).update('x').digest();
  assert.equal(mac.hex('x'), createHash('sha256').update(zeros).update(inner).digest('hex'));
  assert.throws(() => new HmacSha256Key('key' as unknown as Buffer), CryptoError);
});
