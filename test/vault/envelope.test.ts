import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { aesGcmOpen, CryptoError, hkdfSha256 } from '../../src/vault/aead.ts';
import { envelopeIdentity, envelopeKeyVersion, openEnvelope, sealEnvelope, SCOPE_PATIENT } from '../../src/vault/envelope.ts';

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
  const blob = sealEnvelope(k1, 0x01020304, aad, body, 0);
  assert.deepEqual([...blob.subarray(0, 6)], [1, 0, 1, 2, 3, 4]);
  assert.deepEqual(envelopeKeyVersion(blob), { scope: 0, keyVersion: 0x01020304 });
  // Decrypt independently from the documented format.
  const salt = blob.subarray(6, 22);
  const nonce = blob.subarray(22, 34);
  const valueKey = hkdfSha256(k1, salt, 'cerbere/v1/value', 32);
  const gcmAad = Buffer.concat([blob.subarray(0, 6), Buffer.from(aad, 'utf8')]);
  assert.deepEqual(aesGcmOpen(valueKey, nonce, blob.subarray(34, -16), blob.subarray(-16), gcmAad), body);
  // getKey receives the scope and version from the header.
  const seen: number[][] = [];
  openEnvelope((s, v) => { seen.push([s, v]); return k1; }, aad, blob);
  assert.deepEqual(seen, [[0, 0x01020304]]);
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

test('patient scope: 10-byte header naming the patient key; both keys are needed', () => {
  const pk = randomBytes(32);
  const blob = sealEnvelope(k2, 2, aad, body, SCOPE_PATIENT, { keyNo: 0x0a0b0c0d, key: pk });
  assert.deepEqual([...blob.subarray(0, 10)], [1, 1, 0, 0, 0, 2, 0x0a, 0x0b, 0x0c, 0x0d]);
  assert.equal(blob.length, 10 + 16 + 12 + body.length + 16);
  assert.deepEqual(envelopeKeyVersion(blob), { scope: 1, keyVersion: 2, patientKeyNo: 0x0a0b0c0d });
  assert.equal(envelopeIdentity(blob).length, 10 + 16 + 12);
  // Independent decryption from the documented format: HKDF over dataKey ‖ patientKey.
  const valueKey = hkdfSha256(Buffer.concat([k2, pk]), blob.subarray(10, 26), 'cerbere/v1/value', 32);
  const gcmAad = Buffer.concat([blob.subarray(0, 10), Buffer.from(aad, 'utf8')]);
  assert.deepEqual(aesGcmOpen(valueKey, blob.subarray(26, 38), blob.subarray(38, -16), blob.subarray(-16), gcmAad), body);
  assert.deepEqual(openEnvelope(getKey, aad, blob, (n) => (n === 0x0a0b0c0d ? pk : undefined)), body);
  // Without the patient key (destroyed), with another patient key, or with another data key: nothing opens.
  assert.throws(() => openEnvelope(getKey, aad, blob), (e: unknown) => e instanceof CryptoError && /patient key/.test(e.message));
  assert.throws(() => openEnvelope(getKey, aad, blob, () => randomBytes(32)), CryptoError);
  assert.throws(() => openEnvelope(() => k1, aad, blob, () => pk), CryptoError);
  // The data key alone (no patient key) does not open it either, even with a 0-filled patient key.
  assert.throws(() => openEnvelope(getKey, aad, blob, () => Buffer.alloc(32)), CryptoError);
  for (let i = 0; i < blob.length; i += 7) {
    const t = Buffer.from(blob);
    t[i] ^= 1;
    assert.throws(() => openEnvelope(getKey, aad, t, () => pk), CryptoError, `byte ${i}`);
  }
  assert.throws(() => sealEnvelope(k2, 2, aad, body, SCOPE_PATIENT), CryptoError);
  assert.throws(() => sealEnvelope(k2, 2, aad, body, SCOPE_PATIENT, { keyNo: 1, key: randomBytes(16) }), CryptoError);
});
