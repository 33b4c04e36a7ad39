// Authentication of people: invitation, password, second factor (TOTP, recovery code, passkey, e-mail
// code for patients), sessions (cookies for pages, access + refresh tokens for the API), reset,
// throttling and lockout. Every security-relevant step is an access event with internal ids only.
// Errors shown to a client are generic: they never tell whether an account exists.
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { AuthConfig } from '../core/config.ts';
import type { Keyring } from '../vault/keyring.ts';
import type { KeyProvider } from '../vault/key-provider.ts';
import type { AuditRecorder } from '../audit/record/recorder.ts';
import type { Actor } from '../core/context.ts';
import { Accounts, type AccountRow } from './accounts.ts';
import { argon2Busy, hashPassword, needsRehash, takeLoginCheck, verifyPassword } from './passwords.ts';
import { checkTotp } from './totp.ts';
import { openThrottle, type ThrottleStore } from './throttle.ts';
import { type AccessClaims } from './access-tokens.ts';
import { openMailer, type Mailer } from './mailer.ts';
import { TENANT_ID } from './api-tokens.ts';
import { AuthError } from './errors.ts';

import { AccountLifecycle } from './account-lifecycle.ts';
import { GENERIC, type RequestInfo, type SessionMode, type IssuedSession, sha256, secret, splitSessionSecret, actorOf } from './account-lifecycle.ts';

export { AuthError } from './errors.ts';
export { actorOf, type RequestInfo, type SessionMode, type IssuedSession } from './account-lifecycle.ts';

export class AuthService extends AccountLifecycle {
  static async open(db: Kysely<DB>, keyring: Keyring, provider: KeyProvider, audit: AuditRecorder, config: AuthConfig, opts: { throttle?: ThrottleStore; mailer?: Mailer } = {}): Promise<AuthService> {
    const throttle = opts.throttle ?? (await openThrottle(db, config.redisUrl));
    return new AuthService(db, keyring, provider, audit, config, throttle, opts.mailer ?? openMailer(config.smtpUrl, config.mailFrom));
  }






  // ---------------------------------------------------------------- login
  protected async checkLocks(tenantId: string, keys: string[]): Promise<void> {
    const now = Date.now();
    for (const k of keys) {
      const s = await this.throttle.get(tenantId, k);
      if (s.lockedUntil && s.lockedUntil > now) throw new AuthError(429, 'too_many_attempts', 'too many attempts; try again later', Math.ceil((s.lockedUntil - now) / 1000));
    }
  }

  protected async failure(tenantId: string, acctKey: string, ipKey: string | null, actor: Actor, action: string, req: RequestInfo): Promise<void> {
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

  protected dummyVerify(password: string): Promise<boolean> {
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
  protected async openSession(tenantId: string, a: AccountRow, mode: SessionMode, _req: RequestInfo): Promise<IssuedSession> {
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

  protected async newRefresh(tenantId: string, sessionId: string): Promise<string> {
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
  protected async liveSession(tenantId: string, sessionId: string, kind?: string): Promise<{ account: AccountRow; secretHash: Buffer; csrfHash: Buffer | null; lastSeen: number } | null> {
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


  async logout(tenantId: string, sessionId: string, account: AccountRow, all: boolean, req: RequestInfo = {}): Promise<void> {
    if (all) await this.revokeAll(tenantId, account.account_id, 'logout-all');
    else await this.revokeSession(tenantId, sessionId, 'logout');
    await this.event(tenantId, actorOf(account), all ? 'auth.logout-all' : 'auth.logout', 'success', req);
  }
}
