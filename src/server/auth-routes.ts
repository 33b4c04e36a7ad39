// Authentication routes (/auth/…): login (password → second factor → session cookie or tokens), TOTP
// enrolment, passkeys, refresh, logout, password reset, invitation, OAuth client credentials.
// Thin: parse, call src/auth/service.ts, format. Answers are JSON {error, error_description} on failure,
// generic for anything touching credentials; no secret, e-mail or token is ever logged.
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../detect/services.ts';
import type { AccessContext } from '../core/context.ts';
import { actorOf, type IssuedSession, type RequestInfo } from '../auth/service.ts';
import { AuthError } from '../auth/errors.ts';
import { PasswordPolicyError } from '../auth/passwords.ts';
import type { AccountRow } from '../auth/accounts.ts';
import { FhirError } from '../fhir/outcome.ts';

export const SESSION_COOKIE = '__Host-cbr_session';
export const CSRF_HEADER = 'x-csrf-token';
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

type Body = Record<string, unknown>;
const body = (req: FastifyRequest): Body => (req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Body) : {});
const info = (req: FastifyRequest): RequestInfo => ({ ip: req.ip, userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 200) : null });

function sendError(reply: FastifyReply, e: unknown): FastifyReply {
  if (e instanceof AuthError) {
    if (e.retryAfter) reply.header('retry-after', String(e.retryAfter));
    return reply.code(e.status).send({ error: e.code, error_description: e.message });
  }
  if (e instanceof PasswordPolicyError) return reply.code(400).send({ error: 'weak_password', error_description: e.message });
  throw e; // the application's handler answers 500/503 without details
}

function sessionReply(reply: FastifyReply, s: IssuedSession, services: Services) {
  reply.header('cache-control', 'no-store');
  if (s.cookie) {
    reply.setCookie(SESSION_COOKIE, s.cookie, { path: '/', httpOnly: true, secure: true, sameSite: 'strict', maxAge: services.config.auth.sessionMaxHours * 3600 });
    return { csrf_token: s.csrfToken, session: 'cookie' };
  }
  return { access_token: s.accessToken, token_type: 'Bearer', expires_in: s.expiresIn, refresh_token: s.refreshToken };
}

/** The account behind a request's access token or session cookie (CSRF checked on writes), or null if none given. */
export async function accountPrincipal(services: Services, req: FastifyRequest): Promise<{ tenantId: string; sessionId: string; account: AccountRow } | null | 'invalid'> {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) {
    const token = h.slice(7).trim();
    if (token.startsWith('cbr_')) return null; // operator API tokens: handled by the caller
    const r = await services.auth.verifyAccessToken(token);
    if (!r?.account || !r.claims.sid) return 'invalid';
    return { tenantId: r.claims.tid, sessionId: r.claims.sid, account: r.account };
  }
  const c = req.cookies?.[SESSION_COOKIE];
  if (!c) return null;
  const csrf = req.headers[CSRF_HEADER];
  const r = await services.auth.verifyCookie(c, typeof csrf === 'string' ? csrf : null, WRITE_METHODS.has(req.method));
  return r ?? 'invalid';
}

/**
 * For authenticate() in app.ts: the AccessContext of an account (access token or session cookie) or
 * of an OAuth client (access token), or null when the request carries neither (an API token, or nothing).
 */
export async function accountAccessContext(services: Services, req: FastifyRequest, purpose: string): Promise<AccessContext | null> {
  const h = req.headers.authorization;
  let result;
  try {
    if (h?.startsWith('Bearer ') && !h.slice(7).trim().startsWith('cbr_')) {
      const r = await services.auth.verifyAccessToken(h.slice(7).trim());
      if (!r) throw FhirError.unauthorized();
      if (r.claims.knd === 'client') {
        const role = await services.auth.clients.activeRole(r.claims.tid, r.claims.sub);
        if (!role) throw FhirError.unauthorized();
        return { tenantId: r.claims.tid, actor: { kind: 'client', id: r.claims.sub, role }, purpose, client: { tokenId: r.claims.sub, ip: req.ip } };
      }
    }
    result = await accountPrincipal(services, req);
  } catch (e) {
    if (e instanceof FhirError) throw e;
    if (e instanceof AuthError) throw FhirError.forbidden(e.message);
    throw FhirError.serviceUnavailable('authentication unavailable');
  }
  if (result === null) return null;
  if (result === 'invalid') throw FhirError.unauthorized();
  const site = req.headers['x-site-id'];
  if (site !== undefined && (typeof site !== 'string' || !result.account.site_ids.includes(site))) throw FhirError.forbidden('X-Site-Id is not one of the account\'s sites');
  return {
    tenantId: result.tenantId,
    actor: actorOf(result.account, typeof site === 'string' ? site : null),
    purpose,
    client: { ip: req.ip, sessionId: result.sessionId, userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 200) : null },
  };
}

