// Versioned ciphertext format for every value/resource at rest:
//   [0] format version (1) | [1] key scope (0 tenant data key, 1 tenant data key + per-patient key)
//   [2..5] tenant data-key version (uint32 BE) | scope 1 only: [6..9] patient key number (uint32 BE)
//   | 16-byte salt | 12-byte nonce | ciphertext | 16-byte tag
// Each value is encrypted under its own key HKDF-SHA-256(ikm, salt, "cerbere/v1/value"), where
// ikm = dataKey (scope 0) or dataKey ‖ patientKey (scope 1). This lifts AES-GCM's 2^32-messages-
// per-key limit without a key-provider call per value. Scope 1 needs BOTH keys: destroying the
// patient key shreds the value (crypto-shredding), and rotating the tenant data key re-encrypts
// it (a leaked old data key plus a patient key no longer opens rows re-encrypted since).
// GCM's associated data = header bytes ‖ caller's aad (UTF-8): a rewritten header, or a blob
// moved to another row/tenant/version, fails authentication.
import { createHmac, randomFillSync } from 'node:crypto';
import { aesGcmOpen, aesGcmSeal, CryptoError, KEY_BYTES, NONCE_BYTES, TAG_BYTES } from './aead.ts';

export const ENVELOPE_VERSION = 1;
export const SCOPE_TENANT = 0;
export const SCOPE_PATIENT = 1;

const SALT_BYTES = 16;
const headerBytes = (scope: number) => (scope === SCOPE_PATIENT ? 10 : 6);
const MIN_BYTES = 6 + SALT_BYTES + NONCE_BYTES + TAG_BYTES;
/** Bytes that identify one sealed blob (header, salt, nonce): random per seal, so comparing them
 *  tells whether a stored body is still the one read (re-encryption's compare-and-swap). */
export const envelopeIdentity = (blob: Buffer): Buffer => blob.subarray(0, headerBytes(blob[1]) + SALT_BYTES + NONCE_BYTES);
const VALUE_INFO_BLOCK = Buffer.from('cerbere/v1/value\x01', 'latin1'); // HKDF info ‖ counter 0x01

// HKDF-SHA-256 for one 32-byte block (RFC 5869: PRK = HMAC(salt, ikm); OKM = HMAC(PRK, info ‖ 0x01)).
// Same output as hkdfSha256(…, 32) (checked in tests) but ~2x faster than hkdfSync, and this runs per read.
function valueKey(dataKey: Buffer, salt: Buffer, patientKey?: Buffer): Buffer {
  const h = createHmac('sha256', salt).update(dataKey);
  if (patientKey) h.update(patientKey);
  const prk = h.digest();
  const okm = createHmac('sha256', prk).update(VALUE_INFO_BLOCK).digest();
  prk.fill(0);
  return okm;
}

// Salt and nonce come from a pool refilled in bulk: one randomFillSync per 146 seals instead of
// one randomBytes call each. Bytes are copied into the blob and never handed out twice.
const RANDOM_BYTES = SALT_BYTES + NONCE_BYTES;
const pool = Buffer.alloc(RANDOM_BYTES * 146);
let poolAt = pool.length;
function takeRandom(dst: Buffer, at: number): void {
  if (poolAt + RANDOM_BYTES > pool.length) { randomFillSync(pool); poolAt = 0; }
  pool.copy(dst, at, poolAt, poolAt + RANDOM_BYTES);
  poolAt += RANDOM_BYTES;
}

function gcmAad(header: Buffer, headerLen: number, aad: string): Buffer {
  const out = Buffer.allocUnsafe(headerLen + Buffer.byteLength(aad, 'utf8'));
  header.copy(out, 0, 0, headerLen);
  out.write(aad, headerLen, 'utf8');
  return out;
}

function checkHeaderFields(scope: number, keyVersion: number): void {
  if (scope !== SCOPE_TENANT && scope !== SCOPE_PATIENT) throw new CryptoError('unknown envelope key scope');
  if (!Number.isInteger(keyVersion) || keyVersion < 0 || keyVersion > 0xffffffff) throw new CryptoError('envelope key version out of range');
}

export interface PatientKeyRef { keyNo: number; key: Buffer }

/** Encrypts `plaintext` under a fresh per-value key derived from `dataKey` (and the patient key
 *  for scope 1), bound to `aad`. */
