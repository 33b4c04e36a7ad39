// How resource bodies are sealed at rest. The envelope cipher is the only one in src/;
// benchmarks may inject another to measure the cost of protection.
import type { TenantKeys } from './keyring.ts';
import { openEnvelope, sealEnvelope, SCOPE_PATIENT, SCOPE_TENANT, type PatientKeyRef } from './envelope.ts';

export interface ResourceCipher {
  /** With `patient`, the value is sealed under the tenant's current data key AND that patient's key (crypto-shredding). */
  seal(keys: TenantKeys, aad: string, plaintext: Buffer, patient?: PatientKeyRef): Buffer;
  /** Patient keys must have been loaded into `keys.patients` first (Keyring.loadPatientKeys). */
  open(keys: TenantKeys, aad: string, blob: Buffer): Buffer;
}

/** The envelope seal of a resource body under a tenant data key (and, for a patient's compartment, their key). */
export const sealBody = (dataKey: Buffer, keyVersion: number, aad: string, plaintext: Buffer, patient?: PatientKeyRef) => patient
  ? sealEnvelope(dataKey, keyVersion, aad, plaintext, SCOPE_PATIENT, patient)
  : sealEnvelope(dataKey, keyVersion, aad, plaintext, SCOPE_TENANT);

export const envelopeCipher: ResourceCipher = {
  seal: (keys, aad, plaintext, patient) => sealBody(keys.current, keys.encVersion, aad, plaintext, patient),
  open: (keys, aad, blob) => openEnvelope((_scope, version) => keys.enc(version), aad, blob, (n) => keys.patientKey(n)),
};

/** Patient key number named by a stored body's header, or null (tenant scope, or not an envelope). */
export function bodyPatientKeyNo(body: Uint8Array | null | undefined): number | null {
  if (!body || body.length < 10 || body[0] !== 1 || body[1] !== SCOPE_PATIENT) return null;
  return ((body[6] << 24) >>> 0) + (body[7] << 16) + (body[8] << 8) + body[9];
}
/** Tenant data-key version named by a stored body's header, or null. */
export function bodyKeyVersion(body: Uint8Array | null | undefined): number | null {
  if (!body || body.length < 6 || body[0] !== 1) return null;
  return ((body[2] << 24) >>> 0) + (body[3] << 16) + (body[4] << 8) + body[5];
}

/** Associated data: a ciphertext only opens on the row (tenant, type, id, version) it was written for. */
export const resourceAad = (tenantId: string, type: string, id: string, version: number) => `${tenantId}|${type}|${id}|${version}`;
