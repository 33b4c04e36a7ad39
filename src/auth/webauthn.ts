// Passkeys (WebAuthn) as a second factor, through @simplewebauthn/server: registration by a logged-in
// account, authentication after the password step. Challenges are single-use tickets in the database
// (any server may verify); only public keys and signature counters are stored.
import { createHash } from 'node:crypto';
import { generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  type AuthenticationResponseJSON, type RegistrationResponseJSON, type AuthenticatorTransport } from '@simplewebauthn/server';
import type { Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { AccountRow } from './accounts.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export class Passkeys {
  readonly rpId: string;
  readonly origin: string;
  constructor(private readonly db: Kysely<DB>, publicUrl: string) {
    const u = new URL(publicUrl);
    this.rpId = u.hostname;
    this.origin = u.origin;
  }

  private async saveChallenge(tenantId: string, accountId: string, challenge: string, kind: string): Promise<void> {
    await this.db.insertInto('auth_tickets').values({ tenant_id: tenantId, ticket_hash: sha256(challenge), account_id: accountId, purpose: `webauthn-${kind}`,
      data: null, expires_at: new Date(Date.now() + 5 * 60_000), used_at: null }).execute();
  }

  /** True once per challenge issued for this account and ceremony. */
  private async takeChallenge(tenantId: string, accountId: string, challenge: string, kind: string): Promise<boolean> {
    const r = await this.db.updateTable('auth_tickets').set({ used_at: new Date() }).where('tenant_id', '=', tenantId).where('ticket_hash', '=', sha256(challenge))
      .where('account_id', '=', accountId).where('purpose', '=', `webauthn-${kind}`).where('used_at', 'is', null).where('expires_at', '>', new Date()).executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  private credentials(tenantId: string, accountId: string) {
    return this.db.selectFrom('webauthn_credentials').select(['credential_id', 'public_key', 'counter', 'transports'])
      .where('tenant_id', '=', tenantId).where('account_id', '=', accountId).execute();
  }

  async registrationOptions(tenantId: string, a: AccountRow) {
    const existing = await this.credentials(tenantId, a.account_id);
    const options = await generateRegistrationOptions({
      rpName: 'Cerbère', rpID: this.rpId, userName: a.account_id, userID: new TextEncoder().encode(`${tenantId}/${a.account_id}`),
      attestationType: 'none', excludeCredentials: existing.map((c) => ({ id: c.credential_id, transports: c.transports as AuthenticatorTransport[] })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    await this.saveChallenge(tenantId, a.account_id, options.challenge, 'reg');
    return options;
  }

  async register(tenantId: string, a: AccountRow, response: RegistrationResponseJSON): Promise<boolean> {
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response, expectedOrigin: this.origin, expectedRPID: this.rpId, requireUserVerification: false,
        expectedChallenge: (c) => this.takeChallenge(tenantId, a.account_id, c, 'reg'),
      });
    } catch { return false; }
    if (!verified.verified || !verified.registrationInfo) return false;
    const c = verified.registrationInfo.credential;
    await this.db.insertInto('webauthn_credentials').values({ tenant_id: tenantId, credential_id: c.id, account_id: a.account_id, public_key: Buffer.from(c.publicKey),
      counter: c.counter, transports: (c.transports ?? []) as string[] }).onConflict((oc) => oc.doNothing()).execute();
    return true;
  }

  async authenticationOptions(tenantId: string, a: AccountRow) {
    const creds = await this.credentials(tenantId, a.account_id);
    const options = await generateAuthenticationOptions({ rpID: this.rpId, userVerification: 'preferred',
      allowCredentials: creds.map((c) => ({ id: c.credential_id, transports: c.transports as AuthenticatorTransport[] })) });
    await this.saveChallenge(tenantId, a.account_id, options.challenge, 'auth');
    return options;
  }

  async authenticate(tenantId: string, a: AccountRow, response: AuthenticationResponseJSON): Promise<boolean> {
    if (!response || typeof response.id !== 'string') return false;
    const creds = await this.credentials(tenantId, a.account_id);
    const cred = creds.find((c) => c.credential_id === response.id);
    if (!cred) return false;
    try {
      const r = await verifyAuthenticationResponse({
        response, expectedOrigin: this.origin, expectedRPID: this.rpId, requireUserVerification: false,
        expectedChallenge: (c) => this.takeChallenge(tenantId, a.account_id, c, 'auth'),
        credential: { id: cred.credential_id, publicKey: new Uint8Array(cred.public_key), counter: Number(cred.counter), transports: cred.transports as AuthenticatorTransport[] },
      });
      if (!r.verified) return false;
      // A signature counter that does not grow (when the authenticator keeps one) means a cloned key.
      const upd = await this.db.updateTable('webauthn_credentials').set({ counter: r.authenticationInfo.newCounter })
        .where('tenant_id', '=', tenantId).where('credential_id', '=', cred.credential_id).where('counter', '=', cred.counter).executeTakeFirst();
      return upd.numUpdatedRows > 0n;
    } catch { return false; }
  }
}
