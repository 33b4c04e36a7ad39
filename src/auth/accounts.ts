// Staff and patient accounts. The login e-mail is contact data: it is stored as a full-length HMAC
// blind index under the tenant's index key (lookup and uniqueness) and as an envelope ciphertext under
// the tenant's data key (to send mail), never in clear. TOTP secrets are envelope ciphertext too.
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { Keyring } from '../vault/keyring.ts';
import { hmacSha256 } from '../vault/aead.ts';
import { openEnvelope, sealEnvelope } from '../vault/envelope.ts';
import { normalizeEmail } from '../vault/normalize.ts';
import { POLICY } from '../access/policy.ts';

export type AccountKind = 'staff' | 'patient';
export const ACCOUNT_ID = /^u[0-9a-f]{16}$/;

export interface AccountRow {
  tenant_id: string; account_id: string; kind: string; role: string; site_ids: string[]; practitioner_id: string | null;
  patient_id: string | null; password_hash: string | null; status: string; totp_secret_enc: Buffer | null;
  totp_confirmed: boolean; totp_last_step: string | null; recovery_hashes: string[]; mfa_generation: number;
}

export class AccountError extends Error {}

export const ACCOUNT_COLUMNS = ['tenant_id', 'account_id', 'kind', 'role', 'site_ids', 'practitioner_id', 'patient_id', 'password_hash', 'status',
  'totp_secret_enc', 'totp_confirmed', 'totp_last_step', 'recovery_hashes', 'mfa_generation'] as const;

/** Roles a staff account may hold: every role of the policy table but the internal and the patient ones. */
export function staffRoles(): string[] {
  return Object.keys(POLICY).filter((r) => !['system', 'patient'].includes(r));
}

export class Accounts {
  constructor(private readonly db: Kysely<DB>, private readonly keyring: Keyring) {}

  /** HMAC-SHA-256 of the normalised address under the tenant's index subkey for account e-mails. */
  async emailIndex(tenantId: string, email: string): Promise<Buffer> {
    const n = normalizeEmail(email);
    // Unparseable input still gets an index (of the raw trimmed text) so timing and throttling do not differ.
    const keys = await this.keyring.keys(tenantId);
    return hmacSha256(keys.subkey('_account', 'email'), n ?? email.trim().toLowerCase());
  }

  /** A short hash naming an identifier in events and throttle keys without revealing it. */
  static identifierHash(index: Buffer): string {
    return createHash('sha256').update('cerbere-login-id\0').update(index).digest('hex').slice(0, 16);
  }

  async create(tenantId: string, a: { kind: AccountKind; email: string; role: string; siteIds: string[]; practitionerId?: string | null; patientId?: string | null }): Promise<string> {
    const email = normalizeEmail(a.email);
    if (!email) throw new AccountError('the e-mail address is not valid');
    const accountId = 'u' + randomBytes(8).toString('hex');
    const index = await this.emailIndex(tenantId, email);
    const keys = await this.keyring.keys(tenantId);
    const enc = sealEnvelope(keys.current, keys.encVersion, `account-email|${tenantId}|${accountId}`, Buffer.from(email, 'utf8'));
    const existing = await this.db.selectFrom('accounts').select('account_id').where('tenant_id', '=', tenantId).where('email_index', '=', index).executeTakeFirst();
    if (existing) throw new AccountError('an account with this e-mail already exists in the tenant');
    await this.db.insertInto('accounts').values({
      tenant_id: tenantId, account_id: accountId, kind: a.kind, role: a.role, site_ids: a.siteIds, practitioner_id: a.practitionerId ?? null,
      patient_id: a.patientId ?? null, email_index: index, email_enc: enc, password_hash: null, status: 'invited', totp_secret_enc: null,
    }).execute();
    return accountId;
  }

  async byEmail(tenantId: string, index: Buffer): Promise<AccountRow | undefined> {
    return this.db.selectFrom('accounts').select(ACCOUNT_COLUMNS).where('tenant_id', '=', tenantId).where('email_index', '=', index).executeTakeFirst() as Promise<AccountRow | undefined>;
  }

  async byId(tenantId: string, accountId: string): Promise<AccountRow | undefined> {
    if (!ACCOUNT_ID.test(accountId)) return undefined;
    return this.db.selectFrom('accounts').select(ACCOUNT_COLUMNS).where('tenant_id', '=', tenantId).where('account_id', '=', accountId).executeTakeFirst() as Promise<AccountRow | undefined>;
  }

  async email(tenantId: string, accountId: string): Promise<string> {
    const r = await this.db.selectFrom('accounts').select('email_enc').where('tenant_id', '=', tenantId).where('account_id', '=', accountId).executeTakeFirstOrThrow();
    const keys = await this.keyring.keys(tenantId);
    return openEnvelope((_s, v) => keys.enc(v), `account-email|${tenantId}|${accountId}`, r.email_enc).toString('utf8');
  }

  async sealTotp(tenantId: string, accountId: string, secret: string): Promise<Buffer> {
    const keys = await this.keyring.keys(tenantId);
    return sealEnvelope(keys.current, keys.encVersion, `account-totp|${tenantId}|${accountId}`, Buffer.from(secret, 'utf8'));
  }

  async openTotp(tenantId: string, accountId: string, blob: Buffer): Promise<string> {
    const keys = await this.keyring.keys(tenantId);
    return openEnvelope((_s, v) => keys.enc(v), `account-totp|${tenantId}|${accountId}`, blob).toString('utf8');
  }
}