export function sealEnvelope(dataKey: Buffer, keyVersion: number, aad: string, plaintext: Buffer, scope = SCOPE_TENANT, patient?: PatientKeyRef): Buffer {
  if (!Buffer.isBuffer(dataKey) || dataKey.length !== KEY_BYTES) throw new CryptoError('data key must be 256 bits');
  checkHeaderFields(scope, keyVersion);
  if (scope === SCOPE_PATIENT) {
    if (!patient || !Buffer.isBuffer(patient.key) || patient.key.length !== KEY_BYTES) throw new CryptoError('patient key must be 256 bits');
    checkHeaderFields(scope, patient.keyNo);
  }
  const hb = headerBytes(scope);
  const saltAt = hb;
  const nonceAt = saltAt + SALT_BYTES;
  const bodyAt = nonceAt + NONCE_BYTES;
  const blob = Buffer.allocUnsafe(bodyAt + TAG_BYTES + plaintext.length);
  blob[0] = ENVELOPE_VERSION;
  blob[1] = scope;
  blob.writeUInt32BE(keyVersion, 2);
  if (scope === SCOPE_PATIENT) blob.writeUInt32BE(patient!.keyNo, 6);
  takeRandom(blob, saltAt);
  const key = valueKey(dataKey, blob.subarray(saltAt, nonceAt), scope === SCOPE_PATIENT ? patient!.key : undefined);
  try {
    const { ciphertext, tag } = aesGcmSeal(key, blob.subarray(nonceAt, bodyAt), plaintext, gcmAad(blob, hb, aad));
    ciphertext.copy(blob, bodyAt);
    tag.copy(blob, bodyAt + ciphertext.length);
  } finally {
    key.fill(0);
  }
  return blob;
}

/** Scope, tenant data-key version and (scope 1) patient key number a blob was sealed under. */
export function envelopeKeyVersion(blob: Buffer): { scope: number; keyVersion: number; patientKeyNo?: number } {
  if (!Buffer.isBuffer(blob) || blob.length < MIN_BYTES) throw new CryptoError('envelope too short');
  if (blob[0] !== ENVELOPE_VERSION) throw new CryptoError('unknown envelope format version');
  const scope = blob[1];
  if (scope !== SCOPE_TENANT && scope !== SCOPE_PATIENT) throw new CryptoError('unknown envelope key scope');
  if (scope === SCOPE_PATIENT) {
    if (blob.length < MIN_BYTES + 4) throw new CryptoError('envelope too short');
    return { scope, keyVersion: blob.readUInt32BE(2), patientKeyNo: blob.readUInt32BE(6) };
  }
  return { scope, keyVersion: blob.readUInt32BE(2) };
}

/** Decrypts a blob from sealEnvelope; throws CryptoError on bad format, unknown key or failed
 *  authentication. Scope 1 blobs also need `getPatientKey` (by patient key number). */
export function openEnvelope(getKey: (scope: number, keyVersion: number) => Buffer, aad: string, blob: Buffer,
  getPatientKey?: (keyNo: number) => Buffer | undefined): Buffer {
  const { scope, keyVersion, patientKeyNo } = envelopeKeyVersion(blob);
  let dataKey: Buffer | undefined;
  let patientKey: Buffer | undefined;
  try {
    dataKey = getKey(scope, keyVersion);
    if (scope === SCOPE_PATIENT) patientKey = getPatientKey?.(patientKeyNo!);
  } catch {
    dataKey = undefined;
  }
  if (!Buffer.isBuffer(dataKey) || dataKey.length !== KEY_BYTES) throw new CryptoError(`unknown data key (scope ${scope}, version ${keyVersion})`);
  if (scope === SCOPE_PATIENT && (!Buffer.isBuffer(patientKey) || patientKey.length !== KEY_BYTES)) throw new CryptoError('unknown or destroyed patient key');
  const hb = headerBytes(scope);
  const nonceAt = hb + SALT_BYTES;
  const bodyAt = nonceAt + NONCE_BYTES;
  const key = valueKey(dataKey, blob.subarray(hb, nonceAt), patientKey);
  try {
    return aesGcmOpen(key, blob.subarray(nonceAt, bodyAt), blob.subarray(bodyAt, blob.length - TAG_BYTES), blob.subarray(blob.length - TAG_BYTES), gcmAad(blob, hb, aad));
  } finally {
    key.fill(0);
  }
}
