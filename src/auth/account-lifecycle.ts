// Accounts and their enrolment: creation by an administrator, invitations, TOTP enrolment, recovery
// codes, password reset and change, tickets. service.ts adds login, MFA and sessions on top.
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { AuthConfig } from '../core/config.ts';
import type { Keyring } from '../vault/keyring.ts';
import type { KeyProvider } from '../vault/key-provider.ts';
import type { AuditRecorder, AccessEvent } from '../audit/record/recorder.ts';
import type { AccessContext, Actor } from '../core/context.ts';
import { Accounts, type AccountRow, type AccountKind } from './accounts.ts';
import { checkPasswordPolicy, hashPassword, setArgon2Concurrency, setLoginCheckBudget, verifyPassword, type Argon2Params } from './passwords.ts';
import { checkTotp, newTotpSecret, totpUri } from './totp.ts';
import { type ThrottleRule, type ThrottleStore } from './throttle.ts';
import { AccessTokenSigner } from './access-tokens.ts';
import { type Mailer } from './mailer.ts';
import { TENANT_ID } from './api-tokens.ts';
import { ClientAuthenticator } from './clients.ts';
import { Passkeys } from './webauthn.ts';
import { AuthError } from './errors.ts';


export const GENERIC = () => new AuthError(401, 'invalid_credentials', 'authentication failed');

export interface RequestInfo { ip?: string | null; userAgent?: string | null }
export type SessionMode = 'cookie' | 'token';
export interface IssuedSession {
  sessionId: string;
  /** cookie mode: the session cookie value and its CSRF token. */
  cookie?: string; csrfToken?: string;
  /** token mode: access and refresh tokens. */
  accessToken?: string; refreshToken?: string; expiresIn?: number;
}

export const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest();
export const secret = () => randomBytes(32).toString('base64url');
export const SECRET = /^[A-Za-z0-9_-]{43}$/;
export const SESSION_ID = /^s[0-9a-f]{24}$/;
export const TICKET_MINUTES: Record<string, number> = { invite: 7 * 24 * 60, reset: 30, mfa: 5, enrol: 15, 're-enrol': 24 * 60 };
export const MFA_ATTEMPTS = 5;

/** "<tenant>.<secret>" → parts, or null. */
export function splitTicket(t: unknown): { tenantId: string; secret: string } | null {
  if (typeof t !== 'string') return null;
  const i = t.indexOf('.');
  if (i < 0) return null;
  const tenantId = t.slice(0, i);
  const s = t.slice(i + 1);
  return TENANT_ID.test(tenantId) && SECRET.test(s) ? { tenantId, secret: s } : null;
}
/** "<tenant>.<sessionId>.<secret>" → parts, or null. */
export function splitSessionSecret(t: unknown): { tenantId: string; sessionId: string; secret: string } | null {
  if (typeof t !== 'string') return null;
  const [tenantId, sessionId, s, extra] = t.split('.');
  if (extra !== undefined || !tenantId || !TENANT_ID.test(tenantId) || !SESSION_ID.test(sessionId ?? '') || !SECRET.test(s ?? '')) return null;
  return { tenantId, sessionId, secret: s };
}

export function actorOf(a: AccountRow, siteId?: string | null): Actor {
  if (a.kind === 'patient') return { kind: 'patient', id: a.account_id, role: a.role, patientId: a.patient_id };
  const site = siteId && a.site_ids.includes(siteId) ? siteId : a.site_ids[0] ?? null;
  return { kind: 'user', id: a.account_id, role: a.role, siteId: site, siteIds: [...a.site_ids], practitionerId: a.practitioner_id };
}

export interface SessionPrincipal { account: AccountRow; sessionId: string; until: number }

export class AccountLifecycle {
  readonly accounts: Accounts;
  readonly signer: AccessTokenSigner;
  readonly clients: ClientAuthenticator;
  readonly passkeys: Passkeys;
  protected readonly argon: Argon2Params;
  protected readonly principalCache = new Map<string, SessionPrincipal>();
  protected dummyHash: Promise<string> | null = null;

  protected constructor(
    protected readonly db: Kysely<DB>,
    keyring: Keyring,
    provider: KeyProvider,
    protected readonly audit: AuditRecorder,
    readonly config: AuthConfig,
    readonly throttle: ThrottleStore,
    readonly mailer: Mailer,
  ) {
    this.accounts = new Accounts(db, keyring);
    this.signer = new AccessTokenSigner(db, provider, config.publicUrl);
    this.clients = new ClientAuthenticator(db, `${config.publicUrl}/auth/token`);
    this.passkeys = new Passkeys(db, config.publicUrl);
    this.argon = { memoryCost: config.argon2MemoryKib, timeCost: config.argon2Time, parallelism: 1 };
    setArgon2Concurrency(config.argon2Concurrency, config.argon2Nice);
    setLoginCheckBudget(config.loginChecksPerSecond);
  }


