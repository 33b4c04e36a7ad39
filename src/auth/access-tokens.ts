// Short-lived access tokens for the API: compact JWS (alg EdDSA, Ed25519) signed with a per-tenant key
// whose seed is stored only wrapped by the key provider (data_keys, purpose 'auth-sign'), like the
// access log's signing key. Claims: iss, sub (internal account or client id), tid (tenant),
// knd (user|patient|client), sid (session, absent for clients), iat, exp (≤ 15 min), jti.
import { createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { KeyProvider } from '../vault/key-provider.ts';
import { tenantSigningKey } from '../vault/signing-key.ts';
import { TENANT_ID } from './api-tokens.ts';

export const AUTH_SIGN_PURPOSE = 'auth-sign';

export interface AccessClaims { iss: string; sub: string; tid: string; knd: 'user' | 'patient' | 'client'; sid?: string; iat: number; exp: number; jti: string }

interface TenantSigner { privateKey: KeyObject; publicKey: KeyObject; kid: string; loadedAt: number }

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class AccessTokenSigner {
  private readonly cache = new Map<string, TenantSigner>();
  constructor(private readonly db: Kysely<DB>, private readonly provider: KeyProvider, private readonly issuer: string, private readonly ttlMs = 15 * 60_000) {}

  private async signer(tenantId: string): Promise<TenantSigner> {
    const hit = this.cache.get(tenantId);
    if (hit && Date.now() - hit.loadedAt < this.ttlMs) return hit;
    const { privateKey, version } = await tenantSigningKey(this.db, this.provider, tenantId, AUTH_SIGN_PURPOSE);
    const s = { privateKey, publicKey: createPublicKey(privateKey), kid: `${tenantId}/${version}`, loadedAt: Date.now() };
    this.cache.set(tenantId, s);
    return s;
  }

  async issue(c: Omit<AccessClaims, 'iss' | 'iat' | 'exp' | 'jti'>, ttlSeconds: number): Promise<{ token: string; expiresIn: number }> {
    const s = await this.signer(c.tid);
    const now = Math.floor(Date.now() / 1000);
    const claims: AccessClaims = { iss: this.issuer, ...c, iat: now, exp: now + ttlSeconds, jti: randomBytes(12).toString('base64url') };
    const input = `${b64(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: s.kid }))}.${b64(JSON.stringify(claims))}`;
    return { token: `${input}.${b64(sign(null, Buffer.from(input), s.privateKey))}`, expiresIn: ttlSeconds };
  }

  /** Claims of a valid, unexpired token, or null. Throws only when keys or the database are unavailable. */
  async verify(token: string): Promise<AccessClaims | null> {
    const parts = token.split('.');
    if (parts.length !== 3 || token.length > 4096) return null;
    let header: { alg?: string; kid?: string };
    let claims: AccessClaims;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch { return null; }
    if (header.alg !== 'EdDSA' || typeof header.kid !== 'string') return null;
    const tenantId = header.kid.split('/')[0];
    if (!TENANT_ID.test(tenantId) || claims?.tid !== tenantId) return null;
    if (!this.cache.has(tenantId)) {
      const exists = await this.db.selectFrom('tenants').select('tenant_id').where('tenant_id', '=', tenantId).executeTakeFirst();
      if (!exists) return null;
    }
    const s = await this.signer(tenantId);
    if (header.kid !== s.kid) return null;
    if (!verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), s.publicKey, Buffer.from(parts[2], 'base64url'))) return null;
    const now = Math.floor(Date.now() / 1000);
    if (claims.iss !== this.issuer || typeof claims.exp !== 'number' || claims.exp <= now || typeof claims.sub !== 'string') return null;
    if (!['user', 'patient', 'client'].includes(claims.knd)) return null;
    return claims;
  }
}
