// Authentication of people: invitation, password, second factor (TOTP, recovery code, passkey, e-mail
// code for patients), sessions (cookies for pages, access + refresh tokens for the API), reset,
// throttling and lockout. Every security-relevant step is an access event with internal ids only.
// Errors shown to a client are generic: they never tell whether an account exists.
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { AuthConfig } from '../core/config.ts';
import type { Keyring } from '../vault/keyring.ts';
import type { KeyProvider } from '../vault/key-provider.ts';
import type { AuditRecorder, AccessEvent } from '../audit/record/recorder.ts';
import type { AccessContext, Actor } from '../core/context.ts';
import { Accounts, type AccountRow, type AccountKind } from './accounts.ts';
import { argon2Busy, checkPasswordPolicy, hashPassword, needsRehash, setArgon2Concurrency, setLoginCheckBudget, takeLoginCheck, verifyPassword, type Argon2Params } from './passwords.ts';
import { checkTotp, newTotpSecret, totpUri } from './totp.ts';
import { openThrottle, type ThrottleRule, type ThrottleStore } from './throttle.ts';
import { AccessTokenSigner, type AccessClaims } from './access-tokens.ts';
import { openMailer, type Mailer } from './mailer.ts';
import { TENANT_ID } from './api-tokens.ts';
import { ClientAuthenticator } from './clients.ts';
import { Passkeys } from './webauthn.ts';
import { AuthError } from './errors.ts';

export { AuthError };
const GENERIC = () => new AuthError(401, 'invalid_credentials', 'authentication failed');

