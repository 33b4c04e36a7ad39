// The DPO's security API: alerts listed, read with the actor's timeline, acknowledged and closed; credentials
// suspended (every request then refused with an OperationOutcome) and restored; other roles refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { testEnv, tenantWithToken, testApp, type TestEnv, DB_LABEL } from '../helpers.ts';
import { createApiToken } from '../../src/auth/api-tokens.ts';

const L = `[${DB_LABEL}]`;
let env: TestEnv;
let app: FastifyInstance;
let service: string;
let dpo: string;

before(async () => {
  env = await testEnv();
  service = await tenantWithToken(env.services, 'sec');
  dpo = (await createApiToken(env.services.database.db, 'sec', 'dpo', 'DPO')).token;
  app = await testApp(env);
});
after(async () => { await app.close(); await env.close(); });

const call = (method: 'GET' | 'POST', url: string, token: string, payload?: unknown) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) }, payload: payload ? JSON.stringify(payload) : undefined });
const tokenId = (t: string) => t.split('_')[2];

test(`${L} the DPO lists, reads, acknowledges and closes an alert; a service token may not`, async () => {
  const svcId = tokenId(service);
  const r0 = await call('GET', '/fhir/Patient?_count=1', service);
  assert.equal(r0.statusCode, 200);
  const a = await env.services.watch.raise({ tenantId: 'sec', kind: 'volume', severity: 'medium', actor: { kind: 'token', id: svcId }, tokenId: svcId, at: new Date(), patients: 12, evidence: [1], summary: `token ${svcId} read 12 patients`, dedupKey: `sec|volume|token:${svcId}` });
  assert.equal((await call('GET', '/watch/alerts', service)).statusCode, 403);
  const list = await call('GET', '/watch/alerts', dpo);
  assert.equal(list.statusCode, 200);
  assert.equal(list.json().alerts[0].id, a.id);
  assert.equal(list.json().alerts[0].credentialState, 'active');
  const one = (await call('GET', `/watch/alerts/${a.id}`, dpo)).json();
  assert.ok(one.timeline.length >= 1 && one.timeline.every((t: any) => typeof t.patients === 'number' && !('patientIds' in t)));
  assert.equal((await call('POST', `/watch/alerts/${a.id}/ack`, dpo, { note: 'looking' })).json().state, 'acknowledged');
  assert.equal((await call('POST', `/watch/alerts/${a.id}/close`, dpo, {})).json().state, 'closed');
  assert.equal((await call('GET', '/watch/alerts/not-an-alert', dpo)).json().resourceType, 'OperationOutcome');
});

test(`${L} a suspended token gets 403 with an OperationOutcome until the DPO restores it`, async () => {
  const svcId = tokenId(service);
  const bad = await call('POST', '/watch/credentials/suspend', dpo, { kind: 'token', id: svcId, reason: 'short' });
  assert.equal(bad.statusCode, 400);
  const s = await call('POST', '/watch/credentials/suspend', dpo, { kind: 'token', id: svcId, reason: 'reads at night from an unknown address' });
  assert.equal(s.json().state, 'suspended');
  const r = await call('GET', '/fhir/Patient?_count=1', service);
  assert.equal(r.statusCode, 403);
  assert.equal(r.json().resourceType, 'OperationOutcome');
  assert.match(r.json().issue[0].diagnostics, /suspended/);
  assert.equal((await call('GET', '/watch/credentials', dpo)).json().credentials.length, 1);
  const back = await call('POST', '/watch/credentials/restore', dpo, { kind: 'token', id: svcId, reason: 'the integration was checked with the lab' });
  assert.equal(back.json().state, 'active');
  assert.equal((await call('GET', '/fhir/Patient?_count=1', service)).statusCode, 200);
});
