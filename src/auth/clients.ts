// OAuth 2.0 client credentials with private_key_jwt (SMART Backend Services): a client registers a
// public JWK (RS384/ES384/EdDSA…); it authenticates to POST /auth/token with a JWT it signed (iss = sub
// = client_id, aud = our token endpoint, exp ≤ 5 min ahead, jti used once) and receives the same
// short-lived access token as people, with the role it was registered with.
import { createHash, randomBytes } from 'node:crypto';
import { importJWK, jwtVerify, decodeJwt, type JWK } from 'jose';
import type { Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import { TENANT_ID } from './api-tokens.ts';
import { AuthError } from './errors.ts';

export const CLIENT_ID = /^cbc_([a-z0-9][a-z0-9-]{0,39})_([0-9a-f]{16})$/;
const ALGS = ['RS384', 'ES384', 'RS256', 'ES256', 'EdDSA'];
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export async function registerClient(db: Kysely<DB>, tenantId: string, role: string, label: string, jwkText: string): Promise<string> {
  let jwk: JWK;
  try { jwk = JSON.parse(jwkText); } catch { throw new AuthError(400, 'invalid_jwk', 'the public key must be a JSON Web Key'); }
  if (!jwk || typeof jwk !== 'object' || 'd' in jwk || !['RSA', 'EC', 'OKP'].includes(String(jwk.kty))) throw new AuthError(400, 'invalid_jwk', 'a public JWK (RSA, EC or OKP, without private part) is required');
  const pub = Object.fromEntries(Object.entries(jwk).filter(([k]) => ['kty', 'crv', 'x', 'y', 'n', 'e', 'alg', 'kid'].includes(k)));
  await importJWK(pub as JWK, String(jwk.alg ?? (jwk.kty === 'OKP' ? 'EdDSA' : jwk.kty === 'EC' ? 'ES384' : 'RS384'))).catch(() => { throw new AuthError(400, 'invalid_jwk', 'the public key cannot be used'); });
  const clientId = `cbc_${tenantId}_${randomBytes(8).toString('hex')}`;
  await db.insertInto('oauth_clients').values({ tenant_id: tenantId, client_id: clientId, role, label, public_jwk: JSON.stringify(pub), revoked_at: null }).execute();
  return clientId;
}

export class ClientAuthenticator {
  constructor(private readonly db: Kysely<DB>, private readonly tokenUrl: string) {}

  /** Verifies a client assertion; answers {tenantId, clientId, role} or throws a generic invalid_client. */
  async authenticate(form: Record<string, string>): Promise<{ tenantId: string; clientId: string; role: string }> {
    const bad = () => new AuthError(401, 'invalid_client', 'client authentication failed');
    if (form.grant_type !== 'client_credentials') throw new AuthError(400, 'unsupported_grant_type', 'grant_type must be client_credentials');
    if (form.client_assertion_type !== ASSERTION_TYPE || typeof form.client_assertion !== 'string' || form.client_assertion.length > 8192) throw bad();
    let unverified;
    try { unverified = decodeJwt(form.client_assertion); } catch { throw bad(); }
    const clientId = String(unverified.iss ?? '');
    const m = CLIENT_ID.exec(clientId);
    if (!m || !TENANT_ID.test(m[1])) throw bad();
    const tenantId = m[1];
    const row = await this.db.selectFrom('oauth_clients').select(['role', 'public_jwk', 'revoked_at']).where('tenant_id', '=', tenantId).where('client_id', '=', clientId).executeTakeFirst();
    if (!row || row.revoked_at) throw bad();
    const jwk = JSON.parse(row.public_jwk) as JWK;
    let payload;
    try {
      const key = await importJWK(jwk, String(jwk.alg ?? (jwk.kty === 'OKP' ? 'EdDSA' : jwk.kty === 'EC' ? 'ES384' : 'RS384')));
      ({ payload } = await jwtVerify(form.client_assertion, key, { issuer: clientId, subject: clientId, audience: this.tokenUrl, algorithms: ALGS, maxTokenAge: '5 minutes', requiredClaims: ['exp', 'jti'] }));
    } catch { throw bad(); }
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.exp !== 'number' || payload.exp > now + 300 || typeof payload.jti !== 'string' || payload.jti.length > 256) throw bad();
    // jti replay: the insert fails when the same assertion id was already accepted.
    await this.db.deleteFrom('oauth_assertion_jti').where('tenant_id', '=', tenantId).where('expires_at', '<', new Date()).execute();
    const ins = await this.db.insertInto('oauth_assertion_jti').values({ tenant_id: tenantId, client_id: clientId, jti_hash: createHash('sha256').update(payload.jti).digest(), expires_at: new Date(payload.exp * 1000 + 60_000) })
      .onConflict((oc) => oc.doNothing()).returning('client_id').executeTakeFirst();
    if (!ins) throw bad();
    return { tenantId, clientId, role: row.role };
  }

  private readonly cache = new Map<string, { role: string; until: number }>();
  /** Role of an active client (cached 30 s; revocation takes effect within that time). */
  async activeRole(tenantId: string, clientId: string): Promise<string | null> {
    const k = `${tenantId}/${clientId}`;
    const hit = this.cache.get(k);
    if (hit && hit.until > Date.now()) return hit.role;
    const row = await this.db.selectFrom('oauth_clients').select(['role', 'revoked_at']).where('tenant_id', '=', tenantId).where('client_id', '=', clientId).executeTakeFirst();
    if (!row || row.revoked_at) { this.cache.delete(k); return null; }
    this.cache.set(k, { role: row.role, until: Date.now() + 30_000 });
    return row.role;
  }
}
