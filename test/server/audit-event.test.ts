// FHIR AuditEvent read and search over the access log: BALP shapes valid against R4, roles, tenant
// isolation, search parameters, paging, and the reading of the log recorded as an access event.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
// assert.ok without a message re-parses the source to describe the failure, which can hang under tsx.
const ok = (c: unknown, m = 'expected a truthy value') => assert.equal(Boolean(c), true, m);
import type { FastifyInstance } from 'fastify';
import { testEnv, testApp, tenantWithToken, type TestEnv, DB_LABEL } from '../helpers.ts';
import { createApiToken } from '../../src/auth/api-tokens.ts';
import { validateResource } from '../../src/fhir/validate.ts';
import { dateRange, toAuditEvent } from '../../src/audit/read/audit-event.ts';

let env: TestEnv;
let app: FastifyInstance;
let service: string;
let serviceId: string;
let reader: string;
let dpo: string;
let auditor: string;
let dpoB: string;
let patient: any;
let obs: any;

const h = (t: string) => ({ authorization: `Bearer ${t}` });
const get = async (t: string, url: string) => {
  const r = await app.inject({ url, headers: h(t) });
  return { status: r.statusCode, body: JSON.parse(r.body) };
};
const events = (b: any): any[] => (b.entry ?? []).map((e: any) => e.resource);

before(async () => {
  env = await testEnv();
  app = await testApp(env);
  await tenantWithToken(env.services, 'ta');
  const db = env.services.database.db;
  ({ token: service, tokenId: serviceId } = await createApiToken(db, 'ta', 'service', 't'));
  reader = (await createApiToken(db, 'ta', 'reader', 't')).token;
  dpo = (await createApiToken(db, 'ta', 'dpo', 't')).token;
  auditor = (await createApiToken(db, 'ta', 'auditor', 't')).token;
  dpoB = await tenantWithToken(env.services, 'tb', 'dpo');
  patient = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Patient', headers: h(service), payload: {
    resourceType: 'Patient', name: [{ family: 'Audité', given: ['Jeanne'] }], birthDate: '1970-01-01',
  } })).body);
  obs = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Observation', headers: h(service), payload: {
    resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] }, subject: { reference: `Patient/${patient.id}` },
    valueQuantity: { value: 13.2, unit: 'g/dL' },
  } })).body);
  assert.equal((await get(service, `/fhir/Patient/${patient.id}`)).status, 200);
  assert.equal((await get(reader, `/fhir/Observation?subject=Patient/${patient.id}`)).status, 200);
  assert.equal((await get(reader, `/fhir/Patient/00000000-0000-4000-8000-000000000000`)).status, 404);
  assert.equal((await app.inject({ method: 'DELETE', url: `/fhir/Patient/${patient.id}`, headers: h(reader) })).statusCode, 403);
});
after(async () => { await app.close(); await env.close(); });

test(`[${DB_LABEL}] only dpo and auditor roles read the access log; others get a 403 OperationOutcome`, async () => {
  for (const t of [service, reader]) {
    for (const url of ['/fhir/AuditEvent', '/fhir/AuditEvent/1']) {
      const r = await get(t, url);
      assert.equal(r.status, 403, url);
      assert.equal(r.body.resourceType, 'OperationOutcome');
    }
  }
  assert.equal((await app.inject({ url: '/fhir/AuditEvent' })).statusCode, 401);
  assert.equal((await get(dpo, '/fhir/AuditEvent')).status, 200);
  assert.equal((await get(auditor, '/fhir/AuditEvent')).status, 200);
  // and they cannot read patient data
  assert.equal((await get(dpo, `/fhir/Patient/${patient.id}`)).status, 403);
});