  async close(): Promise<void> { await this.throttle.close(); this.mailer.close(); }

  protected accountRule(): ThrottleRule { return { lockAfter: this.config.lockoutFailures, lockMs: this.config.lockoutMinutes * 60_000, backoffAfter: 3, windowMs: this.config.lockoutMinutes * 60_000 }; }
  protected ipRule(): ThrottleRule { return { lockAfter: this.config.ipFailures, lockMs: this.config.lockoutMinutes * 60_000, backoffAfter: this.config.ipFailures, windowMs: this.config.lockoutMinutes * 60_000 }; }

  // ---------------------------------------------------------------- events
  protected ctx(tenantId: string, actor: Actor, req: RequestInfo = {}, sessionId?: string | null): AccessContext {
    return { tenantId, actor, purpose: 'HSYSADMIN', client: { ip: req.ip ?? null, sessionId: sessionId ?? null } };
  }
  async event(tenantId: string, actor: Actor, action: string, outcome: AccessEvent['outcome'], req: RequestInfo = {}, detail?: string): Promise<void> {
    await this.audit.record(this.ctx(tenantId, actor, req), { action, outcome, resourceRefs: [], patientIds: [], detail });
  }
  protected unknownActor(index: Buffer): Actor { return { kind: 'user', id: `unknown:${Accounts.identifierHash(index)}`, role: 'none' }; }

  // ---------------------------------------------------------------- accounts (CLI)
  async createAccount(tenantId: string, a: { kind: AccountKind; email: string; role: string; siteIds: string[]; practitionerId?: string | null; patientId?: string | null }, by: Actor): Promise<{ accountId: string; invitation: string; link: string; mailed: boolean }> {
    const accountId = await this.accounts.create(tenantId, a);
    await this.event(tenantId, by, 'account.create', 'success', {}, `account=${accountId} kind=${a.kind} role=${a.role}`);
    const invitation = await this.newTicket(tenantId, accountId, 'invite');
    const link = `${this.config.publicUrl}/auth/invitation#${invitation}`;
    let mailed = false;
    if (this.mailer.enabled) {
      await this.mailer.send({ to: a.email, subject: 'Cerbère : votre invitation', text: `Bonjour,\n\nUn compte Cerbère a été créé pour vous. Pour choisir votre mot de passe et activer la double authentification, ouvrez ce lien (valable 7 jours, utilisable une fois) :\n\n${link}\n\nSi vous n'attendiez pas ce message, ignorez-le.\n` });
      mailed = true;
    }
    return { accountId, invitation, link, mailed };
  }

  async disableAccount(tenantId: string, accountId: string, by: Actor): Promise<boolean> {
    const r = await this.db.updateTable('accounts').set({ status: 'disabled', updated_at: new Date() }).where('tenant_id', '=', tenantId).where('account_id', '=', accountId).executeTakeFirst();
    if (r.numUpdatedRows === 0n) return false;
    await this.revokeAll(tenantId, accountId, 'disabled');
    await this.event(tenantId, by, 'account.disable', 'success', {}, `account=${accountId}`);
    return true;
  }