export async function registerAuthRoutes(app: FastifyInstance, services: Services): Promise<void> {
  await app.register(cookie);
  const auth = services.auth;

  await app.register(async (r) => {
    r.addHook('onSend', async (_req, reply) => { reply.header('cache-control', 'no-store'); });

    const authed = async (req: FastifyRequest) => {
      const p = await accountPrincipal(services, req);
      if (!p || p === 'invalid') throw new AuthError(401, 'unauthorized', 'authentication required');
      return p;
    };
    const handle = (fn: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => async (req: FastifyRequest, reply: FastifyReply) => {
      try { return await fn(req, reply); } catch (e) { return sendError(reply, e); }
    };
    const mode = (b: Body) => (b.mode === 'cookie' ? 'cookie' : 'token') as 'cookie' | 'token';

    r.post('/login', handle(async (req) => {
      const b = body(req);
      const x = await auth.login(b.tenant, b.email, b.password, info(req));
      return { mfa_ticket: x.mfaTicket, methods: x.methods };
    }));
    r.post('/login/mfa', handle(async (req, reply) => {
      const b = body(req);
      const s = await auth.verifyMfa(b.ticket, { code: b.code, recoveryCode: b.recovery_code, emailCode: b.email_code }, mode(b), info(req));
      return sessionReply(reply, s, services);
    }));
    r.post('/login/email-code', handle(async (req, reply) => {
      await auth.sendEmailCode(body(req).ticket, info(req));
      return reply.code(202).send({ sent: true });
    }));
    r.post('/login/passkey/options', handle(async (req) => {
      const t = await auth.ticketAccount(body(req).ticket);
      if (!t) throw new AuthError(401, 'invalid_ticket', 'the login ticket is invalid, used or expired');
      return auth.passkeys.authenticationOptions(t.tenantId, t.account);
    }));
    r.post('/login/passkey', handle(async (req, reply) => {
      const b = body(req);
      const s = await auth.completeWithPasskey(b.ticket, mode(b), info(req), (tenantId, account) => auth.passkeys.authenticate(tenantId, account, b.response as never));
      return sessionReply(reply, s, services);
    }));

    r.post('/invitation/accept', handle(async (req) => {
      const b = body(req);
      const x = await auth.acceptInvitation(b.token, b.password, info(req));
      return { enrol_ticket: x.enrolTicket };
    }));
    r.post('/mfa/totp/enrol', handle(async (req) => {
      const x = await auth.startTotpEnrolment(body(req).ticket);
      return { secret: x.secret, otpauth_uri: x.uri };
    }));
    r.post('/mfa/totp/confirm', handle(async (req) => {
      const b = body(req);
      const x = await auth.confirmTotpEnrolment(b.ticket, b.code, info(req));
      return { recovery_codes: x.recoveryCodes };
    }));

    r.post('/passkeys/options', handle(async (req) => {
      const p = await authed(req);
      return auth.passkeys.registrationOptions(p.tenantId, p.account);
    }));
    r.post('/passkeys', handle(async (req, reply) => {
      const p = await authed(req);
      const ok = await auth.passkeys.register(p.tenantId, p.account, body(req).response as never);
      await auth.event(p.tenantId, actorOf(p.account), 'auth.passkey-register', ok ? 'success' : 'failure', info(req));
      if (!ok) throw new AuthError(400, 'invalid_passkey', 'the passkey could not be verified');
      return reply.code(201).send({ registered: true });
    }));

    r.post('/refresh', handle(async (req) => {
      const x = await auth.refresh(body(req).refresh_token, info(req));
      return { access_token: x.accessToken, token_type: 'Bearer', expires_in: x.expiresIn, refresh_token: x.refreshToken };
    }));
    const logout = (all: boolean) => handle(async (req, reply) => {
      const p = await authed(req);
      await auth.logout(p.tenantId, p.sessionId, p.account, all, info(req));
      reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, secure: true, sameSite: 'strict' });
      return reply.code(204).send();
    });
    r.post('/logout', logout(false));
    r.post('/logout-all', logout(true));
    r.get('/me', handle(async (req) => {
      const p = await authed(req);
      const a = p.account;
      return { account_id: a.account_id, tenant: p.tenantId, kind: a.kind, role: a.role, site_ids: a.site_ids, practitioner_id: a.practitioner_id, patient_id: a.patient_id };
    }));

    r.post('/password/forgot', handle(async (req, reply) => {
      const b = body(req);
      await auth.requestPasswordReset(b.tenant, b.email, info(req));
      return reply.code(202).send({ status: 'if the account exists, a link was sent' });
    }));
    r.post('/password/reset', handle(async (req, reply) => {
      const b = body(req);
      await auth.confirmPasswordReset(b.token, b.password, info(req));
      return reply.code(204).send();
    }));
    r.post('/password/change', handle(async (req, reply) => {
      const p = await authed(req);
      const b = body(req);
      await auth.changePassword(p.tenantId, p.account.account_id, b.current_password, b.new_password, info(req));
      return reply.code(204).send();
    }));

    // OAuth 2.0 token endpoint, client credentials + private_key_jwt (form-encoded, RFC 6749 §4.4, RFC 7523).
    r.post('/token', handle(async (req, reply) => {
      const form: Record<string, string> = {};
      const raw = req.body;
      if (Array.isArray(raw)) for (const [k, v] of raw as [string, string][]) form[k] = v;
      else if (raw && typeof raw === 'object') for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') form[k] = v;
      let c;
      try {
        c = await auth.clients.authenticate(form);
      } catch (e) {
        if (e instanceof AuthError && e.code === 'invalid_client') {
          const m = /^cbc_([a-z0-9][a-z0-9-]{0,39})_/.exec(String(form.client_id ?? ''));
          if (m) await auth.event(m[1], { kind: 'client', id: String(form.client_id).slice(0, 60), role: 'none' }, 'auth.client-token', 'failure', info(req)).catch(() => {});
        }
        throw e;
      }
      const at = await auth.signer.issue({ sub: c.clientId, tid: c.tenantId, knd: 'client' }, services.config.auth.accessTokenSeconds);
      await auth.event(c.tenantId, { kind: 'client', id: c.clientId, role: c.role }, 'auth.client-token', 'success', info(req));
      reply.header('cache-control', 'no-store');
      return { access_token: at.token, token_type: 'bearer', expires_in: at.expiresIn, scope: `system/*.${c.role === 'reader' ? 'read' : '*'}` };
    }));
  }, { prefix: '/auth' });
}
