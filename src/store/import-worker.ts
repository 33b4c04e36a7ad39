// Worker thread of the import pool: validates resources and computes their blind-index tokens,
// the two costly steps of a bulk import, while the main thread encrypts and writes.
import { parentPort } from 'node:worker_threads';
import { loadFhirDefinitions, validateResource } from '../fhir/validate.ts';
import { TenantKeys } from '../vault/keyring.ts';
import { resourceTokens } from './indexer.ts';
import { withCompartmentToken } from '../auth/access-decision.ts';

loadFhirDefinitions();
const keysByTenant = new Map<string, TenantKeys>();

parentPort!.on('message', (m: { id: number; tenantId: string; keyVersion: number; idxKey: Uint8Array; resources: any[] }) => {
  let keys = keysByTenant.get(m.tenantId);
  // Keys reloaded in the main thread (rotation, re-created tenant) replace the cached ones.
  if (!keys || keys.loadedAt !== m.keyVersion) {
    keys?.zero();
    // Index key only: the worker never sees encryption keys.
    keys = new TenantKeys(m.tenantId, 0, new Map(), Buffer.from(m.idxKey), m.keyVersion);
    keysByTenant.set(m.tenantId, keys);
  }
  m.idxKey.fill(0); // this job's transferred copy; the cached TenantKeys holds its own
  const issues = m.resources.map((r) => validateResource(r));
  const tokens = m.resources.map((r, i) => (issues[i].length ? [] : withCompartmentToken(keys, r, resourceTokens(keys, r))));
  parentPort!.postMessage({ id: m.id, issues, tokens });
});
