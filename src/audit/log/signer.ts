// Per-tenant Ed25519 key that signs the access log's checkpoints. Its 32-byte seed is stored only
// wrapped by the key provider (data_keys, purpose 'log-sign'), like the data keys, and created lazily.
import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../core/schema.ts';
import type { KeyProvider } from '../../vault/key-provider.ts';
import { tenantSigningKey } from '../../vault/signing-key.ts';
import { makeVerifier, rawPublicKey, verifierKeyString, type NoteVerifier } from './note.ts';

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
    const { privateKey } = await tenantSigningKey(this.db, this.provider, tenantId, LOG_SIGN_PURPOSE);
    const name = logOrigin(tenantId);
    const pub = rawPublicKey(privateKey);
    const signer = { name, privateKey, verifier: makeVerifier(name, pub), verifierKey: verifierKeyString(name, pub), loadedAt: Date.now() };
    this.cache.set(tenantId, signer);
    return signer;
  }
}
