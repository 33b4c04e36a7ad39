// Bulk import: the workers validate, index and seal; what they write must read back exactly as the
// main thread would have written it, under the right patient's key, and a key race must not lose data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { testEnv, tenantWithToken, type TestEnv, DB_LABEL } from '../helpers.ts';
import { systemContext } from '../../src/core/context.ts';
import { createGenerator } from '../../src/seed/synthetic.ts';
import { bodyPatientKeyNo } from '../../src/vault/resource-cipher.ts';
import { parseSearch } from '../../src/fhir/search-query.ts';
import { resourceTokens } from '../../src/store/indexer.ts';
import { withCompartmentToken } from '../../src/access/care-links.ts';

let env: TestEnv;
before(async () => { env = await testEnv(); });
after(async () => { await env.close(); });
const L = `[${DB_LABEL}]`;
const repo = () => env.services.repo;

test(`${L} a worker-sealed import batch reads back exactly, sealed under each patient's own key, and is searchable`, async () => {
  await tenantWithToken(env.services, 'imp');
  const ctx = systemContext('imp', 'TREAT');
  const gen = createGenerator(7, { tenant: 'imp', idSalt: 'imp', mrnStart: 1 });
  // One patient exists before the batch: its Observation must be sealed under its existing key.
  const first = (await repo().create(ctx, gen.patient())).resource;
  const patients: any[] = Array.from({ length: 120 }, () => gen.patient());
  const ids = await repo().importBatch(ctx, patients);
  const obs = [first.id, ...ids.slice(0, 59)].map((pid) => ({ resourceType: 'Observation', status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] }, subject: { reference: `Patient/${pid}` }, valueQuantity: { value: 5.1, unit: 'mmol/L' } }));
  const obsIds = await repo().importBatch(ctx, obs);
  for (const [i, id] of ids.entries()) {
    const got = JSON.parse((await repo().read(ctx, 'Patient', id)).json);
    assert.deepEqual({ ...got, id: undefined, meta: undefined }, { ...patients[i], id: undefined, meta: undefined });
    assert.equal(got.meta.versionId, '1');
  }
  const keyOf = async (pid: string) => (await sql<{ key_no: number }>`select key_no from patient_keys where tenant_id = 'imp' and patient_id = ${pid}`.execute(env.services.database.db)).rows[0].key_no;
  const bodyOf = async (type: string, id: string) => (await sql<{ body: Uint8Array }>`select body from resources where tenant_id = 'imp' and resource_type = ${type} and id = ${id}`.execute(env.services.database.db)).rows[0].body;
  assert.equal(bodyPatientKeyNo(await bodyOf('Patient', ids[3])), await keyOf(ids[3]));
  assert.equal(bodyPatientKeyNo(await bodyOf('Observation', obsIds[0])), await keyOf(first.id));
  assert.equal(bodyPatientKeyNo(await bodyOf('Observation', obsIds[5])), await keyOf(ids[4]));
  const o = JSON.parse((await repo().read(ctx, 'Observation', obsIds[0])).json);
  assert.equal(o.valueQuantity.value, 5.1);
  const nir: string = (patients[10] as any).identifier[0].value;
  const found = await repo().search(ctx, parseSearch('Patient', [['identifier', nir]], { maxCount: 100 }));
  assert.deepEqual(found.matches.map((m: any) => m.id), [ids[10]]);
  // Each row got its own tokens (the batch sends them as one array, sliced per row).
  const keys = await env.services.keyring.keys('imp');
  const stored = (await sql<{ id: string; tokens: string[] }>`select id, tokens::text[] as tokens from resources where tenant_id = 'imp' and id = any(${[...ids, ...obsIds]}::text[])`.execute(env.services.database.db)).rows;
  assert.equal(stored.length, ids.length + obsIds.length);
  for (const r of stored) {
    const resource = JSON.parse((await repo().read(ctx, ids.includes(r.id) ? 'Patient' : 'Observation', r.id)).json);
    assert.deepEqual([...r.tokens].sort(), withCompartmentToken(keys, resource, resourceTokens(keys, resource)).sort(), r.id);
  }
});

test(`${L} a patient key stored by a concurrent writer between plan and store wins, and the batch is told to seal again`, async () => {
  await tenantWithToken(env.services, 'race');
  const keyring = env.services.keyring;
  const keys = await keyring.keys('race');
  const plan = await keyring.planPatientKeys(env.services.database.db, keys, ['p-race', 'p-calm']);
  const winner = (await keyring.ensurePatientKeys(env.services.database.db, keys, ['p-race'])).get('p-race')!;
  const stored = await keyring.storePatientKeys(env.services.database.db, keys, plan);
  assert.deepEqual([...stored.lost], ['p-race']);
  assert.equal(stored.refs.get('p-race')!.keyNo, winner.keyNo);
  assert.ok(stored.refs.get('p-race')!.key.equals(winner.key));
  assert.equal(stored.refs.get('p-calm')!.keyNo, plan.refs.get('p-calm')!.keyNo);
});

test(`${L} a failed import batch leaves no patient key behind, stored or cached`, async () => {
  await tenantWithToken(env.services, 'imp-fail');
  const ctx = systemContext('imp-fail', 'TREAT');
  const gen = createGenerator(8, { tenant: 'imp-fail', idSalt: 'f', mrnStart: 1 });
  const keys = await env.services.keyring.keys('imp-fail');
  const cached = keys.patients.size;
  // 60 patients (the worker path), one of them referring to a practitioner that does not exist.
  const patients: any[] = Array.from({ length: 60 }, () => gen.patient());
  patients[30].generalPractitioner = [{ reference: 'Practitioner/nobody' }];
  await assert.rejects(repo().importBatch(ctx, patients), (e: any) => e.status === 400 || e.status === 422);
  const stored = (await sql<{ n: string }>`select count(*)::text as n from patient_keys where tenant_id = 'imp-fail'`.execute(env.services.database.db)).rows[0].n;
  assert.equal(stored, '0');
  assert.equal(keys.patients.size, cached);
});
