// A standard FHIR client library drives the server unchanged, over real HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Client } from 'fhir-kit-client';
import { testEnv, tenantWithToken, testApp, type TestEnv, DB_LABEL } from '../helpers.ts';

let env: TestEnv;
let app: FastifyInstance;
let client: Client;

before(async () => {
  env = await testEnv();
  app = await testApp(env);
  const token = await tenantWithToken(env.services, 'fkc');
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as any).port;
  client = new Client({ baseUrl: `http://127.0.0.1:${port}/fhir`, bearerToken: token });
});
after(async () => { await app.close(); await env.close(); });

test(`[${DB_LABEL}] fhir-kit-client: capabilities, CRUD, search, paging, transaction`, async () => {
  const cs: any = await client.capabilityStatement();
  assert.equal(cs.resourceType, 'CapabilityStatement');

  const p: any = await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'Kit', given: ['Client'] }], gender: 'male', birthDate: '1990-02-03' } });
  assert.ok(p.id);
  const r: any = await client.read({ resourceType: 'Patient', id: p.id });
  assert.equal(r.name[0].family, 'Kit');
  const u: any = await client.update({ resourceType: 'Patient', id: p.id, body: { ...r, gender: 'female' } });
  assert.equal(u.meta.versionId, '2');
  const v1: any = await client.vread({ resourceType: 'Patient', id: p.id, version: '1' });
  assert.equal(v1.gender, 'male');

  for (let i = 0; i < 3; i++) await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'Kit' }] } });
  const page1: any = await client.search({ resourceType: 'Patient', searchParams: { family: 'kit', _count: 2 } });
  assert.equal(page1.entry.length, 2);
  const page2: any = await client.nextPage({ bundle: page1 });
  assert.equal(page2.entry.length, 2);

  const tx: any = await client.transaction({ body: { resourceType: 'Bundle', type: 'transaction', entry: [
    { fullUrl: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a', resource: { resourceType: 'Patient', name: [{ family: 'Tx' }] }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] }, subject: { reference: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a' }, valueQuantity: { value: 6.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' } }, request: { method: 'POST', url: 'Observation' } },
  ] } });
  assert.equal(tx.type, 'transaction-response');
  const hist: any = await client.resourceHistory({ resourceType: 'Patient', id: p.id });
  assert.equal(hist.entry.length, 2);
  await client.delete({ resourceType: 'Patient', id: p.id });
  await assert.rejects(client.read({ resourceType: 'Patient', id: p.id }));
});
