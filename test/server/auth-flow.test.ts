// Accounts end to end through the HTTP API (app.inject): the README path (CLI creates a staff account,
// invitation, TOTP enrolment, login, Patient read through /fhir), generic errors, lockout, TOTP replay,
// reset tokens (single use, expiry) delivered through an SMTP sink, refresh rotation and reuse
// detection, log out everywhere, cookie sessions with CSRF, OAuth client credentials (private_key_jwt).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT, exportJWK } from 'jose';
import type { FastifyInstance } from 'fastify';
import { testEnv, type TestEnv, DB_LABEL } from '../helpers.ts';
import { createTenant, addSite } from '../../src/store/tenants.ts';
import { systemContext } from '../../src/core/context.ts';
import { runCommand } from '../../src/cli/commands.ts';
import { buildApp } from '../../src/server/app.ts';
import { totpNow } from '../../src/auth/totp.ts';
import { Accounts } from '../../src/auth/accounts.ts';
import { smtpSink, mailText } from '../auth/smtp-sink.ts';
import { clearOfStepBoundary } from '../auth/totp-step.ts';

let env: TestEnv;
let app: FastifyInstance;
let sink: Awaited<ReturnType<typeof smtpSink>>;
let patientId: string;
const PASSWORD = 'Marée-haute à Vannes 1987';