  /**
   * Removes TOTP, recovery codes and passkeys and revokes sessions. Answers a new enrolment ticket
   * (24 h) for the operator to hand over (or mailed): knowing the password alone never lets anyone
   * enrol a second factor on an existing account.
   */
  async resetMfa(tenantId: string, accountId: string, by: Actor): Promise<{ enrolTicket: string; mailed: boolean } | null> {
    const r = await this.db.updateTable('accounts').set({ totp_secret_enc: null, totp_confirmed: false, totp_last_step: null, recovery_hashes: [], updated_at: new Date(), mfa_generation: sql`mfa_generation + 1` })
      .where('tenant_id', '=', tenantId).where('account_id', '=', accountId).executeTakeFirst();
    if (r.numUpdatedRows === 0n) return null;
    await this.db.deleteFrom('webauthn_credentials').where('tenant_id', '=', tenantId).where('account_id', '=', accountId).execute();
    await this.db.updateTable('auth_tickets').set({ used_at: new Date() }).where('tenant_id', '=', tenantId).where('account_id', '=', accountId)
      .where('purpose', 'in', ['enrol', 're-enrol', 'mfa']).where('used_at', 'is', null).execute();
    await this.revokeAll(tenantId, accountId, 'mfa-reset');
    await this.event(tenantId, by, 'account.mfa-reset', 'success', {}, `account=${accountId}`);
    const enrolTicket = await this.newTicket(tenantId, accountId, 're-enrol');
    let mailed = false;
    if (this.mailer.enabled) {
      const to = await this.accounts.email(tenantId, accountId);
      await this.mailer.send({ to, subject: 'Cerbère : nouvelle double authentification', text: `Bonjour,\n\nLa double authentification de votre compte Cerbère a été réinitialisée par un administrateur. Pour en configurer une nouvelle, ouvrez ce lien (valable 24 heures, utilisable une fois) :\n\n${this.config.publicUrl}/auth/enrol#${enrolTicket}\n\nSi vous n'avez rien demandé, prévenez votre administrateur.\n` });
      mailed = true;
    }
    return { enrolTicket, mailed };
  }

  // ---------------------------------------------------------------- single-use tickets
  async newTicket(tenantId: string, accountId: string, purpose: string, data?: string): Promise<string> {
    if (Math.random() < 0.01) await this.purgeExpired(tenantId);
    const s = secret();
    await this.db.insertInto('auth_tickets').values({ tenant_id: tenantId, ticket_hash: sha256(s), account_id: accountId, purpose, data: data ?? null,
      expires_at: new Date(Date.now() + TICKET_MINUTES[purpose] * 60_000), used_at: null }).execute();
    return `${tenantId}.${s}`;
  }

