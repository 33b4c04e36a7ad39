// Per-tenant Ed25519 signing keys (access-log checkpoints, API access tokens). The 32-byte seed is
// stored only wrapped by the key provider (data_keys, one purpose each), like the data keys, and is
// created on first use.
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { KeyProvider } from './key-provider.ts';
import { wrapContext } from './keyring.ts';

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The Ed25519 private key of a 32-byte seed; the DER copy of the seed is zeroed. */
export function ed25519FromSeed(seed: Uint8Array): KeyObject {
  const der = Buffer.concat([PKCS8_ED25519, seed]);
  try { return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }); } finally { der.fill(0); }
}

function load(db: Kysely<DB>, tenantId: string, purpose: string) {
  return db.selectFrom('data_keys').select(['wrapped', 'version']).where('tenant_id', '=', tenantId)
    .where('purpose', '=', purpose).where('retired_at', 'is', null).orderBy('version', 'desc').executeTakeFirst();
}

/** The tenant's current signing key of this purpose, created (version 1) when it has none. */
export async function tenantSigningKey(db: Kysely<DB>, provider: KeyProvider, tenantId: string, purpose: string): Promise<{ privateKey: KeyObject; version: number }> {
  let row = await load(db, tenantId, purpose);
  if (!row) {
    const seed = randomBytes(32);
    const wrapped = await provider.wrap(seed, wrapContext(tenantId, purpose, 1));
    seed.fill(0);
    // Another server may create it at the same time: the first insert wins, everyone uses that one.
    await db.insertInto('data_keys').values({ tenant_id: tenantId, purpose, version: 1, wrapped, provider: provider.id })
      .onConflict((oc) => oc.doNothing()).execute();
    row = await load(db, tenantId, purpose);
    if (!row) throw new Error(`${purpose} key could not be created`);
  }
  const seed = await provider.unwrap(row.wrapped, wrapContext(tenantId, purpose, row.version));
  try { return { privateKey: ed25519FromSeed(seed), version: row.version }; } finally { seed.fill(0); }
}
