import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { aesGcmOpen, CryptoError, hkdfSha256 } from '../../src/vault/aead.ts';
import { envelopeKeyVersion, openEnvelope, sealEnvelope } from '../../src/vault/envelope.ts';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const keys = new Map([[1, k1], [2, k2]]);
const getKey = (_scope: number, v: number) => {
  const k = keys.get(v);
  if (!k) throw new Error(`no data key version ${v}`);
  return k;
};
const aad = 'tenant-a|Patient|p1|3';
const body = Buffer.from('{"resourceType":"Patient","id":"p1","name":[{"family":"Le Gall","given":["Éloïse"]}]}');

test('round-trips under the current key version, for empty and large plaintexts', () => {
  for (const pt of [body, Buffer.alloc(0), randomBytes(100_000)]) {
    const blob = sealEnvelope(k2, 2, aad, pt);
    assert.equal(blob.length, 6 + 16 + 12 + pt.length + 16);
    assert.deepEqual(openEnvelope(getKey, aad, blob), pt);
  }
});

test('layout: version, scope, key version BE, salt, nonce, ciphertext, tag; key per value via HKDF', () => {
  const blob = sealEnvelope(k1, 0x01020304, aad, body, 1);
  assert.deepEqual([...blob.subarray(0, 6)], [1, 1, 1, 2, 3, 4]);
  assert.deepEqual(envelopeKeyVersion(blob), { scope: 1, keyVersion: 0x01020304 });
  // Decrypt independently from the documented format.
  const salt = blob.subarray(6, 22);
  const nonce = blob.subarray(22, 34);
  const valueKey = hkdfSha256(k1, salt, 'cerbere/v1/value', 32);
  const gcmAad = Buffer.concat([blob.subarray(0, 6), Buffer.from(aad, 'utf8')]);
  assert.deepEqual(aesGcmOpen(valueKey, nonce, blob.subarray(34, -16), blob.subarray(-16), gcmAad), body);
  // getKey receives the scope and version from the header.
  const seen: number[][] = [];
  openEnvelope((s, v) => { seen.push([s, v]); return k1; }, aad, blob);
  assert.deepEqual(seen, [[1, 0x01020304]]);
});

test('each seal uses a fresh salt and nonce', () => {
  const a = sealEnvelope(k1, 1, aad, body);
  const b = sealEnvelope(k1, 1, aad, body);
  assert.notDeepEqual(a.subarray(6, 34), b.subarray(6, 34));
  assert.notDeepEqual(a.subarray(34), b.subarray(34));
  const salts = new Set<string>();
  for (let i = 0; i < 2000; i++) salts.add(sealEnvelope(k1, 1, aad, Buffer.alloc(1)).subarray(6, 34).toString('hex'));
  assert.equal(salts.size, 2000);
});

test('tampering with any byte makes opening throw', () => {
  const blob = sealEnvelope(k1, 1, aad, body);
  // A getKey that answers every version, so header changes must fail through authentication.
  const anyVersion = () => k1;
  for (let i = 0; i < blob.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const t = Buffer.from(blob);
      t[i] ^= bit;
      assert.throws(() => openEnvelope(getKey, aad, t), CryptoError, `byte ${i} bit ${bit}`);
      assert.throws(() => openEnvelope(anyVersion, aad, t), CryptoError, `byte ${i} bit ${bit} (any key version)`);
    }
  }
});

test('a blob moved to another tenant, resource, id or version does not open', () => {
  const blob = sealEnvelope(k1, 1, aad, body);
  for (const other of ['tenant-b|Patient|p1|3', 'tenant-a|Observation|p1|3', 'tenant-a|Patient|p2|3', 'tenant-a|Patient|p1|4', 'tenant-a|Patient|p1|3 ', '']) {
    assert.throws(() => openEnvelope(getKey, other, blob), CryptoError, other);
  }
});

test('truncated or short blobs throw', () => {
  const blob = sealEnvelope(k1, 1, aad, body);
  for (let n = 1; n <= 16; n++) assert.throws(() => openEnvelope(getKey, aad, blob.subarray(0, blob.length - n)), CryptoError, `minus ${n}`);
  for (const n of [0, 1, 6, 33, 49]) assert.throws(() => openEnvelope(getKey, aad, blob.subarray(0, n)), CryptoError, `length ${n}`);
  assert.throws(() => envelopeKeyVersion(Buffer.alloc(10)), CryptoError);
  // Extra trailing bytes shift the tag and must not be ignored.
  assert.throws(() => openEnvelope(getKey, aad, Buffer.concat([blob, Buffer.alloc(1)])), CryptoError);
});

test('unknown key version, unknown format version and unknown scope throw', () => {
  const blob = sealEnvelope(randomBytes(32), 7, aad, body);
  assert.throws(() => openEnvelope(getKey, aad, blob), (e: unknown) => e instanceof CryptoError && /unknown data key/.test(e.message));
  assert.throws(() => openEnvelope(() => undefined as unknown as Buffer, aad, blob), CryptoError);
  assert.throws(() => openEnvelope(() => Buffer.alloc(16), aad, blob), CryptoError);
  const v2 = Buffer.from(sealEnvelope(k1, 1, aad, body));
  v2[0] = 2;
  assert.throws(() => openEnvelope(getKey, aad, v2), (e: unknown) => e instanceof CryptoError && /format version/.test(e.message));
  assert.throws(() => envelopeKeyVersion(v2), CryptoError);
  const s9 = Buffer.from(sealEnvelope(k1, 1, aad, body));
  s9[1] = 9;
  assert.throws(() => openEnvelope(getKey, aad, s9), CryptoError);
});

test('a blob sealed under key version 1 still opens after rotation to version 2', () => {
  const old = sealEnvelope(k1, 1, aad, body);
  assert.deepEqual(envelopeKeyVersion(old), { scope: 0, keyVersion: 1 });
  assert.deepEqual(openEnvelope(getKey, aad, old), body);
  // The wrong key for the version in the header fails authentication.
  assert.throws(() => openEnvelope(() => k2, aad, old), CryptoError);
});

test('sealing rejects bad data keys, key versions and scopes', () => {
  assert.throws(() => sealEnvelope(randomBytes(16), 1, aad, body), CryptoError);
  for (const v of [-1, 2 ** 32, 1.5, NaN]) assert.throws(() => sealEnvelope(k1, v, aad, body), CryptoError, String(v));
  assert.throws(() => sealEnvelope(k1, 1, aad, body, 2), CryptoError);
  assert.deepEqual(envelopeKeyVersion(sealEnvelope(k1, 2 ** 32 - 1, aad, body)), { scope: 0, keyVersion: 2 ** 32 - 1 });
});