  /** Drops tickets and refresh tokens that can no longer be used (a day after expiry or use; sessions a day after their end). */
  async purgeExpired(tenantId: string): Promise<void> {
    const dayAgo = new Date(Date.now() - 86_400_000);
    await this.db.deleteFrom('auth_tickets').where('tenant_id', '=', tenantId).where((eb) => eb.or([eb('expires_at', '<', dayAgo), eb('used_at', '<', dayAgo)])).execute();
    const dead = await this.db.selectFrom('auth_sessions').select('session_id').where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([eb('expires_at', '<', dayAgo), eb('revoked_at', '<', dayAgo)])).limit(1000).execute();
    if (dead.length) {
      const ids = dead.map((d) => d.session_id);
      await this.db.deleteFrom('auth_refresh_tokens').where('tenant_id', '=', tenantId).where('session_id', 'in', ids).execute();
      await this.db.deleteFrom('auth_sessions').where('tenant_id', '=', tenantId).where('session_id', 'in', ids).execute();
    }
  }

  /** Consumes a ticket (single use): the account row, or null if unknown, used, expired or of another purpose. */
  protected async consumeTicket(ticket: unknown, purposes: string[]): Promise<{ tenantId: string; account: AccountRow; data: string | null; purpose: string } | null> {
    const t = splitTicket(ticket);
    if (!t) return null;
    const r = await this.db.updateTable('auth_tickets').set({ used_at: new Date() })
      .where('tenant_id', '=', t.tenantId).where('ticket_hash', '=', sha256(t.secret)).where('used_at', 'is', null)
      .where('expires_at', '>', new Date()).where('purpose', 'in', purposes).returning(['account_id', 'data', 'purpose']).executeTakeFirst();
    if (!r) return null;
    const account = await this.accounts.byId(t.tenantId, r.account_id);
    if (!account || account.status === 'disabled') return null;
    return { tenantId: t.tenantId, account, data: r.data, purpose: r.purpose };
  }

  /** Reads a ticket without consuming it (MFA challenges allow a few attempts). */
  protected async peekTicket(ticket: unknown, purpose: string | string[]): Promise<{ tenantId: string; hash: Buffer; account: AccountRow; attempts: number; data: string | null } | null> {
    const t = splitTicket(ticket);
    if (!t) return null;
    const hash = sha256(t.secret);
    const r = await this.db.selectFrom('auth_tickets').select(['account_id', 'attempts', 'data']).where('tenant_id', '=', t.tenantId).where('ticket_hash', '=', hash)
      .where('used_at', 'is', null).where('expires_at', '>', new Date()).where('purpose', 'in', Array.isArray(purpose) ? purpose : [purpose]).executeTakeFirst();
    if (!r) return null;
    const account = await this.accounts.byId(t.tenantId, r.account_id);
    if (!account || account.status === 'disabled') return null;
    return { tenantId: t.tenantId, hash, account, attempts: r.attempts, data: r.data };
  }

  protected async useTicket(tenantId: string, hash: Buffer): Promise<boolean> {
    const r = await this.db.updateTable('auth_tickets').set({ used_at: new Date() }).where('tenant_id', '=', tenantId).where('ticket_hash', '=', hash).where('used_at', 'is', null).executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  // ---------------------------------------------------------------- invitation, enrolment, reset
  /** Sets the first password; returns an enrolment ticket for the second factor. */
  async acceptInvitation(ticket: unknown, password: unknown, req: RequestInfo = {}): Promise<{ enrolTicket: string }> {
    checkPasswordPolicy(password); // before consuming: a refused password leaves the invitation usable
    const t = await this.consumeTicket(ticket, ['invite']);
    if (!t || t.account.status !== 'invited') throw new AuthError(400, 'invalid_ticket', 'the invitation is invalid, used or expired');
    await this.db.updateTable('accounts').set({ password_hash: await hashPassword(password, this.argon), status: 'active', updated_at: new Date() })
      .where('tenant_id', '=', t.tenantId).where('account_id', '=', t.account.account_id).execute();
    await this.event(t.tenantId, actorOf(t.account), 'auth.password-set', 'success', req, 'invitation');
    return { enrolTicket: await this.newTicket(t.tenantId, t.account.account_id, 'enrol') };
  }

  /** Starts TOTP enrolment: the secret (shown once, as an otpauth URI for the authenticator app). */
  async startTotpEnrolment(ticket: unknown): Promise<{ secret: string; uri: string }> {
    const t = await this.peekTicket(ticket, ['enrol', 're-enrol']);
    if (!t) throw new AuthError(400, 'invalid_ticket', 'the enrolment ticket is invalid, used or expired');
    const s = newTotpSecret();
    const enc = await this.accounts.sealTotp(t.tenantId, t.account.account_id, s);
    await this.db.updateTable('accounts').set({ totp_secret_enc: enc, totp_confirmed: false, totp_last_step: null })
      .where('tenant_id', '=', t.tenantId).where('account_id', '=', t.account.account_id).execute();
    return { secret: s, uri: totpUri(s, `Cerbère ${t.tenantId}`, t.account.account_id) };
  }

  /** Confirms TOTP with a first code; returns 10 recovery codes (shown once, stored hashed). */
  async confirmTotpEnrolment(ticket: unknown, code: unknown, req: RequestInfo = {}): Promise<{ recoveryCodes: string[] }> {
    const t = await this.peekTicket(ticket, ['enrol', 're-enrol']);
    if (!t || !t.account.totp_secret_enc) throw new AuthError(400, 'invalid_ticket', 'the enrolment ticket is invalid, used or expired');
    const s = await this.accounts.openTotp(t.tenantId, t.account.account_id, t.account.totp_secret_enc);
    const step = checkTotp(s, code, null);
    if (step === null) {
      await this.bumpAttempts(t.tenantId, t.hash, t.attempts);
      await this.event(t.tenantId, actorOf(t.account), 'auth.mfa-enrol', 'failure', req, 'totp');
      throw new AuthError(400, 'invalid_code', 'the code is not valid');
    }
    if (!(await this.useTicket(t.tenantId, t.hash))) throw new AuthError(400, 'invalid_ticket', 'the enrolment ticket is invalid, used or expired');
    const codes = Array.from({ length: 10 }, () => randomBytes(5).toString('hex').replace(/(.{5})/, '$1-'));
    await this.db.updateTable('accounts').set({ totp_confirmed: true, totp_last_step: step, recovery_hashes: codes.map((c) => sha256(c).toString('hex')), updated_at: new Date() })
      .where('tenant_id', '=', t.tenantId).where('account_id', '=', t.account.account_id).execute();
    await this.event(t.tenantId, actorOf(t.account), 'auth.mfa-enrol', 'success', req, 'totp');
    return { recoveryCodes: codes };
  }

  protected async bumpAttempts(tenantId: string, hash: Buffer, attempts: number): Promise<void> {
    // The ticket dies after MFA_ATTEMPTS wrong codes.
    await this.db.updateTable('auth_tickets').set({ attempts: attempts + 1, ...(attempts + 1 >= MFA_ATTEMPTS ? { used_at: new Date() } : {}) })
      .where('tenant_id', '=', tenantId).where('ticket_hash', '=', hash).execute();
  }

  /** Always resolves the same way; sends a reset link only when the account exists and is active. */
  async requestPasswordReset(tenantId: unknown, email: unknown, req: RequestInfo = {}): Promise<void> {
    if (typeof tenantId !== 'string' || !TENANT_ID.test(tenantId) || typeof email !== 'string' || email.length > 320) return;
    if (!(await this.tenantExists(tenantId))) return;
    const index = await this.accounts.emailIndex(tenantId, email);
    const a = await this.accounts.byEmail(tenantId, index);
    if (!a || a.status !== 'active') { await this.event(tenantId, this.unknownActor(index), 'auth.password-reset-request', 'failure', req); return; }
    const ticket = await this.newTicket(tenantId, a.account_id, 'reset');
    await this.event(tenantId, actorOf(a), 'auth.password-reset-request', 'success', req);
    if (this.mailer.enabled) {
      const to = await this.accounts.email(tenantId, a.account_id);
      // Sent in the background so the answer takes the same time whether or not the account exists.
      this.mailer.send({ to, subject: 'Cerbère : réinitialisation du mot de passe', text: `Bonjour,\n\nUne réinitialisation de votre mot de passe Cerbère a été demandée. Ce lien est valable 30 minutes et utilisable une fois :\n\n${this.config.publicUrl}/auth/reset#${ticket}\n\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message ; votre mot de passe reste inchangé.\n` })
        .catch(() => { /* reported by the mail server's logs; never retried with the address in ours */ });
    }
  }

  async confirmPasswordReset(ticket: unknown, password: unknown, req: RequestInfo = {}): Promise<void> {
    checkPasswordPolicy(password);
    const t = await this.consumeTicket(ticket, ['reset']);
    if (!t) throw new AuthError(400, 'invalid_ticket', 'the reset link is invalid, used or expired');
    await this.db.updateTable('accounts').set({ password_hash: await hashPassword(password, this.argon), updated_at: new Date() })
      .where('tenant_id', '=', t.tenantId).where('account_id', '=', t.account.account_id).execute();
    await this.revokeAll(t.tenantId, t.account.account_id, 'password-reset');
    await this.throttle.reset(t.tenantId, `acct:${Accounts.identifierHash(await this.emailIndexOf(t.tenantId, t.account.account_id))}`);
    await this.event(t.tenantId, actorOf(t.account), 'auth.password-reset', 'success', req);
  }

  async changePassword(tenantId: string, accountId: string, current: unknown, next: unknown, req: RequestInfo = {}): Promise<void> {
    const a = await this.accounts.byId(tenantId, accountId);
    if (!a?.password_hash || typeof current !== 'string' || !(await verifyPassword(a.password_hash, current))) {
      if (a) await this.event(tenantId, actorOf(a), 'auth.password-change', 'failure', req);
      throw GENERIC();
    }
    checkPasswordPolicy(next);
    await this.db.updateTable('accounts').set({ password_hash: await hashPassword(next, this.argon), updated_at: new Date() })
      .where('tenant_id', '=', tenantId).where('account_id', '=', accountId).execute();
    await this.event(tenantId, actorOf(a), 'auth.password-change', 'success', req);
  }

  protected tenantCache = new Map<string, number>();
  protected async emailIndexOf(tenantId: string, accountId: string): Promise<Buffer> {
    const r = await this.db.selectFrom('accounts').select('email_index').where('tenant_id', '=', tenantId).where('account_id', '=', accountId).executeTakeFirstOrThrow();
    return r.email_index;
  }
  protected async tenantExists(tenantId: string): Promise<boolean> {
    const t = this.tenantCache.get(tenantId);
    if (t && t > Date.now()) return true;
    const r = await this.db.selectFrom('tenants').select('tenant_id').where('tenant_id', '=', tenantId).executeTakeFirst();
    if (r) this.tenantCache.set(tenantId, Date.now() + 60_000);
    return !!r;
  }
  async revokeAll(tenantId: string, accountId: string, reason: string): Promise<number> {
    const r = await this.db.updateTable('auth_sessions').set({ revoked_at: new Date(), revoke_reason: reason }).where('tenant_id', '=', tenantId).where('account_id', '=', accountId).where('revoked_at', 'is', null).executeTakeFirst();
    for (const [k, v] of this.principalCache) if (v.account.account_id === accountId && k.startsWith(tenantId + '/')) this.principalCache.delete(k);
    return Number(r.numUpdatedRows);
  }}