export interface RequestInfo { ip?: string | null; userAgent?: string | null }
export type SessionMode = 'cookie' | 'token';
export interface IssuedSession {
  sessionId: string;
  /** cookie mode: the session cookie value and its CSRF token. */
  cookie?: string; csrfToken?: string;
  /** token mode: access and refresh tokens. */
  accessToken?: string; refreshToken?: string; expiresIn?: number;
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest();
const secret = () => randomBytes(32).toString('base64url');
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const SESSION_ID = /^s[0-9a-f]{24}$/;
const TICKET_MINUTES: Record<string, number> = { invite: 7 * 24 * 60, reset: 30, mfa: 5, enrol: 15, 're-enrol': 24 * 60 };
const MFA_ATTEMPTS = 5;

/** "<tenant>.<secret>" → parts, or null. */
function splitTicket(t: unknown): { tenantId: string; secret: string } | null {
  if (typeof t !== 'string') return null;
  const i = t.indexOf('.');
  if (i < 0) return null;
  const tenantId = t.slice(0, i);
  const s = t.slice(i + 1);
  return TENANT_ID.test(tenantId) && SECRET.test(s) ? { tenantId, secret: s } : null;
}
/** "<tenant>.<sessionId>.<secret>" → parts, or null. */
function splitSessionSecret(t: unknown): { tenantId: string; sessionId: string; secret: string } | null {
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

interface SessionPrincipal { account: AccountRow; sessionId: string; until: number }

export class AuthService {
  readonly accounts: Accounts;
  readonly signer: AccessTokenSigner;
  readonly clients: ClientAuthenticator;
  readonly passkeys: Passkeys;
  private readonly argon: Argon2Params;
  private readonly principalCache = new Map<string, SessionPrincipal>();
  private dummyHash: Promise<string> | null = null;

  private constructor(
    private readonly db: Kysely<DB>,
    keyring: Keyring,
    provider: KeyProvider,
    private readonly audit: AuditRecorder,
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

  static async open(db: Kysely<DB>, keyring: Keyring, provider: KeyProvider, audit: AuditRecorder, config: AuthConfig, opts: { throttle?: ThrottleStore; mailer?: Mailer } = {}): Promise<AuthService> {
    const throttle = opts.throttle ?? (await openThrottle(db, config.redisUrl));
    return new AuthService(db, keyring, provider, audit, config, throttle, opts.mailer ?? openMailer(config.smtpUrl, config.mailFrom));
  }

  async close(): Promise<void> { await this.throttle.close(); this.mailer.close(); }

  private accountRule(): ThrottleRule { return { lockAfter: this.config.lockoutFailures, lockMs: this.config.lockoutMinutes * 60_000, backoffAfter: 3, windowMs: this.config.lockoutMinutes * 60_000 }; }
  private ipRule(): ThrottleRule { return { lockAfter: this.config.ipFailures, lockMs: this.config.lockoutMinutes * 60_000, backoffAfter: this.config.ipFailures, windowMs: this.config.lockoutMinutes * 60_000 }; }

  // ---------------------------------------------------------------- events
  private ctx(tenantId: string, actor: Actor, req: RequestInfo = {}, sessionId?: string | null): AccessContext {
    return { tenantId, actor, purpose: 'HSYSADMIN', client: { ip: req.ip ?? null, sessionId: sessionId ?? null } };
  }
  async event(tenantId: string, actor: Actor, action: string, outcome: AccessEvent['outcome'], req: RequestInfo = {}, detail?: string): Promise<void> {
    await this.audit.record(this.ctx(tenantId, actor, req), { action, outcome, resourceRefs: [], patientIds: [], detail });
  }
  private unknownActor(index: Buffer): Actor { return { kind: 'user', id: `unknown:${Accounts.identifierHash(index)}`, role: 'none' }; }

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
  private async consumeTicket(ticket: unknown, purposes: string[]): Promise<{ tenantId: string; account: AccountRow; data: string | null; purpose: string } | null> {
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
  private async peekTicket(ticket: unknown, purpose: string | string[]): Promise<{ tenantId: string; hash: Buffer; account: AccountRow; attempts: number; data: string | null } | null> {
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

  private async useTicket(tenantId: string, hash: Buffer): Promise<boolean> {
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

  private async bumpAttempts(tenantId: string, hash: Buffer, attempts: number): Promise<void> {
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

  private async emailIndexOf(tenantId: string, accountId: string): Promise<Buffer> {
    const r = await this.db.selectFrom('accounts').select('email_index').where('tenant_id', '=', tenantId).where('account_id', '=', accountId).executeTakeFirstOrThrow();
    return r.email_index;
  }

  private tenantCache = new Map<string, number>();
  private async tenantExists(tenantId: string): Promise<boolean> {
    const t = this.tenantCache.get(tenantId);
    if (t && t > Date.now()) return true;
    const r = await this.db.selectFrom('tenants').select('tenant_id').where('tenant_id', '=', tenantId).executeTakeFirst();
    if (r) this.tenantCache.set(tenantId, Date.now() + 60_000);
    return !!r;
  }

  // ---------------------------------------------------------------- login
  private async checkLocks(tenantId: string, keys: string[]): Promise<void> {
    const now = Date.now();
    for (const k of keys) {
      const s = await this.throttle.get(tenantId, k);
      if (s.lockedUntil && s.lockedUntil > now) throw new AuthError(429, 'too_many_attempts', 'too many attempts; try again later', Math.ceil((s.lockedUntil - now) / 1000));
    }
  }

  private async failure(tenantId: string, acctKey: string, ipKey: string | null, actor: Actor, action: string, req: RequestInfo): Promise<void> {
    const a = await this.throttle.fail(tenantId, acctKey, this.accountRule());
    if (ipKey) await this.throttle.fail(tenantId, ipKey, this.ipRule());
    await this.event(tenantId, actor, action, 'failure', req);
    if (a.locked && a.failures === this.config.lockoutFailures) await this.event(tenantId, actor, 'auth.lockout', 'denied', req, `minutes=${this.config.lockoutMinutes}`);
  }

  /**
   * First step: tenant, e-mail and password. Answers an MFA challenge ticket. Unknown account, wrong password, disabled account:
   * the same error after the same work (a dummy argon2 verification when there is no hash).
   */
  async login(tenantId: unknown, email: unknown, password: unknown, req: RequestInfo = {}): Promise<{ mfaTicket: string; methods: string[] }> {
    if (typeof tenantId !== 'string' || !TENANT_ID.test(tenantId) || typeof email !== 'string' || email.length > 320 || typeof password !== 'string') throw GENERIC();
    // Load shedding, the same for every e-mail: too many password checks waiting, or the budget spent.
    if (argon2Busy() || !takeLoginCheck()) throw new AuthError(503, 'busy', 'the server is busy; try again shortly', 1);
    if (!(await this.tenantExists(tenantId))) { await this.dummyVerify(password); throw GENERIC(); }
    const index = await this.accounts.emailIndex(tenantId, email);
    const acctKey = `acct:${Accounts.identifierHash(index)}`;
    const ipKey = req.ip ? `ip:${req.ip}` : null;
    await this.checkLocks(tenantId, ipKey ? [acctKey, ipKey] : [acctKey]);
    const a = await this.accounts.byEmail(tenantId, index);
    const ok = a?.password_hash ? await verifyPassword(a.password_hash, password) : await this.dummyVerify(password);
    if (!a || !ok || a.status !== 'active') {
      await this.failure(tenantId, acctKey, ipKey, a ? actorOf(a) : this.unknownActor(index), 'auth.login', req);
      throw GENERIC();
    }
    await this.throttle.reset(tenantId, acctKey);
    if (needsRehash(a.password_hash!, this.argon)) {
      await this.db.updateTable('accounts').set({ password_hash: await hashPassword(password, this.argon) }).where('tenant_id', '=', tenantId).where('account_id', '=', a.account_id).execute();
    }
    await this.event(tenantId, actorOf(a), 'auth.login', 'success', req, 'password');
    const passkeys = await this.db.selectFrom('webauthn_credentials').select(sql<number>`count(*)::int`.as('n')).where('tenant_id', '=', tenantId).where('account_id', '=', a.account_id).executeTakeFirst();
    const methods = [...(a.totp_confirmed ? ['totp', 'recovery'] : []), ...((passkeys?.n ?? 0) > 0 ? ['passkey'] : [])];
    if (a.kind === 'patient' && !methods.length) methods.push('email');
    // Staff without a second factor (invitation not finished, or MFA reset): only the enrolment link
    // handed over by an operator lets them in; the password alone opens nothing.
    if (!methods.length) throw new AuthError(403, 'mfa_enrolment_required', 'a second factor must be enrolled first: use the enrolment link given by your administrator');
    return { mfaTicket: await this.newTicket(tenantId, a.account_id, 'mfa', String(a.mfa_generation)), methods };
  }

  private dummyVerify(password: string): Promise<boolean> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'), this.argon);
    return this.dummyHash.then((h) => verifyPassword(h, password)).then(() => false);
  }

  /** Patients without TOTP or passkey: a 6-digit code by e-mail, bound to the MFA ticket. */
  async sendEmailCode(ticket: unknown, req: RequestInfo = {}): Promise<void> {
    const t = await this.peekTicket(ticket, 'mfa');
    if (!t || t.account.kind !== 'patient') throw new AuthError(400, 'invalid_ticket', 'the login ticket is invalid, used or expired');
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.db.updateTable('auth_tickets').set({ data: `${t.account.mfa_generation}|${sha256(code).toString('hex')}` }).where('tenant_id', '=', t.tenantId).where('ticket_hash', '=', t.hash).execute();
    if (!this.mailer.enabled) throw new AuthError(503, 'mail_unavailable', 'e-mail codes are not available on this server');
    const to = await this.accounts.email(t.tenantId, t.account.account_id);
    await this.mailer.send({ to, subject: 'Cerbère : code de connexion', text: `Votre code de connexion Cerbère : ${code}\n\nIl est valable 5 minutes. Ne le communiquez à personne.\n` });
    await this.event(t.tenantId, actorOf(t.account), 'auth.mfa-email-sent', 'success', req);
  }

  /** Second step: a TOTP code, a recovery code or an e-mail code. Opens a session. */
  async verifyMfa(ticket: unknown, input: { code?: unknown; recoveryCode?: unknown; emailCode?: unknown }, mode: SessionMode, req: RequestInfo = {}): Promise<IssuedSession & { accountId: string; tenantId: string }> {
    const t = await this.peekTicket(ticket, 'mfa');
    if (!t) throw new AuthError(401, 'invalid_ticket', 'the login ticket is invalid, used or expired');
    const a = t.account;
    const mfaKey = `mfa:${a.account_id}`;
    await this.checkLocks(t.tenantId, [mfaKey]);
    if (t.data?.split('|')[0] !== String(a.mfa_generation)) throw new AuthError(401, 'invalid_ticket', 'the login ticket is invalid, used or expired');
    let ok = false;
    let method = '';
    if (typeof input.code === 'string' && a.totp_confirmed && a.totp_secret_enc) {
      method = 'totp';
      const s = await this.accounts.openTotp(t.tenantId, a.account_id, a.totp_secret_enc);
      const last = a.totp_last_step === null ? null : Number(a.totp_last_step);
      const step = checkTotp(s, input.code, last);
      if (step !== null) {
        // Compare-and-set on the last step: two servers accepting the same code at once cannot both win.
        const r = await this.db.updateTable('accounts').set({ totp_last_step: step }).where('tenant_id', '=', t.tenantId).where('account_id', '=', a.account_id)
          .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', String(step))])).executeTakeFirst();
        ok = r.numUpdatedRows > 0n;
      }
    } else if (typeof input.recoveryCode === 'string' && input.recoveryCode.length < 40) {
      method = 'recovery';
      const h = sha256(input.recoveryCode.trim().toLowerCase()).toString('hex');
      if (a.recovery_hashes.includes(h)) {
        const r = await this.db.updateTable('accounts').set({ recovery_hashes: sql`array_remove(recovery_hashes, ${h})` })
          .where('tenant_id', '=', t.tenantId).where('account_id', '=', a.account_id).where(sql<boolean>`${h} = any(recovery_hashes)`).executeTakeFirst();
        ok = r.numUpdatedRows > 0n;
      }
    } else if (typeof input.emailCode === 'string' && a.kind === 'patient') {
      method = 'email';
      const stored = t.data?.split('|')[1];
      if (stored && /^[0-9]{6}$/.test(input.emailCode)) {
        const given = sha256(input.emailCode);
        ok = timingSafeEqual(given, Buffer.from(stored, 'hex'));
      }
    }
    if (!ok) {
      await this.bumpAttempts(t.tenantId, t.hash, t.attempts);
      const f = await this.throttle.fail(t.tenantId, mfaKey, this.accountRule());
      await this.event(t.tenantId, actorOf(a), 'auth.mfa', 'failure', req, method || 'none');
      if (f.locked && f.failures === this.config.lockoutFailures) await this.event(t.tenantId, actorOf(a), 'auth.lockout', 'denied', req, 'mfa');
      throw new AuthError(401, 'invalid_code', 'the code is not valid');
    }
    if (!(await this.useTicket(t.tenantId, t.hash))) throw new AuthError(401, 'invalid_ticket', 'the login ticket is invalid, used or expired');
    await this.throttle.reset(t.tenantId, mfaKey);
    await this.event(t.tenantId, actorOf(a), 'auth.mfa', 'success', req, method);
    return { ...(await this.openSession(t.tenantId, a, mode, req)), accountId: a.account_id, tenantId: t.tenantId };
  }

  /** Passkey second factor: the caller verified the WebAuthn assertion for this ticket's account. */
  async completeWithPasskey(ticket: unknown, mode: SessionMode, req: RequestInfo, check: (tenantId: string, account: AccountRow) => Promise<boolean>): Promise<IssuedSession & { accountId: string; tenantId: string }> {
    const t = await this.peekTicket(ticket, 'mfa');
    if (!t) throw new AuthError(401, 'invalid_ticket', 'the login ticket is invalid, used or expired');
    const mfaKey = `mfa:${t.account.account_id}`;
    await this.checkLocks(t.tenantId, [mfaKey]);
    if (!(await check(t.tenantId, t.account))) {
      await this.bumpAttempts(t.tenantId, t.hash, t.attempts);
      await this.throttle.fail(t.tenantId, mfaKey, this.accountRule());
      await this.event(t.tenantId, actorOf(t.account), 'auth.mfa', 'failure', req, 'passkey');
      throw new AuthError(401, 'invalid_code', 'the passkey could not be verified');
    }
    if (!(await this.useTicket(t.tenantId, t.hash))) throw new AuthError(401, 'invalid_ticket', 'the login ticket is invalid, used or expired');
    await this.event(t.tenantId, actorOf(t.account), 'auth.mfa', 'success', req, 'passkey');
    return { ...(await this.openSession(t.tenantId, t.account, mode, req)), accountId: t.account.account_id, tenantId: t.tenantId };
  }

  /** Account of an MFA ticket (for passkey options), without consuming it. */
  async ticketAccount(ticket: unknown): Promise<{ tenantId: string; account: AccountRow } | null> {
    const t = await this.peekTicket(ticket, 'mfa');
    return t ? { tenantId: t.tenantId, account: t.account } : null;
  }

  // ---------------------------------------------------------------- sessions
  private async openSession(tenantId: string, a: AccountRow, mode: SessionMode, _req: RequestInfo): Promise<IssuedSession> {
    const sessionId = 's' + randomBytes(12).toString('hex');
    const expiresAt = new Date(Date.now() + this.config.sessionMaxHours * 3_600_000);
    if (mode === 'cookie') {
      const s = secret();
      const csrf = secret();
      await this.db.insertInto('auth_sessions').values({ tenant_id: tenantId, session_id: sessionId, account_id: a.account_id, kind: 'cookie', secret_hash: sha256(s), csrf_hash: sha256(csrf), expires_at: expiresAt, revoked_at: null, revoke_reason: null }).execute();
      return { sessionId, cookie: `${tenantId}.${sessionId}.${s}`, csrfToken: csrf };
    }
    await this.db.insertInto('auth_sessions').values({ tenant_id: tenantId, session_id: sessionId, account_id: a.account_id, kind: 'api', secret_hash: Buffer.alloc(0), csrf_hash: null, expires_at: expiresAt, revoked_at: null, revoke_reason: null }).execute();
    const refresh = await this.newRefresh(tenantId, sessionId);
    const at = await this.signer.issue({ sub: a.account_id, tid: tenantId, knd: a.kind === 'patient' ? 'patient' : 'user', sid: sessionId }, this.config.accessTokenSeconds);
    return { sessionId, accessToken: at.token, refreshToken: refresh, expiresIn: at.expiresIn };
  }

  private async newRefresh(tenantId: string, sessionId: string): Promise<string> {
    const s = secret();
    await this.db.insertInto('auth_refresh_tokens').values({ tenant_id: tenantId, token_hash: sha256(s), session_id: sessionId, used_at: null }).execute();
    return `${tenantId}.${sessionId}.${s}`;
  }

  /** Rotates a refresh token. A token presented twice revokes its whole session (theft detected). */
  async refresh(token: unknown, req: RequestInfo = {}): Promise<{ accessToken: string; refreshToken: string; expiresIn: number }> {
    const p = splitSessionSecret(token);
    if (!p) throw new AuthError(401, 'invalid_grant', 'the refresh token is invalid');
    const row = await this.db.selectFrom('auth_refresh_tokens').select(['session_id', 'used_at']).where('tenant_id', '=', p.tenantId).where('token_hash', '=', sha256(p.secret)).executeTakeFirst();
    if (!row || row.session_id !== p.sessionId) throw new AuthError(401, 'invalid_grant', 'the refresh token is invalid');
    const session = await this.liveSession(p.tenantId, p.sessionId, 'api');
    if (row.used_at) {
      if (session) {
        await this.revokeSession(p.tenantId, p.sessionId, 'refresh-reuse');
        await this.event(p.tenantId, actorOf(session.account), 'auth.refresh-reuse', 'denied', req, `session=${p.sessionId}`);
      }
      throw new AuthError(401, 'invalid_grant', 'the refresh token is invalid');
    }
    if (!session) throw new AuthError(401, 'invalid_grant', 'the refresh token is invalid');
    const used = await this.db.updateTable('auth_refresh_tokens').set({ used_at: new Date() }).where('tenant_id', '=', p.tenantId).where('token_hash', '=', sha256(p.secret)).where('used_at', 'is', null).executeTakeFirst();
    if (used.numUpdatedRows === 0n) { await this.revokeSession(p.tenantId, p.sessionId, 'refresh-reuse'); throw new AuthError(401, 'invalid_grant', 'the refresh token is invalid'); }
    await this.db.updateTable('auth_sessions').set({ last_seen_at: new Date() }).where('tenant_id', '=', p.tenantId).where('session_id', '=', p.sessionId).execute();
    const a = session.account;
    const at = await this.signer.issue({ sub: a.account_id, tid: p.tenantId, knd: a.kind === 'patient' ? 'patient' : 'user', sid: p.sessionId }, this.config.accessTokenSeconds);
    return { accessToken: at.token, refreshToken: await this.newRefresh(p.tenantId, p.sessionId), expiresIn: at.expiresIn };
  }

  /** The session's account when the session is live (not revoked, not past idle or absolute expiry, account active). */
  private async liveSession(tenantId: string, sessionId: string, kind?: string): Promise<{ account: AccountRow; secretHash: Buffer; csrfHash: Buffer | null; lastSeen: number } | null> {
    const s = await this.db.selectFrom('auth_sessions').select(['account_id', 'kind', 'secret_hash', 'csrf_hash', 'last_seen_at', 'expires_at', 'revoked_at'])
      .where('tenant_id', '=', tenantId).where('session_id', '=', sessionId).executeTakeFirst();
    if (!s || s.revoked_at || (kind && s.kind !== kind)) return null;
    const now = Date.now();
    const lastSeen = new Date(s.last_seen_at).getTime();
    if (new Date(s.expires_at).getTime() <= now || lastSeen + this.config.sessionIdleMinutes * 60_000 <= now) return null;
    const account = await this.accounts.byId(tenantId, s.account_id);
    if (!account || account.status !== 'active') return null;
    return { account, secretHash: s.secret_hash, csrfHash: s.csrf_hash, lastSeen };
  }

  /** Cookie session → account, checking the secret, and the CSRF token for writes. */
  async verifyCookie(cookie: string, csrf: string | null, write: boolean): Promise<{ tenantId: string; sessionId: string; account: AccountRow } | null> {
    const p = splitSessionSecret(cookie);
    if (!p) return null;
    const s = await this.liveSession(p.tenantId, p.sessionId, 'cookie');
    if (!s || !timingSafeEqual(s.secretHash, sha256(p.secret))) return null;
    if (write && (!csrf || !s.csrfHash || !timingSafeEqual(s.csrfHash, sha256(csrf)))) throw new AuthError(403, 'csrf', 'missing or invalid CSRF token');
    if (Date.now() - s.lastSeen > 60_000) {
      await this.db.updateTable('auth_sessions').set({ last_seen_at: new Date() }).where('tenant_id', '=', p.tenantId).where('session_id', '=', p.sessionId).execute();
    }
    return { tenantId: p.tenantId, sessionId: p.sessionId, account: s.account };
  }

  /** Access token → claims and account (user/patient) with a live session. Cached 5 s per session. */
  async verifyAccessToken(token: string): Promise<{ claims: AccessClaims; account?: AccountRow } | null> {
    const claims = await this.signer.verify(token);
    if (!claims) return null;
    if (claims.knd === 'client') return { claims };
    if (!claims.sid) return null;
    const key = `${claims.tid}/${claims.sid}`;
    const hit = this.principalCache.get(key);
    if (hit && hit.until > Date.now()) return hit.account.account_id === claims.sub ? { claims, account: hit.account } : null;
    const s = await this.liveSession(claims.tid, claims.sid, 'api');
    if (!s || s.account.account_id !== claims.sub) { this.principalCache.delete(key); return null; }
    if (this.principalCache.size > 10_000) this.principalCache.clear();
    this.principalCache.set(key, { account: s.account, sessionId: claims.sid, until: Date.now() + 5_000 });
    return { claims, account: s.account };
  }

  async revokeSession(tenantId: string, sessionId: string, reason: string): Promise<void> {
    await this.db.updateTable('auth_sessions').set({ revoked_at: new Date(), revoke_reason: reason }).where('tenant_id', '=', tenantId).where('session_id', '=', sessionId).where('revoked_at', 'is', null).execute();
    this.principalCache.delete(`${tenantId}/${sessionId}`);
  }

  /** Log out everywhere: every session (cookie and API) of the account. Access tokens die within 5 s. */
  async revokeAll(tenantId: string, accountId: string, reason: string): Promise<number> {
    const r = await this.db.updateTable('auth_sessions').set({ revoked_at: new Date(), revoke_reason: reason }).where('tenant_id', '=', tenantId).where('account_id', '=', accountId).where('revoked_at', 'is', null).executeTakeFirst();
    for (const [k, v] of this.principalCache) if (v.account.account_id === accountId && k.startsWith(tenantId + '/')) this.principalCache.delete(k);
    return Number(r.numUpdatedRows);
  }

  async logout(tenantId: string, sessionId: string, account: AccountRow, all: boolean, req: RequestInfo = {}): Promise<void> {
    if (all) await this.revokeAll(tenantId, account.account_id, 'logout-all');
    else await this.revokeSession(tenantId, sessionId, 'logout');
    await this.event(tenantId, actorOf(account), all ? 'auth.logout-all' : 'auth.logout', 'success', req);
  }
}
