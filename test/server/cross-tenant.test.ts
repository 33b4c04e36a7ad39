// Tenant isolation: tenant A's token can neither read, find, reference nor infer tenant B's data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { testEnv, tenantWithToken, testApp, type TestEnv, DB_LABEL } from '../helpers.ts';

let env: TestEnv;
let app: FastifyInstance;
let a: string;
let b: string;
let bPatient: any;

before(async () => {
  env = await testEnv();
  app = await testApp(env);
  a = await tenantWithToken(env.services, 'tenant-a');
  b = await tenantWithToken(env.services, 'tenant-b');
  bPatient = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Patient', headers: { authorization: `Bearer ${b}` }, payload: {
    resourceType: 'Patient', name: [{ family: 'Secretb' }], identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.10', value: '255081416802538' }], birthDate: '1955-08-14',
  } })).body);
});
after(async () => { await app.close(); await env.close(); });

test(`[${DB_LABEL}] tenant A cannot reach tenant B's patient by any path`, async () => {
  const h = { authorization: `Bearer ${a}` };
  const id = bPatient.id;
  const notFound = await app.inject({ url: `/fhir/Patient/${id}`, headers: h });
  const trulyMissing = await app.inject({ url: '/fhir/Patient/00000000-0000-4000-8000-000000000000', headers: h });
  assert.equal(notFound.statusCode, 404);
  assert.equal(JSON.parse(notFound.body).issue[0].code, JSON.parse(trulyMissing.body).issue[0].code);
  for (const url of [`/fhir/Patient/${id}/_history/1`, `/fhir/Patient/${id}/_history`]) assert.equal((await app.inject({ url, headers: h })).statusCode, 404);
  for (const q of ['identifier=255081416802538', 'family=secretb', `_id=${id}`, 'birthdate=1955-08-14']) {
    const s = JSON.parse((await app.inject({ url: `/fhir/Patient?${q}&_total=accurate`, headers: h })).body);
    assert.equal(s.total, 0, q);
    assert.equal(s.entry, undefined);
  }
  const ref = await app.inject({ method: 'POST', url: '/fhir/Observation', headers: h, payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${id}` } } });
  assert.equal(ref.statusCode, 400);
  const upd = await app.inject({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: h, payload: { ...bPatient, name: [{ family: 'Hijack' }] } });
  // An update-as-create in A makes a new, separate resource in A; B's record is untouched.
  assert.ok([200, 201].includes(upd.statusCode));
  const stillB = JSON.parse((await app.inject({ url: `/fhir/Patient/${id}`, headers: { authorization: `Bearer ${b}` } })).body);
  assert.equal(stillB.name[0].family, 'Secretb');
  const batch = JSON.parse((await app.inject({ method: 'POST', url: '/fhir', headers: h, payload: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: `Patient/${id}/_history/1` } }, { request: { method: 'DELETE', url: `Patient/${id}` } }] } })).body);
  assert.ok(batch.entry[0].response.status.startsWith('4'));
  assert.equal((await app.inject({ url: `/fhir/Patient/${id}`, headers: { authorization: `Bearer ${b}` } })).statusCode, 200);
});

test(`[${DB_LABEL}] versioned and conditional references cannot point into another tenant`, async () => {
  const h = { authorization: `Bearer ${a}` };
  for (const reference of [`Patient/${bPatient.id}/_history/1`, 'Patient?identifier=255081416802538']) {
    const r = await app.inject({ method: 'POST', url: '/fhir/Observation', headers: h, payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference } } });
    assert.equal(r.statusCode, 400, reference);
  }
});