test(`[${DB_LABEL}] events are BALP-shaped AuditEvents valid against FHIR R4`, async () => {
  const r = await get(dpo, `/fhir/AuditEvent?patient=${patient.id}&_count=100`);
  assert.equal(r.status, 200);
  assert.equal(r.body.type, 'searchset');
  const all = events(r.body);
  ok(all.length >= 4, `got ${all.length}`);
  for (const e of all) assert.deepEqual(validateResource(e, undefined, { alsoTypes: ['AuditEvent'] }), [], JSON.stringify(e));
  const read = all.find((e) => e.subtype.some((s: any) => s.code === 'read'));
  ok(read);
  assert.deepEqual(read.meta.profile, ['https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead']);
  assert.equal(read.type.code, 'rest');
  assert.equal(read.action, 'R');
  assert.equal(read.outcome, '0');
  const user = read.agent.find((a: any) => a.requestor);
  assert.deepEqual(user.who.identifier, { system: 'urn:cerbere:actor:token', value: serviceId });
  assert.equal(user.role[0].coding[0].code, 'service');
  assert.equal(read.purposeOfEvent[0].coding[0].code, 'TREAT');
  ok(read.agent.some((a: any) => a.type.coding[0].code === '110153' && a.who.identifier.value === serviceId && a.network.type === '2'));
  ok(read.entity.some((x: any) => x.what?.reference === `Patient/${patient.id}` && x.role.code === '1'));
  const create = all.find((e) => e.action === 'C' && e.entity.some((x: any) => x.what?.reference === `Observation/${obs.id}`));
  ok(create);
  assert.match(create.meta.profile[0], /PatientCreate$/);
  const query = all.find((e) => e.action === 'E');
  ok(query, 'the search by the reader is listed');
  assert.match(query.meta.profile[0], /PatientQuery$/);
  const q = query.entity.find((x: any) => x.role.code === '24');
  assert.equal(Buffer.from(q.query, 'base64').toString(), 'params=subject', 'parameter names only, never values');
  // no name, birth date or value of the patient anywhere
  assert.doesNotMatch(JSON.stringify(r.body), /Audit[ée]|Jeanne|1970-01-01|13\.2/);
  // read by id gives the same resource
  const one = await get(dpo, `/fhir/AuditEvent/${read.id}`);
  assert.equal(one.status, 200);
  assert.deepEqual(one.body, read);
});

