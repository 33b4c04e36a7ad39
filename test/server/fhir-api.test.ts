import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { testEnv, tenantWithToken, testApp, type TestEnv, DB_LABEL } from '../helpers.ts';

let env: TestEnv;
let app: FastifyInstance;
let token: string;
const auth = () => ({ authorization: `Bearer ${token}` });
const json = (r: { body: string }) => JSON.parse(r.body);

const patient = {
  resourceType: 'Patient',
  identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.10', value: '255081416802538' }],
  name: [{ family: 'Le Gall', given: ['Éloïse'] }],
  gender: 'female',
  birthDate: '1955-08-14',
  telecom: [{ system: 'phone', value: '06 12 34 56 78' }, { system: 'email', value: 'eloise.legall@example.fr' }],
};

before(async () => {
  env = await testEnv();
  app = await testApp(env);
  token = await tenantWithToken(env.services, 'lab-a');
});
after(async () => { await app.close(); await env.close(); });

test(`[${DB_LABEL}] no patient data without a token`, async () => {
  for (const url of ['/fhir/Patient', '/fhir/Patient/x']) {
    const r = await app.inject({ url });
    assert.equal(r.statusCode, 401);
    assert.equal(json(r).resourceType, 'OperationOutcome');
  }
  const bad = await app.inject({ url: '/fhir/Patient', headers: { authorization: 'Bearer cbr_lab-a_0000000000000000_' + 'a'.repeat(43) } });
  assert.equal(bad.statusCode, 401);
});

test(`[${DB_LABEL}] metadata is a CapabilityStatement`, async () => {
  const r = await app.inject({ url: '/fhir/metadata' });
  assert.equal(r.statusCode, 200);
  const cs = json(r);
  assert.equal(cs.resourceType, 'CapabilityStatement');
  assert.equal(cs.fhirVersion, '4.0.1');
  assert.ok(cs.rest[0].resource.find((x: any) => x.type === 'Observation').searchInclude.includes('Observation:subject'));
});

test(`[${DB_LABEL}] create, read, update with If-Match, vread, history, delete`, async () => {
  const c = await app.inject({ method: 'POST', url: '/fhir/Patient', headers: { ...auth(), 'content-type': 'application/fhir+json' }, payload: patient });
  assert.equal(c.statusCode, 201, c.body);
  const created = json(c);
  assert.match(c.headers.location as string, new RegExp(`/fhir/Patient/${created.id}/_history/1$`));
  assert.equal(c.headers.etag, 'W/"1"');
  assert.match(String(c.headers['content-type']), /application\/fhir\+json/);

  const r = await app.inject({ url: `/fhir/Patient/${created.id}`, headers: auth() });
  assert.equal(r.statusCode, 200);
  assert.equal(json(r).name[0].family, 'Le Gall');

  const stale = await app.inject({ method: 'PUT', url: `/fhir/Patient/${created.id}`, headers: { ...auth(), 'if-match': 'W/"7"' }, payload: { ...created, gender: 'other' } });
  assert.equal(stale.statusCode, 412);
  const u = await app.inject({ method: 'PUT', url: `/fhir/Patient/${created.id}`, headers: { ...auth(), 'if-match': 'W/"1"' }, payload: { ...created, gender: 'other' } });
  assert.equal(u.statusCode, 200, u.body);
  assert.equal(json(u).meta.versionId, '2');

  const v1 = await app.inject({ url: `/fhir/Patient/${created.id}/_history/1`, headers: auth() });
  assert.equal(json(v1).gender, 'female');
  const h = await app.inject({ url: `/fhir/Patient/${created.id}/_history`, headers: auth() });
  assert.equal(json(h).type, 'history');
  assert.equal(json(h).entry.length, 2);

  const d = await app.inject({ method: 'DELETE', url: `/fhir/Patient/${created.id}`, headers: auth() });
  assert.equal(d.statusCode, 204);
  const gone = await app.inject({ url: `/fhir/Patient/${created.id}`, headers: auth() });
  assert.equal(gone.statusCode, 410);
  const missing = await app.inject({ url: '/fhir/Patient/does-not-exist', headers: auth() });
  assert.equal(missing.statusCode, 404);
  assert.equal(json(missing).resourceType, 'OperationOutcome');
});

