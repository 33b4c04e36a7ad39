// No access without its event: when the access log or the key provider cannot serve, reads fail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { testEnv, tenantWithToken, testApp, type TestEnv, DB_LABEL } from '../helpers.ts';
import { LocalKeyFileProvider } from '../../src/vault/key-provider.ts';

class SwitchableProvider extends LocalKeyFileProvider {
  down = false;
  override async unwrap(w: Buffer, c: string) { if (this.down) throw new Error('HSM unreachable'); return super.unwrap(w, c); }
}

let env: TestEnv;
let app: FastifyInstance;
let token: string;
const provider = new SwitchableProvider(randomBytes(32));

before(async () => {
  env = await testEnv({ provider });
  app = await testApp(env);
  token = await tenantWithToken(env.services, 'fc');
});
after(async () => { await app.close(); await env.close(); });

test(`[${DB_LABEL}] every read writes an access event with internal ids only`, async () => {
  const headers = { authorization: `Bearer ${token}` };
  const p = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: { resourceType: 'Patient', name: [{ family: 'Audité' }], birthDate: '1970-01-02' } })).body);
  const r = await app.inject({ url: `/fhir/Patient/${p.id}`, headers });
  assert.equal(r.statusCode, 200);
  const rows = await env.services.database.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', 'fc').execute();
  const read = rows.find((e) => e.action === 'read');
  assert.ok(read);
  assert.deepEqual(read.patient_ids, [p.id]);
  assert.deepEqual(read.resource_refs, [`Patient/${p.id}`]);
  assert.ok(!JSON.stringify(rows).includes('Audité') && !JSON.stringify(rows).includes('1970-01-02'));
});

test(`[${DB_LABEL}] reads fail when the access log cannot be written`, async () => {
  const headers = { authorization: `Bearer ${token}` };
  const p = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: { resourceType: 'Patient', name: [{ family: 'Ferméparsécurité' }] } })).body);
  const db = env.services.database.db;
  await sql`alter table audit_events rename to audit_events_off`.execute(db);
  try {
    const r = await app.inject({ url: `/fhir/Patient/${p.id}`, headers });
    assert.equal(r.statusCode, 503);
    assert.ok(!r.body.includes('Ferméparsécurité'));
    assert.equal(JSON.parse(r.body).resourceType, 'OperationOutcome');
    const s = await app.inject({ url: '/fhir/Patient?family=Ferméparsécurité', headers });
    assert.equal(s.statusCode, 503);
    assert.ok(!s.body.includes('Ferméparsécurité'));
    const w = await app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: { resourceType: 'Patient' } });
    assert.equal(w.statusCode, 503);
  } finally {
    await sql`alter table audit_events_off rename to audit_events`.execute(db);
  }
  assert.equal((await app.inject({ url: `/fhir/Patient/${p.id}`, headers })).statusCode, 200);
});

test(`[${DB_LABEL}] reads fail when the key provider is unavailable`, async () => {
  const headers = { authorization: `Bearer ${token}` };
  const p = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: { resourceType: 'Patient', name: [{ family: 'Clé' }] } })).body);
  provider.down = true;
  env.services.keyring.evictAll();
  try {
    const r = await app.inject({ url: `/fhir/Patient/${p.id}`, headers });
    assert.equal(r.statusCode, 503);
    assert.match(JSON.parse(r.body).issue[0].diagnostics, /key provider/);
  } finally {
    provider.down = false;
  }
  assert.equal((await app.inject({ url: `/fhir/Patient/${p.id}`, headers })).statusCode, 200);
});