test(`[${DB_LABEL}] search parameters: agent, date, action, outcome, type, subtype, entity, address, _sort`, async () => {
  const ids = (b: any) => events(b).map((e) => e.id);
  const all = events((await get(dpo, '/fhir/AuditEvent?_count=100')).body);
  ok(all.length >= 6);
  // newest first by default
  const times = all.map((e) => e.recorded);
  assert.deepEqual([...times].sort().reverse(), times);
  const asc = events((await get(dpo, '/fhir/AuditEvent?_count=100&_sort=date')).body).map((e) => e.recorded);
  assert.deepEqual([...asc].sort(), asc);

  const byAgent = events((await get(dpo, `/fhir/AuditEvent?agent=${serviceId}&_count=100`)).body);
  ok(byAgent.length >= 3 && byAgent.every((e) => e.agent[0].who.identifier.value === serviceId));
  assert.equal(events((await get(dpo, '/fhir/AuditEvent?agent=nobody')).body).length, 0);

  const denied = events((await get(dpo, '/fhir/AuditEvent?outcome=4&_count=100')).body);
  ok(denied.length >= 1 && denied.every((e) => e.outcome === '4' && !e.meta));
  const failed = events((await get(dpo, '/fhir/AuditEvent?outcome=8')).body);
  ok(failed.some((e) => e.entity?.[0]?.what?.identifier?.system === 'urn:cerbere:unknown-id-hash'));

  const creates = events((await get(dpo, '/fhir/AuditEvent?action=C&_count=100')).body);
  ok(creates.length >= 2 && creates.every((e) => e.action === 'C'));
  ok(events((await get(dpo, '/fhir/AuditEvent?subtype=read&_count=100')).body).every((e) => e.subtype[0].code === 'read'));
  ok(events((await get(dpo, '/fhir/AuditEvent?subtype=urn:cerbere:action|create')).body).every((e) => e.action === 'C'));
  const logUse = events((await get(dpo, '/fhir/AuditEvent?type=http://dicom.nema.org/resources/ontology/DCM|110101&_count=100')).body);
  ok(logUse.length >= 1, 'earlier searches of the log are themselves events');
  for (const e of logUse) {
    assert.equal(e.type.code, '110101');
    ok(!e.entity?.some((x: any) => x.role.code === '1'), 'no patient in a log-reading event');
  }
  ok(events((await get(dpo, '/fhir/AuditEvent?type=rest&_count=100')).body).every((e) => e.type.code === 'rest'));

  const byEntity = events((await get(dpo, `/fhir/AuditEvent?entity=Observation/${obs.id}`)).body);
  ok(byEntity.length >= 1 && byEntity.every((e) => e.entity.some((x: any) => x.what?.reference === `Observation/${obs.id}`)));

  const addr = all.find((e) => e.agent.some((a: any) => a.network))!.agent.find((a: any) => a.network).network.address;
  ok(events((await get(dpo, `/fhir/AuditEvent?address=${encodeURIComponent(addr)}`)).body).length >= 1);

  const today = new Date().toISOString().slice(0, 10);
  assert.equal(events((await get(dpo, `/fhir/AuditEvent?date=${today}&_count=100`)).body).length >= all.length - 2, true);
  assert.equal(events((await get(dpo, '/fhir/AuditEvent?date=lt2000-01-01')).body).length, 0);
  assert.equal(events((await get(dpo, '/fhir/AuditEvent?date=ge2999')).body).length, 0);
  ok(events((await get(dpo, `/fhir/AuditEvent?date=ge${today}&date=le2999-12-31T23:59:59Z`)).body).length > 0);
  assert.deepEqual(ids((await get(dpo, `/fhir/AuditEvent?_id=${all[0].id}`)).body), [all[0].id]);

  for (const bad of ['date=yesterday', 'date=2026-01-01T10:00', 'date=ne2026', 'action=X', 'outcome=1', 'foo=bar', '_count=0', '_sort=agent', 'patient=a%20b']) {
    const r = await get(dpo, `/fhir/AuditEvent?${bad}`);
    assert.equal(r.status, 400, bad);
    assert.equal(r.body.resourceType, 'OperationOutcome');
  }
});

test(`[${DB_LABEL}] paging links are opaque and walk the whole result without overlap`, async () => {
  const total = events((await get(dpo, '/fhir/AuditEvent?_count=1000&date=ge2000')).body).length;
  const seen: string[] = [];
  let url: string | undefined = '/fhir/AuditEvent?_count=2&date=ge2000';
  let pages = 0;
  while (url && pages < 100) {
    const r = await get(dpo, url);
    assert.equal(r.status, 200);
    seen.push(...events(r.body).map((e) => e.id));
    const next = r.body.link?.find((l: any) => l.relation === 'next')?.url;
    if (next) assert.doesNotMatch(next, /date|2000/);
    url = next ? new URL(next).pathname + new URL(next).search : undefined;
    pages++;
  }
  assert.equal(new Set(seen).size, seen.length);
  ok(seen.length >= total, `${seen.length} >= ${total}`);
  // a page token does not work for another tenant
  const r1 = await get(dpo, '/fhir/AuditEvent?_count=1');
  const next = r1.body.link.find((l: any) => l.relation === 'next').url;
  assert.equal((await get(dpoB, new URL(next).pathname + new URL(next).search)).status, 400);
});

test(`[${DB_LABEL}] a DPO of tenant B sees nothing of tenant A`, async () => {
  const a = events((await get(dpo, '/fhir/AuditEvent?_count=5')).body);
  ok(a.length > 0);
  assert.equal(events((await get(dpoB, `/fhir/AuditEvent?patient=${patient.id}`)).body).length, 0);
  assert.equal(events((await get(dpoB, `/fhir/AuditEvent?agent=${serviceId}`)).body).length, 0);
  for (const e of a) assert.equal((await get(dpoB, `/fhir/AuditEvent/${e.id}`)).status, 404);
  for (const e of events((await get(dpoB, '/fhir/AuditEvent?_count=100')).body)) assert.equal(e.source.site, 'cerbere/tb');
});