test(`[${DB_LABEL}] search on blind indexes: identifier, names, birthdate ranges, phone, email, _include`, async () => {
  const p = json(await app.inject({ method: 'POST', url: '/fhir/Patient', headers: auth(), payload: { ...patient, identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.10', value: '185072A00400116' }] } }));
  const obs = await app.inject({
    method: 'POST', url: '/fhir/Observation', headers: auth(),
    payload: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] }, subject: { reference: `Patient/${p.id}` }, effectiveDateTime: '2026-11-20T08:30:00+01:00', valueQuantity: { value: 13.2, unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' } },
  });
  assert.equal(obs.statusCode, 201, obs.body);
  const ids = async (q: string) => (json(await app.inject({ url: `/fhir/Patient?${q}`, headers: auth() })).entry ?? []).map((e: any) => e.resource.id);
  assert.deepEqual(await ids('identifier=1 85 07 2A 004 001 16'), [p.id]);
  assert.deepEqual(await ids('identifier=urn:oid:1.2.250.1.213.1.4.10|185072A00400116'), [p.id]);
  assert.ok((await ids('family=le-gall')).includes(p.id));
  assert.ok((await ids('given=ELOISE')).includes(p.id));
  assert.ok((await ids('name=eloise')).includes(p.id));
  // name matches the family and given indexes, and name.text, which only it indexes.
  assert.ok((await ids('name=le gall')).includes(p.id));
  const texted = json(await app.inject({ method: 'POST', url: '/fhir/Patient', headers: auth(), payload: { ...patient, name: [{ text: 'Mme Aurore Texte' }] } }));
  assert.deepEqual(await ids('name=Mme Aurore Texte'), [texted.id]);
  assert.deepEqual(await ids('family=Mme Aurore Texte'), []);
  assert.ok((await ids('birthdate=1955-08-14')).includes(p.id));
  assert.ok((await ids('birthdate=ge1955-08-01&birthdate=lt1955-09')).includes(p.id));
  assert.ok(!(await ids('birthdate=gt1955-08-14')).includes(p.id));
  assert.ok((await ids('phone=%2B33612345678')).includes(p.id));
  assert.ok((await ids('email=Eloise.LeGall@example.fr')).includes(p.id));
  assert.ok((await ids('gender=female')).includes(p.id));
  assert.deepEqual(await ids('family=nobody'), []);

  const s = json(await app.inject({ url: `/fhir/Observation?subject=Patient/${p.id}&code=http://loinc.org|718-7&date=ge2026-11-01&_include=Observation:subject`, headers: auth() }));
  assert.equal(s.entry.length, 2);
  assert.deepEqual(s.entry.map((e: any) => e.search.mode).sort(), ['include', 'match']);
  // A bare id matches the reference under the parameter's target types (Patient/id is what is indexed).
  const obsIds = async (q: string) => (json(await app.inject({ url: `/fhir/Observation?${q}`, headers: auth() })).entry ?? []).map((e: any) => e.resource.id);
  assert.deepEqual(await obsIds(`subject=${p.id}`), [json(obs).id]);
  assert.deepEqual(await obsIds(`patient=${p.id}`), [json(obs).id]);
  assert.deepEqual(await obsIds(`subject=Patient/${p.id}`), [json(obs).id]);

  const post = await app.inject({ method: 'POST', url: '/fhir/Patient/_search', headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'identifier=185072A00400116' });
  assert.deepEqual(json(post).entry.map((e: any) => e.resource.id), [p.id]);
});

test(`[${DB_LABEL}] paging links are opaque and carry no search values`, async () => {
  for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/fhir/Patient', headers: auth(), payload: { ...patient, name: [{ family: 'Pagination' }] } });
  const first = json(await app.inject({ url: '/fhir/Patient?family=Pagination&_count=2', headers: auth() }));
  assert.equal(first.entry.length, 2);
  const next = first.link.find((l: any) => l.relation === 'next').url as string;
  assert.ok(!/pagination/i.test(next), 'search value leaked into the paging link');
  const second = json(await app.inject({ url: next.replace(/^https?:\/\/[^/]+/, ''), headers: auth() }));
  assert.equal(second.entry.length, 1);
  // Another server of the same deployment (its own process state) follows the link too.
  const other = await testApp(env);
  try {
    assert.equal(json(await other.inject({ url: next.replace(/^https?:\/\/[^/]+/, ''), headers: auth() })).entry.length, 1);
  } finally { await other.close(); }
  const forged = await app.inject({ url: '/fhir/Patient?_page=AAAA', headers: auth() });
  assert.equal(forged.statusCode, 400);
});

test(`[${DB_LABEL}] bad input gets an OperationOutcome, never a stack trace`, async () => {
  const cases = [
    { method: 'POST' as const, url: '/fhir/Patient', payload: '{not json', headers: { 'content-type': 'application/fhir+json' } },
    { method: 'POST' as const, url: '/fhir/Patient', payload: { resourceType: 'Patient', gender: 'zzzSECRETzzz' } },
    { method: 'POST' as const, url: '/fhir/Patient', payload: { resourceType: 'Observation' } },
    { method: 'POST' as const, url: '/fhir/Observation', payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/unknown' } } },
    { method: 'GET' as const, url: '/fhir/Patient?unknown-param=1' },
    { method: 'GET' as const, url: '/fhir/Patient?birthdate=ne2000-01-01' },
    { method: 'GET' as const, url: '/fhir/Patient?family:contains=x' },
    { method: 'GET' as const, url: '/fhir/Banana/1' },
    { method: 'GET' as const, url: '/fhir/Patient?_count=abc' },
    { method: 'POST' as const, url: '/fhir', payload: { resourceType: 'Bundle', type: 'collection' } },
  ];
  for (const c of cases) {
    const r = await app.inject({ ...c, headers: { ...auth(), ...(c.headers ?? {}) } } as any);
    assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${c.method} ${c.url} → ${r.statusCode} ${r.body}`);
    const body = json(r);
    assert.equal(body.resourceType, 'OperationOutcome', r.body);
    assert.ok(!/zzzSECRETzzz|at .*\.ts:\d+/.test(r.body), r.body);
  }
});

test(`[${DB_LABEL}] transaction bundle resolves urn:uuid references and is all-or-nothing`, async () => {
  const pUrl = 'urn:uuid:7f4d3a1e-0000-4000-8000-000000000001';
  const tx = {
    resourceType: 'Bundle', type: 'transaction', entry: [
      { fullUrl: 'urn:uuid:7f4d3a1e-0000-4000-8000-000000000002', resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] }, subject: { reference: pUrl } }, request: { method: 'POST', url: 'Observation' } },
      { fullUrl: pUrl, resource: { resourceType: 'Patient', name: [{ family: 'Transaction' }] }, request: { method: 'POST', url: 'Patient' } },
    ],
  };
  const r = await app.inject({ method: 'POST', url: '/fhir', headers: auth(), payload: tx });
  assert.equal(r.statusCode, 200, r.body);
  const b = json(r);
  assert.equal(b.type, 'transaction-response');
  const pid = b.entry[1].resource.id;
  assert.equal(b.entry[0].resource.subject.reference, `Patient/${pid}`);

  const before = json(await app.inject({ url: '/fhir/Patient?family=Rollback&_total=accurate', headers: auth() })).total;
  const bad = { resourceType: 'Bundle', type: 'transaction', entry: [
    { resource: { resourceType: 'Patient', name: [{ family: 'Rollback' }] }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Observation', status: 'bogus', code: { text: 'x' } }, request: { method: 'POST', url: 'Observation' } },
  ] };
  const rb = await app.inject({ method: 'POST', url: '/fhir', headers: auth(), payload: bad });
  assert.ok(rb.statusCode >= 400);
  const afterTotal = json(await app.inject({ url: '/fhir/Patient?family=Rollback&_total=accurate', headers: auth() })).total;
  assert.equal(afterTotal, before);

  const batch = await app.inject({ method: 'POST', url: '/fhir', headers: auth(), payload: { resourceType: 'Bundle', type: 'batch', entry: [
    { request: { method: 'GET', url: `Patient/${pid}` } },
    { request: { method: 'GET', url: 'Patient/nope' } },
  ] } });
  const bb = json(batch);
  assert.equal(bb.entry[0].response.status, '200 OK');
  assert.equal(bb.entry[1].response.status, '404');
});

test(`[${DB_LABEL}] a reader token reads but cannot write, and refused writes are recorded`, async () => {
  const { createApiToken } = await import('../../src/auth/api-tokens.ts');
  const rt = (await createApiToken(env.services.database.db, 'lab-a', 'reader', 'test')).token;
  const h = { authorization: `Bearer ${rt}` };
  const p = json(await app.inject({ method: 'POST', url: '/fhir/Patient', headers: auth(), payload: { resourceType: 'Patient', name: [{ family: 'Lecture' }] } }));
  assert.equal((await app.inject({ url: `/fhir/Patient/${p.id}`, headers: h })).statusCode, 200);
  assert.equal((await app.inject({ method: 'POST', url: '/fhir/Patient', headers: h, payload: { resourceType: 'Patient' } })).statusCode, 403);
  assert.equal((await app.inject({ method: 'PUT', url: `/fhir/Patient/${p.id}`, headers: h, payload: { ...p, gender: 'male' } })).statusCode, 403);
  assert.equal((await app.inject({ method: 'DELETE', url: `/fhir/Patient/${p.id}`, headers: h })).statusCode, 403);
  const batch = json(await app.inject({ method: 'POST', url: '/fhir', headers: h, payload: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'DELETE', url: `Patient/${p.id}` } }] } }));
  assert.equal(batch.entry[0].response.status, '403');
  assert.equal((await app.inject({ url: `/fhir/Patient/${p.id}`, headers: auth() })).statusCode, 200);
  await new Promise((r) => setTimeout(r, 50));
  const denied = await env.services.database.db.selectFrom('audit_events').select(['action', 'outcome']).where('tenant_id', '=', 'lab-a').where('outcome', '=', 'denied').execute();
  assert.ok(denied.length >= 4);
});

test(`[${DB_LABEL}] deleting a clinical resource records its patient`, async () => {
  const p = json(await app.inject({ method: 'POST', url: '/fhir/Patient', headers: auth(), payload: { resourceType: 'Patient', name: [{ family: 'Suppression' }] } }));
  const o = json(await app.inject({ method: 'POST', url: '/fhir/Observation', headers: auth(), payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${p.id}/_history/1` } } }));
  assert.equal((await app.inject({ method: 'DELETE', url: `/fhir/Observation/${o.id}`, headers: auth() })).statusCode, 204);
  const ev = await env.services.database.db.selectFrom('audit_events').select(['patient_ids']).where('tenant_id', '=', 'lab-a').where('action', '=', 'delete').execute();
  assert.ok(ev.some((e) => e.patient_ids.includes(p.id)));
  const again = await app.inject({ method: 'PUT', url: `/fhir/Observation/${o.id}`, headers: auth(), payload: { ...o, meta: undefined } });
  assert.equal(again.statusCode, 201);
});