async function cli(...argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runCommand(env.services, argv, { line: (t) => lines.push(t), progress: () => {} });
  return { code, lines };
}
const post = (url: string, payload: object, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json', ...headers } });

/** CLI create → invitation → TOTP enrolment; returns the account id and TOTP secret. */
async function staffAccount(email: string, role = 'reader'): Promise<{ accountId: string; secret: string; recovery: string[] }> {
  const c = await cli('user', 'create', '--tenant', 'lab', '--email', email, '--role', role, '--site', 'vannes');
  assert.equal(c.code, 0, c.lines.join('\n'));
  const accountId = /account (u[0-9a-f]{16}) created/.exec(c.lines[0])![1];
  const invitation = c.lines.at(-1)!;
  assert.ok(c.lines.join('\n').includes('/auth/invitation#'));
  const acc = await post('/auth/invitation/accept', { token: invitation, password: PASSWORD });
  assert.equal(acc.statusCode, 200, acc.body);
  const enrolTicket = acc.json().enrol_ticket;
  const en = await post('/auth/mfa/totp/enrol', { ticket: enrolTicket });
  assert.equal(en.statusCode, 200, en.body);
  const { secret, otpauth_uri } = en.json();
  assert.match(otpauth_uri, /^otpauth:\/\/totp\//);
  assert.doesNotMatch(otpauth_uri, /@/, 'no e-mail in the otpauth label');
  await clearOfStepBoundary(2); // in-process requests: milliseconds
  const conf = await post('/auth/mfa/totp/confirm', { ticket: enrolTicket, code: totpNow(secret, Math.floor(Date.now() / 1000) - 30) });
  assert.equal(conf.statusCode, 200, conf.body);
  return { accountId, secret, recovery: conf.json().recovery_codes };
}

async function loginTokens(email: string, secret: string, at = Math.floor(Date.now() / 1000), recoveryCode?: string) {
  const l = await post('/auth/login', { tenant: 'lab', email, password: PASSWORD });
  assert.equal(l.statusCode, 200, l.body);
  const m = await post('/auth/login/mfa', { ticket: l.json().mfa_ticket, ...(recoveryCode ? { recovery_code: recoveryCode } : { code: totpNow(secret, at) }), mode: 'token' });
  assert.equal(m.statusCode, 200, m.body);
  return m.json() as { access_token: string; refresh_token: string; expires_in: number };
}

before(async () => {
  sink = await smtpSink();
  env = await testEnv({ env: { CERBERE_SMTP_URL: sink.url, CERBERE_PUBLIC_URL: 'https://cerbere.test' } });
  await createTenant(env.services.database.db, env.services.keyring, 'lab', 'Laboratoire');
  await createTenant(env.services.database.db, env.services.keyring, 'other', 'Autre');
  await addSite(env.services.database.db, 'lab', 'vannes', 'Vannes');
  const p = await env.services.repo.create(systemContext('lab'), { resourceType: 'Patient', name: [{ family: 'Martin', given: ['Anne'] }], gender: 'female', birthDate: '1980-02-03' });
  patientId = p.resource.id;
  app = await buildApp(env.services, { logLevel: false });
});
after(async () => { await app.close(); await env.close(); await sink.close(); });

test(`README path (${DB_LABEL}): CLI creates a staff account, invitation, TOTP, login, read a Patient through /fhir`, async () => {
  const { accountId, secret } = await staffAccount('anne.medecin@example.fr');
  const invitationMail = await sink.next();
  assert.deepEqual(invitationMail.to, ['anne.medecin@example.fr']);
  assert.match(mailText(invitationMail.raw), /https:\/\/cerbere\.test\/auth\/invitation#lab\./);
  const t = await loginTokens('anne.medecin@example.fr', secret);
  assert.ok(t.expires_in <= 900);
  const r = await app.inject({ method: 'GET', url: `/fhir/Patient/${patientId}`, headers: { authorization: `Bearer ${t.access_token}` } });
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(r.json().name[0].family, 'Martin');
  const me = await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${t.access_token}` } });
  assert.deepEqual(me.json(), { account_id: accountId, tenant: 'lab', kind: 'staff', role: 'reader', site_ids: ['vannes'], practitioner_id: null, patient_id: null });
  // The read's access event names the account (internal id), its kind and site.
  const ev = await env.services.database.db.selectFrom('audit_events').select(['actor_kind', 'actor_id', 'site_id', 'action']).where('tenant_id', '=', 'lab').where('actor_id', '=', accountId).execute();
  assert.ok(ev.some((e) => e.action === 'read' && e.actor_kind === 'user' && e.site_id === 'vannes'), JSON.stringify(ev));
  // The e-mail is stored as ciphertext and blind index only.
  const row = await env.services.database.db.selectFrom('accounts').selectAll().where('account_id', '=', accountId).executeTakeFirstOrThrow();
  assert.ok(!JSON.stringify(row).includes('anne.medecin'));
  assert.ok(!Buffer.from(row.email_enc).toString('latin1').includes('anne.medecin'));
  assert.ok(!Buffer.from(row.totp_secret_enc!).toString('latin1').includes(secret));
  assert.match(row.password_hash!, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  // An invitation is single use.
  const again = await post('/auth/invitation/accept', { token: 'lab.' + 'A'.repeat(43), password: PASSWORD });
  assert.equal(again.statusCode, 400);
});

test('login errors are generic: unknown account, wrong password, unknown tenant look the same; events carry no e-mail', async () => {
  await staffAccount('generic@example.fr');
  await sink.next();
  const answers: [number, string][] = [];
  for (const body of [
    { tenant: 'lab', email: 'nobody@example.fr', password: PASSWORD },
    { tenant: 'lab', email: 'generic@example.fr', password: PASSWORD + 'x' },
    { tenant: 'nope', email: 'generic@example.fr', password: PASSWORD },
    { tenant: 'lab', email: 42, password: PASSWORD },
  ]) {
    const r = await post('/auth/login', body, { 'x-forwarded-for': '10.0.0.9' });
    answers.push([r.statusCode, r.body]);
  }
  assert.ok(answers.every((a) => a[0] === 401 && a[1] === answers[0][1]), JSON.stringify(answers));
  const ev = await env.services.database.db.selectFrom('audit_events').select(['actor_id', 'action', 'outcome', 'detail']).where('tenant_id', '=', 'lab').where('action', '=', 'auth.login').where('outcome', '=', 'failure').execute();
  assert.ok(ev.some((e) => /^unknown:[0-9a-f]{16}$/.test(e.actor_id)), 'unknown account named by a hash');
  assert.ok(!JSON.stringify(ev).includes('@'), 'no e-mail in events');
  assert.ok(!JSON.stringify(ev).includes('Marée'), 'no password in events');
});

test('lockout after repeated failures, for existing and unknown accounts alike; MFA attempt limit', async () => {
  const { secret } = await staffAccount('lock@example.fr');
  await sink.next();
  const db = env.services.database.db;
  for (const email of ['lock@example.fr', 'ghost@example.fr']) {
    const key = 'acct:' + Accounts.identifierHash(await env.services.auth.accounts.emailIndex('lab', email));
    const statuses = [];
    for (let i = 0; i < 8 && statuses.filter((x) => x === 401).length < 5; i++) {
      const r = await post('/auth/login', { tenant: 'lab', email, password: 'wrong password ' + i });
      statuses.push(r.statusCode);
      // Backoff after the third failure: simulate the wait by expiring the short lock.
      if (r.statusCode === 429) { assert.ok(Number(r.headers['retry-after']) <= 60); await db.updateTable('auth_throttle').set({ locked_until: new Date(Date.now() - 1) }).where('key', '=', key).execute(); }
    }
    assert.deepEqual(statuses.filter((x) => x === 401).length, 5, `${email}: ${statuses}`);
    assert.ok(statuses.includes(429), `${email}: backoff before lockout: ${statuses}`);
    const r = await post('/auth/login', { tenant: 'lab', email, password: 'wrong again' });
    assert.equal(r.statusCode, 429);
    assert.ok(Number(r.headers['retry-after']) > 14 * 60, 'locked for the lockout period');
  }
  // Even the right password is refused while locked.
  const locked = await post('/auth/login', { tenant: 'lab', email: 'lock@example.fr', password: PASSWORD });
  assert.equal(locked.statusCode, 429);
  assert.ok(Number(locked.headers['retry-after']) > 0);
  const ev = await env.services.database.db.selectFrom('audit_events').select(['action']).where('tenant_id', '=', 'lab').where('action', '=', 'auth.lockout').execute();
  assert.equal(ev.length, 2, 'one lockout event per identifier');
  // MFA: wrong codes burn the ticket after 5 attempts.
  await env.services.auth.throttle.reset('lab', 'acct:' + Accounts.identifierHash(await env.services.auth.accounts.emailIndex('lab', 'lock@example.fr')));
  const l = await post('/auth/login', { tenant: 'lab', email: 'lock@example.fr', password: PASSWORD });
  assert.equal(l.statusCode, 200, l.body);
  const ticket = l.json().mfa_ticket;
  let wrong = 0;
  for (let i = 0; i < 10 && wrong < 5; i++) {
    const r = await post('/auth/login/mfa', { ticket, code: '000000' });
    if (r.statusCode === 401) wrong++;
    else { assert.equal(r.statusCode, 429); await db.updateTable('auth_throttle').set({ locked_until: new Date(Date.now() - 1) }).where('key', 'like', 'mfa:%').execute(); }
  }
  assert.equal(wrong, 5);
  const dead = await post('/auth/login/mfa', { ticket, code: totpNow(secret) });
  assert.equal(dead.json().error, 'invalid_ticket', 'the challenge died after 5 wrong codes');
  const l2 = await post('/auth/login', { tenant: 'lab', email: 'lock@example.fr', password: PASSWORD });
  const late = await post('/auth/login/mfa', { ticket: l2.json().mfa_ticket, code: totpNow(secret) });
  assert.equal(late.statusCode, 429, 'second factor locked after 5 wrong codes, even for the right one');
});

test('a TOTP code is accepted once (replay), a recovery code once', async () => {
  const { secret, recovery } = await staffAccount('replay@example.fr');
  await sink.next();
  const now = Math.floor(Date.now() / 1000);
  await loginTokens('replay@example.fr', secret, now);
  const l = await post('/auth/login', { tenant: 'lab', email: 'replay@example.fr', password: PASSWORD });
  const r = await post('/auth/login/mfa', { ticket: l.json().mfa_ticket, code: totpNow(secret, now), mode: 'token' });
  assert.equal(r.statusCode, 401, 'same code twice');
  const ok = await post('/auth/login/mfa', { ticket: l.json().mfa_ticket, recovery_code: recovery[0], mode: 'token' });
  assert.equal(ok.statusCode, 200, ok.body);
  const l2 = await post('/auth/login', { tenant: 'lab', email: 'replay@example.fr', password: PASSWORD });
  assert.equal((await post('/auth/login/mfa', { ticket: l2.json().mfa_ticket, recovery_code: recovery[0] })).statusCode, 401);
  const ev = await env.services.database.db.selectFrom('audit_events').select(['action', 'outcome', 'detail']).where('tenant_id', '=', 'lab').where('action', '=', 'auth.mfa').execute();
  assert.ok(ev.some((e) => e.outcome === 'failure') && ev.some((e) => e.outcome === 'success' && e.detail === 'recovery'));
  assert.ok(!JSON.stringify(ev).includes(recovery[0]));
});

test('password reset: mailed link (no PHI), single use, expiry; the answer does not reveal the account', async () => {
  const { secret } = await staffAccount('reset@example.fr');
  await sink.next();
  const unknown = await post('/auth/password/forgot', { tenant: 'lab', email: 'nobody@example.fr' });
  const known = await post('/auth/password/forgot', { tenant: 'lab', email: 'reset@example.fr' });
  assert.equal(unknown.statusCode, 202);
  assert.equal(known.statusCode, 202);
  assert.equal(unknown.body, known.body);
  const mail = await sink.next();
  assert.deepEqual(mail.to, ['reset@example.fr']);
  const text = mailText(mail.raw);
  assert.doesNotMatch(text, /Martin|Anne/);
  const token = /auth\/reset#(lab\.[A-Za-z0-9_-]{43})/.exec(text)![1];
  const weak = await post('/auth/password/reset', { token, password: 'qwerty123456' });
  assert.equal(weak.statusCode, 400);
  assert.equal(weak.json().error, 'weak_password');
  const NEW = 'Une nouvelle phrase de passe 2026';
  assert.equal((await post('/auth/password/reset', { token, password: NEW })).statusCode, 204);
  assert.equal((await post('/auth/password/reset', { token, password: NEW + '!' })).statusCode, 400, 'single use');
  const l = await post('/auth/login', { tenant: 'lab', email: 'reset@example.fr', password: NEW });
  assert.equal(l.statusCode, 200);
  assert.ok((await post('/auth/login/mfa', { ticket: l.json().mfa_ticket, code: totpNow(secret) })).statusCode === 200);
  // Expiry: a token past its time is refused.
  await post('/auth/password/forgot', { tenant: 'lab', email: 'reset@example.fr' });
  const t2 = /auth\/reset#(lab\.[A-Za-z0-9_-]{43})/.exec(mailText((await sink.next()).raw))![1];
  await env.services.database.db.updateTable('auth_tickets').set({ expires_at: new Date(Date.now() - 1000) }).where('purpose', '=', 'reset').where('used_at', 'is', null).execute();
  assert.equal((await post('/auth/password/reset', { token: t2, password: NEW + ' encore' })).statusCode, 400);
  const ev = await env.services.database.db.selectFrom('audit_events').select(['action']).where('tenant_id', '=', 'lab').where('action', '=', 'auth.password-reset').execute();
  assert.equal(ev.length, 1);
});

test('refresh tokens rotate; a reused one revokes the session; logout-all ends every session', async () => {
  const { secret, recovery } = await staffAccount('refresh@example.fr');
  await sink.next();
  const t = await loginTokens('refresh@example.fr', secret);
  const r1 = await post('/auth/refresh', { refresh_token: t.refresh_token });
  assert.equal(r1.statusCode, 200, r1.body);
  const t1 = r1.json();
  assert.notEqual(t1.refresh_token, t.refresh_token);
  const reuse = await post('/auth/refresh', { refresh_token: t.refresh_token });
  assert.equal(reuse.statusCode, 401);
  assert.equal((await post('/auth/refresh', { refresh_token: t1.refresh_token })).statusCode, 401, 'the whole family is revoked');
  const read = await app.inject({ method: 'GET', url: `/fhir/Patient/${patientId}`, headers: { authorization: `Bearer ${t1.access_token}` } });
  assert.equal(read.statusCode, 401, 'access tokens of a revoked session stop working');
  // Log out everywhere.
  const a = await loginTokens('refresh@example.fr', secret, Math.floor(Date.now() / 1000) + 30);
  const b = await loginTokens('refresh@example.fr', secret, 0, recovery[1]);
  assert.equal((await post('/auth/logout-all', {}, { authorization: `Bearer ${a.access_token}` })).statusCode, 204);
  assert.equal((await app.inject({ method: 'GET', url: `/fhir/Patient/${patientId}`, headers: { authorization: `Bearer ${b.access_token}` } })).statusCode, 401);
  assert.equal((await post('/auth/refresh', { refresh_token: b.refresh_token })).statusCode, 401);
  // A forged or foreign token is refused.
  const [h, p] = a.access_token.split('.');
  const forged = JSON.parse(Buffer.from(p, 'base64url').toString());
  forged.tid = 'other';
  assert.equal((await app.inject({ method: 'GET', url: `/fhir/Patient/${patientId}`, headers: { authorization: `Bearer ${h}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${a.access_token.split('.')[2]}` } })).statusCode, 401);
});

test('idle and absolute timeouts end a session; expired rows are purged', async () => {
  const { secret, recovery } = await staffAccount('idle@example.fr');
  await sink.next();
  const db = env.services.database.db;
  const t = await loginTokens('idle@example.fr', secret);
  await db.updateTable('auth_sessions').set({ last_seen_at: new Date(Date.now() - 31 * 60_000) }).where('kind', '=', 'api').execute();
  assert.equal((await post('/auth/refresh', { refresh_token: t.refresh_token })).statusCode, 401, 'idle');
  const u = await loginTokens('idle@example.fr', secret, 0, recovery[0]);
  const sid = u.refresh_token.split('.')[1];
  const u2 = await post('/auth/refresh', { refresh_token: u.refresh_token });
  assert.equal(u2.statusCode, 200);
  await db.updateTable('auth_sessions').set({ expires_at: new Date(Date.now() - 2 * 86_400_000) }).where('session_id', '=', sid).execute();
  const r = await post('/auth/refresh', { refresh_token: u2.json().refresh_token });
  assert.equal(r.statusCode, 401, 'absolute');
  await env.services.auth.purgeExpired('lab');
  assert.equal((await db.selectFrom('auth_sessions').select('session_id').where('session_id', '=', sid).execute()).length, 0);
  assert.equal((await db.selectFrom('auth_refresh_tokens').select('session_id').where('session_id', '=', sid).execute()).length, 0);
});

test('cookie sessions: httpOnly, Secure, SameSite=Strict; writes need the CSRF token', async () => {
  const { secret } = await staffAccount('cookie@example.fr', 'service');
  await sink.next();
  const l = await post('/auth/login', { tenant: 'lab', email: 'cookie@example.fr', password: PASSWORD });
  const m = await post('/auth/login/mfa', { ticket: l.json().mfa_ticket, code: totpNow(secret), mode: 'cookie' });
  assert.equal(m.statusCode, 200, m.body);
  const setCookie = String(m.headers['set-cookie']);
  assert.match(setCookie, /^__Host-cbr_session=/);
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /Secure/);
  assert.match(setCookie, /SameSite=Strict/);
  const cookie = setCookie.split(';')[0];
  const csrf = m.json().csrf_token;
  const read = await app.inject({ method: 'GET', url: `/fhir/Patient/${patientId}`, headers: { cookie } });
  assert.equal(read.statusCode, 200, read.body);
  const resource = { resourceType: 'Patient', name: [{ family: 'Durand' }] };
  const noCsrf = await app.inject({ method: 'POST', url: '/fhir/Patient', payload: resource, headers: { cookie, 'content-type': 'application/fhir+json' } });
  assert.equal(noCsrf.statusCode, 403, noCsrf.body);
  const withCsrf = await app.inject({ method: 'POST', url: '/fhir/Patient', payload: resource, headers: { cookie, 'content-type': 'application/fhir+json', 'x-csrf-token': csrf } });
  assert.equal(withCsrf.statusCode, 201, withCsrf.body);
  assert.equal((await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie, 'x-csrf-token': csrf } })).statusCode, 204);
  assert.equal((await app.inject({ method: 'GET', url: `/fhir/Patient/${patientId}`, headers: { cookie } })).statusCode, 401);
});

test('user disable and reset-mfa through the CLI; their events', async () => {
  const { accountId, secret } = await staffAccount('disable@example.fr');
  await sink.next();
  const t = await loginTokens('disable@example.fr', secret);
  const r = await cli('user', 'reset-mfa', '--tenant', 'lab', accountId);
  assert.equal(r.code, 0, r.lines.join('\n'));
  assert.match(mailText((await sink.next()).raw), /auth\/enrol#lab\./);
  assert.equal((await post('/auth/refresh', { refresh_token: t.refresh_token })).statusCode, 401);
  const l = await post('/auth/login', { tenant: 'lab', email: 'disable@example.fr', password: PASSWORD });
  assert.equal(l.statusCode, 403, 'the password alone does not let anyone enrol a new factor');
  assert.equal(l.json().error, 'mfa_enrolment_required');
  const en = await post('/auth/mfa/totp/enrol', { ticket: r.lines.at(-1) });
  assert.equal(en.statusCode, 200, 'the operator-issued ticket does');
  const s2 = en.json().secret;
  assert.equal((await post('/auth/mfa/totp/confirm', { ticket: r.lines.at(-1), code: totpNow(s2) })).statusCode, 200);
  assert.equal((await post('/auth/login', { tenant: 'lab', email: 'disable@example.fr', password: PASSWORD })).statusCode, 200);
  assert.equal((await cli('user', 'disable', '--tenant', 'lab', accountId)).code, 0);
  assert.equal((await post('/auth/login', { tenant: 'lab', email: 'disable@example.fr', password: PASSWORD })).statusCode, 401);
  assert.notEqual((await cli('user', 'disable', '--tenant', 'lab', 'u0000000000000000')).code, 0);
  assert.notEqual((await cli('user', 'create', '--tenant', 'lab', '--email', 'x@example.fr', '--role', 'system')).code, 0);
  assert.notEqual((await cli('user', 'create', '--tenant', 'lab', '--email', 'disable@example.fr', '--role', 'reader')).code, 0, 'duplicate e-mail');
  const ev = await env.services.database.db.selectFrom('audit_events').select(['action', 'detail']).where('tenant_id', '=', 'lab').where('action', 'in', ['account.create', 'account.disable', 'account.mfa-reset']).execute();
  assert.ok(ev.some((e) => e.action === 'account.disable' && e.detail === `account=${accountId}`));
  assert.ok(ev.some((e) => e.action === 'account.mfa-reset'));
  assert.ok(!JSON.stringify(ev).includes('@'));
});

test('OAuth client credentials with private_key_jwt: token, jti replay, wrong audience, revocation-free read', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const jwk = { ...(await exportJWK(publicKey)), alg: 'ES384' };
  const { writeFileSync } = await import('node:fs');
  const file = `${env.dataDir}/client.jwk`;
  writeFileSync(file, JSON.stringify(jwk));
  const c = await cli('client', 'create', '--tenant', 'lab', '--jwk', file, '--role', 'reader');
  assert.equal(c.code, 0, c.lines.join('\n'));
  const clientId = c.lines.at(-1)!;
  const assertion = (aud = 'https://cerbere.test/auth/token', jti = randomUUID()) => new SignJWT({}).setProtectedHeader({ alg: 'ES384' })
    .setIssuer(clientId).setSubject(clientId).setAudience(aud).setJti(jti).setIssuedAt().setExpirationTime('4m').sign(privateKey);
  const form = (a: string) => app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: a }).toString() });
  const a1 = await assertion();
  const r = await form(a1);
  assert.equal(r.statusCode, 200, r.body);
  const tok = r.json();
  assert.ok(tok.expires_in <= 900);
  const read = await app.inject({ method: 'GET', url: `/fhir/Patient/${patientId}`, headers: { authorization: `Bearer ${tok.access_token}` } });
  assert.equal(read.statusCode, 200, read.body);
  assert.equal((await form(a1)).statusCode, 401, 'jti replay');
  assert.equal((await form(await assertion('https://evil.test/auth/token'))).statusCode, 401, 'wrong audience');
  const { privateKey: other } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const wrongKey = await new SignJWT({}).setProtectedHeader({ alg: 'ES384' }).setIssuer(clientId).setSubject(clientId).setAudience('https://cerbere.test/auth/token').setJti(randomUUID()).setExpirationTime('4m').sign(other);
  assert.equal((await form(wrongKey)).statusCode, 401, 'wrong key');
  const write = await app.inject({ method: 'POST', url: '/fhir/Patient', payload: { resourceType: 'Patient' }, headers: { authorization: `Bearer ${tok.access_token}`, 'content-type': 'application/fhir+json' } });
  assert.equal(write.statusCode, 403, 'reader role applies');
});
