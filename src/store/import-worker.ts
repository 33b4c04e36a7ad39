// Worker thread of the import pool: validates resources, computes their blind-index tokens and, when
// asked, seals the stamped resources (the costly steps of a bulk import), while the main thread writes.
import { parentPort } from 'node:worker_threads';
import { hasErrors, loadFhirDefinitions } from '../fhir/validate.ts';
import { TenantKeys } from '../vault/keyring.ts';
import { KEY_BYTES } from '../vault/aead.ts';
import { validateAndIndex } from './import-prepare.ts';
import { resourceAad, sealBody } from '../vault/resource-cipher.ts';
import { stampResource } from './stamp.ts';
import { pack } from '../core/packed.ts';

interface Seal { now: string; encVersion: number; enc: Uint8Array; patientKeys: Uint8Array; keyNos: number[] }
interface Job { id: number; tenantId: string; keyVersion: number; idxKey: Uint8Array; resources: any[]; seal?: Seal }

loadFhirDefinitions();
const keysByTenant = new Map<string, TenantKeys>();

parentPort!.on('message', (m: Job) => {
  let keys = keysByTenant.get(m.tenantId);
  // Keys reloaded in the main thread (rotation, re-created tenant) replace the cached ones.
  if (!keys || keys.loadedAt !== m.keyVersion) {
    keys?.zero();
    // Index keys are kept for the tenant; data and patient keys only for the job that carries them.
    keys = new TenantKeys(m.tenantId, 0, new Map(), Buffer.from(m.idxKey), m.keyVersion);
    keysByTenant.set(m.tenantId, keys);
  }
  m.idxKey.fill(0); // this job's transferred copy; the cached TenantKeys holds its own
  const { issues, tokens } = validateAndIndex(keys, m.resources);
  if (!m.seal) { parentPort!.postMessage({ id: m.id, issues, tokens }); return; }
  const s = m.seal;
  const enc = Buffer.from(s.enc.buffer, s.enc.byteOffset, s.enc.byteLength);
  const pk = Buffer.from(s.patientKeys.buffer, s.patientKeys.byteOffset, s.patientKeys.byteLength);
  try {
    const bodies = m.resources.map((r, i) => {
      if (hasErrors(issues[i])) return null;
      const resource = stampResource(r, r.id, 1, s.now);
      const keyNo = s.keyNos[i];
      const patient = keyNo >= 0 ? { keyNo, key: pk.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES) } : undefined;
      return sealBody(enc, s.encVersion, resourceAad(m.tenantId, resource.resourceType, resource.id, 1), Buffer.from(JSON.stringify(resource)), patient);
    });
    // One transferred buffer for all bodies, with end offsets (a body of length 0: none).
    const { bytes: sealed, ends } = pack(bodies);
    parentPort!.postMessage({ id: m.id, issues, tokens, sealed, ends }, [sealed.buffer as ArrayBuffer]);
  } finally {
    enc.fill(0);
    pk.fill(0);
  }
});
