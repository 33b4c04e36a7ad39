// Per-tenant API tokens: 256-bit random secrets shown once, stored as SHA-256 (a fast hash is
// enough for full-entropy secrets; argon2 is for human passwords). Verified tokens are cached
// briefly so a read does not pay a database round trip; revocation takes effect within the TTL.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import { TENANT_ID } from '../core/ids.ts';

/** Re-exported for the routes that validate a tenant id in a path (log-routes.ts). */
export { TENANT_ID };

export interface TokenPrincipal { tenantId: string; tokenId: string; role: string }

const TOKEN = /^cbr_([a-z0-9][a-z0-9-]{0,39})_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

const hashSecret = (secret: string) => createHash('sha256').update('cerbere-api-token\0').update(secret).digest();

export async function createApiToken(db: Kysely<DB>, tenantId: string, role: string, label: string): Promise<{ token: string; tokenId: string }> {
  const tokenId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  await db.insertInto('api_tokens').values({ tenant_id: tenantId, token_id: tokenId, secret_hash: hashSecret(secret), role, label }).execute();
  return { token: `cbr_${tenantId}_${tokenId}_${secret}`, tokenId };
}

export async function revokeApiToken(db: Kysely<DB>, tenantId: string, tokenId: string): Promise<boolean> {
  const r = await db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('tenant_id', '=', tenantId).where('token_id', '=', tokenId)
    .where('revoked_at', 'is', null).executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

export class ApiTokenVerifier {
  private readonly cache = new Map<string, { principal: TokenPrincipal; until: number }>();
  constructor(private readonly db: Kysely<DB>, private readonly ttlMs = 30_000) {}

  /** The principal for a bearer token, or null. Throws only when the database is unavailable. */
  async verify(token: string): Promise<TokenPrincipal | null> {
    const m = TOKEN.exec(token);
    if (!m) return null;
    const cacheKey = hashSecret(token).toString('base64');
    const hit = this.cache.get(cacheKey);
    if (hit && hit.until > Date.now()) return hit.principal;
    const [, tenantId, tokenId, secret] = m;
    const row = await this.db.selectFrom('api_tokens').select(['secret_hash', 'role', 'revoked_at', 'expires_at'])
      .where('tenant_id', '=', tenantId).where('token_id', '=', tokenId).executeTakeFirst();
    if (!row || row.revoked_at || (row.expires_at && new Date(row.expires_at) < new Date())) return null;
    const stored = row.secret_hash;
    const given = hashSecret(secret);
    if (stored.length !== given.length || !timingSafeEqual(stored, given)) return null;
    const principal = { tenantId, tokenId, role: row.role };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, { principal, until: Date.now() + this.ttlMs });
    return principal;
  }

  forget(): void { this.cache.clear(); }
}