test(`[${DB_LABEL}] reading the log is recorded, without patient data`, async () => {
  const before = events((await get(auditor, '/fhir/AuditEvent?subtype=audit-read&_count=100')).body).length;
  const any = events((await get(dpo, '/fhir/AuditEvent?_count=1')).body)[0];
  await get(dpo, `/fhir/AuditEvent/${any.id}`);
  const reads = events((await get(auditor, '/fhir/AuditEvent?subtype=audit-read&_count=100')).body);
  assert.equal(reads.length, before + 1);
  assert.equal(reads[0].entity[0].what.reference, `AuditEvent/${any.id}`);
  ok(!reads[0].entity.some((x: any) => x.what?.reference?.startsWith('Patient/')));
  const rows = await env.services.database.db.selectFrom('audit_events').select(['action', 'patient_ids']).where('tenant_id', '=', 'ta')
    .where('action', 'in', ['audit-read', 'audit-search']).execute();
  ok(rows.length > 0 && rows.every((r) => r.patient_ids.length === 0));
});

test(`[${DB_LABEL}] the CapabilityStatement lists AuditEvent read and search and $blast-radius`, async () => {
  const cs = JSON.parse((await app.inject({ url: '/fhir/metadata' })).body);
  const ae = cs.rest[0].resource.find((r: any) => r.type === 'AuditEvent');
  assert.deepEqual(ae.interaction.map((i: any) => i.code), ['read', 'search-type']);
  for (const p of ['patient', 'agent', 'date', 'action', 'outcome', 'type', 'subtype', 'entity']) ok(ae.searchParam.some((s: any) => s.name === p), p);
  ok(cs.rest[0].operation.some((o: any) => o.name === 'blast-radius'));
  assert.deepEqual(validateResource(cs, undefined, { alsoTypes: ['CapabilityStatement'] }), []);
});

test('date ranges follow the precision of the value', () => {
  const r = (v: string) => { const x = dateRange(v); return [x.start.toISOString(), x.end.toISOString()]; };
  assert.deepEqual(r('2026'), ['2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
  assert.deepEqual(r('2026-02'), ['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z']);
  assert.deepEqual(r('2026-12-31'), ['2026-12-31T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
  assert.deepEqual(r('2026-01-01T10:00+02:00'), ['2026-01-01T08:00:00.000Z', '2026-01-01T08:01:00.000Z']);
  assert.deepEqual(r('2026-01-01T10:00:05Z'), ['2026-01-01T10:00:05.000Z', '2026-01-01T10:00:06.000Z']);
});

test('unknown-id hashes (signed 64-bit, maybe negative), type-only refs and non-FHIR actions give valid AuditEvents', () => {
  const row = { seq: '7', leaf: '7', at: '2026-11-23T10:00:00.123456Z', actor_kind: 'system', actor_id: 'cli', role: 'system', site_id: null, client_id: null, ip: null,
    purpose: 'system', action: 'read', outcome: 'failure', resource_refs: '["Patient/#-1f2e","Patient/#abc","Patient"]', patient_ids: '[]', detail: null };
  const e = toAuditEvent('ta', row);
  assert.deepEqual(e.entity.map((x: any) => x.what), [
    { type: 'Patient', identifier: { system: 'urn:cerbere:unknown-id-hash', value: '-1f2e' } },
    { type: 'Patient', identifier: { system: 'urn:cerbere:unknown-id-hash', value: 'abc' } },
    { type: 'Patient' },
  ]);
  assert.deepEqual(validateResource(e, undefined, { alsoTypes: ['AuditEvent'] }), []);
  for (const [action, code] of [['login', '110114'], ['export-bulk', '110106'], ['blast-radius', '110101'], ['key-rotate', '110100']]) {
    const x = toAuditEvent('ta', { ...row, action, outcome: 'success', resource_refs: '[]' });
    assert.equal(x.type.code, code, action);
    assert.deepEqual(validateResource(x, undefined, { alsoTypes: ['AuditEvent'] }), [], action);
  }
});
