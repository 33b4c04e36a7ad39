// Passkeys (WebAuthn) as a second factor with a software authenticator: registration by a logged-in
// account, then login with password + passkey; a replayed assertion and a foreign key are refused.
// Patients: portal account linked to their Patient, e-mail code as second factor.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { testEnv, type TestEnv } from '../helpers.ts';
import { createTenant } from '../../src/store/tenants.ts';
import { systemContext } from '../../src/core/context.ts';
import { buildApp } from '../../src/server/app.ts';
import { totpNow } from '../../src/auth/totp.ts';
import { SoftAuthenticator } from '../auth/soft-authenticator.ts';
import { smtpSink, mailText } from '../auth/smtp-sink.ts';

const ORIGIN = 'https://cerbere.test';
const PASSWORD = 'Un mot de passe assez long 42';
let env: TestEnv;
let app: FastifyInstance;
let sink: Awaited<ReturnType<typeof smtpSink>>;
const post = (url: string, payload: object, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json', ...headers } });

before(async () => {
  sink = await smtpSink();
  env = await testEnv({ env: { CERBERE_PUBLIC_URL: ORIGIN, CERBERE_SMTP_URL: sink.url } });
  await createTenant(env.services.database.db, env.services.keyring, 'lab', 'Laboratoire');
  app = await buildApp(env.services, { logLevel: false });
});
after(async () => { await app.close(); await env.close(); await sink.close(); });

async function invited(kind: 'staff' | 'patient', email: string, patientId?: string) {
  const r = await env.services.auth.createAccount('lab', { kind, email, role: kind === 'patient' ? 'patient' : 'reader', siteIds: [], patientId }, { kind: 'system', id: 'test', role: 'system' });
  await sink.next();
  const acc = await post('/auth/invitation/accept', { token: r.invitation, password: PASSWORD });
  assert.equal(acc.statusCode, 200, acc.body);
  return { accountId: r.accountId, enrolTicket: acc.json().enrol_ticket as string };
}

test('passkey: register with a logged-in session, then log in with password + passkey', async () => {
  const { enrolTicket } = await invited('staff', 'passkey@example.fr');
  const { secret } = (await post('/auth/mfa/totp/enrol', { ticket: enrolTicket })).json();
  assert.equal((await post('/auth/mfa/totp/confirm', { ticket: enrolTicket, code: totpNow(secret) })).statusCode, 200);
  const l = await post('/auth/login', { tenant: 'lab', email: 'passkey@example.fr', password: PASSWORD });
  const t = (await post('/auth/login/mfa', { ticket: l.json().mfa_ticket, code: totpNow(secret, Math.floor(Date.now() / 1000) + 30) })).json();
  const auth = { authorization: `Bearer ${t.access_token}` };
  const device = new SoftAuthenticator(ORIGIN);
  const opts = await post('/auth/passkeys/options', {}, auth);
  assert.equal(opts.statusCode, 200, opts.body);
  assert.equal(opts.json().rp.id, 'cerbere.test');
  const reg = await post('/auth/passkeys', { response: device.create(opts.json()) }, auth);
  assert.equal(reg.statusCode, 201, reg.body);

  const l2 = await post('/auth/login', { tenant: 'lab', email: 'passkey@example.fr', password: PASSWORD });
  assert.ok(l2.json().methods.includes('passkey'));
  const ticket = l2.json().mfa_ticket;
  const aopts = (await post('/auth/login/passkey/options', { ticket })).json();
  const assertion = device.get(aopts);
  const ok = await post('/auth/login/passkey', { ticket, response: assertion, mode: 'token' });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.ok(ok.json().access_token);
  // The same assertion again (challenge used, counter not growing) is refused.
  const l3 = await post('/auth/login', { tenant: 'lab', email: 'passkey@example.fr', password: PASSWORD });
  assert.equal((await post('/auth/login/passkey', { ticket: l3.json().mfa_ticket, response: assertion })).statusCode, 401);
  // Another device's key is refused.
  const other = new SoftAuthenticator(ORIGIN);
  const o3 = (await post('/auth/login/passkey/options', { ticket: l3.json().mfa_ticket })).json();
  assert.equal((await post('/auth/login/passkey', { ticket: l3.json().mfa_ticket, response: other.get(o3) })).statusCode, 401);
  const ev = await env.services.database.db.selectFrom('audit_events').select(['action', 'outcome', 'detail']).where('tenant_id', '=', 'lab').where('detail', '=', 'passkey').execute();
  assert.ok(ev.some((e) => e.outcome === 'success') && ev.some((e) => e.outcome === 'failure'));
});

test('patient portal account: linked to its Patient, second factor by e-mail code', async () => {
  const p = await env.services.repo.create(systemContext('lab'), { resourceType: 'Patient', name: [{ family: 'Lefèvre' }] });
  const { accountId } = await invited('patient', 'patient@example.fr', p.resource.id);
  const l = await post('/auth/login', { tenant: 'lab', email: 'patient@example.fr', password: PASSWORD });
  assert.equal(l.statusCode, 200, l.body);
  assert.deepEqual(l.json().methods, ['email']);
  const ticket = l.json().mfa_ticket;
  assert.equal((await post('/auth/login/email-code', { ticket })).statusCode, 202);
  const mail = mailText((await sink.next()).raw);
  assert.doesNotMatch(mail, /Lefèvre|Lef=C3=A8vre/);
  const code = /connexion [^:]*: ([0-9]{6})/.exec(mail)![1];
  assert.equal((await post('/auth/login/mfa', { ticket, email_code: code === '000000' ? '111111' : '000000' })).statusCode, 401);
  const ok = await post('/auth/login/mfa', { ticket, email_code: code, mode: 'token' });
  assert.equal(ok.statusCode, 200, ok.body);
  const me = (await app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${ok.json().access_token}` } })).json();
  assert.deepEqual([me.account_id, me.kind, me.role, me.patient_id], [accountId, 'patient', 'patient', p.resource.id]);
});
