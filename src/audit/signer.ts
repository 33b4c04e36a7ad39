// Per-tenant Ed25519 key that signs the access log's checkpoints. Its 32-byte seed is stored only
// wrapped by the key provider (data_keys, purpose 'log-sign'), like the data keys, and created lazily.
import { randomBytes, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../store/schema.ts';
import type { KeyProvider } from '../vault/key-provider.ts';
import { wrapContext } from '../vault/keyring.ts';
import { makeVerifier, rawPublicKey, signingKeyFromSeed, verifierKeyString, type NoteVerifier } from './note.ts';

export const LOG_SIGN_PURPOSE = 'log-sign';

/** Checkpoint origin and key name of a tenant's log: `cerbere/<tenant>` (tenant ids are [a-z0-9-]). */
export const logOrigin = (tenantId: string): string => `cerbere/${tenantId}`;

export interface LogSigner { name: string; privateKey: KeyObject; verifier: NoteVerifier; verifierKey: string; loadedAt: number }

export class LogSigners {
  private readonly cache = new Map<string, LogSigner>();
  constructor(private readonly db: Kysely<DB>, private readonly provider: KeyProvider, private readonly ttlMs = 15 * 60_000) {}

  async get(tenantId: string): Promise<LogSigner> {
    const hit = this.cache.get(tenantId);
    if (hit && Date.now() - hit.loadedAt < this.ttlMs) return hit;
    let row = await this.load(tenantId);
    if (!row) {
      const seed = randomBytes(32);
      const wrapped = await this.provider.wrap(seed, wrapContext(tenantId, LOG_SIGN_PURPOSE, 1));
      seed.fill(0);
      // Another server may create it at the same time: the first insert wins, everyone uses that one.
      await this.db.insertInto('data_keys').values({ tenant_id: tenantId, purpose: LOG_SIGN_PURPOSE, version: 1, wrapped, provider: this.provider.id })
        .onConflict((oc) => oc.doNothing()).execute();
      row = await this.load(tenantId);
      if (!row) throw new Error('log signing key could not be created');
    }
    const seed = await this.provider.unwrap(Buffer.from(row.wrapped), wrapContext(tenantId, LOG_SIGN_PURPOSE, row.version));
    const privateKey = signingKeyFromSeed(seed);
    seed.fill(0);
    const name = logOrigin(tenantId);
    const pub = rawPublicKey(privateKey);
    const signer = { name, privateKey, verifier: makeVerifier(name, pub), verifierKey: verifierKeyString(name, pub), loadedAt: Date.now() };
    this.cache.set(tenantId, signer);
    return signer;
  }

  private load(tenantId: string) {
    return this.db.selectFrom('data_keys').select(['wrapped', 'version']).where('tenant_id', '=', tenantId)
      .where('purpose', '=', LOG_SIGN_PURPOSE).where('retired_at', 'is', null).orderBy('version', 'desc').executeTakeFirst();
  }
}
