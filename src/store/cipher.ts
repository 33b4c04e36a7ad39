// How resource bodies are sealed at rest. The envelope cipher is the only one in src/;
// benchmarks may inject another to measure the cost of protection.
import type { TenantKeys } from '../vault/keyring.ts';
import { openEnvelope, sealEnvelope } from '../vault/envelope.ts';

export interface ResourceCipher {
  seal(keys: TenantKeys, aad: string, plaintext: Buffer): Buffer;
  open(keys: TenantKeys, aad: string, blob: Buffer): Buffer;
}

export const envelopeCipher: ResourceCipher = {
  seal: (keys, aad, plaintext) => sealEnvelope(keys.current, keys.encVersion, aad, plaintext),
  open: (keys, aad, blob) => openEnvelope((_scope, version) => keys.enc(version), aad, blob),
};

/** Associated data: a ciphertext only opens on the row (tenant, type, id, version) it was written for. */
export const resourceAad = (tenantId: string, type: string, id: string, version: number) => `${tenantId}|${type}|${id}|${version}`;
