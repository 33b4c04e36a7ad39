import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { queryTokens, resourceTokens } from '../../src/store/indexer.ts';
import { searchParam } from '../../src/fhir/search-params.ts';
import { TenantKeys } from '../../src/vault/keyring.ts';

const keys = new TenantKeys('t', 0, new Map(), randomBytes(32), 1);
const matches = (resource: any, param: string, value: string) =>
  queryTokens(keys, resource.resourceType, searchParam(resource.resourceType, param)!, [value]).some((t) => resourceTokens(keys, resource).includes(t));

test('a reference to a target type is indexed once (Type/id); a bare-id query still finds it', () => {
  const obs = { resourceType: 'Observation', subject: { reference: 'Patient/p1' } };
  const n = resourceTokens(keys, obs).length;
  assert.equal(n, 2); // subject and patient, Patient/p1 each
  assert.ok(matches(obs, 'subject', 'p1'));
  assert.ok(matches(obs, 'subject', 'Patient/p1'));
  assert.ok(matches(obs, 'patient', 'p1'));
  assert.ok(!matches(obs, 'subject', 'p2'));
});

test('a reference to a type outside the targets keeps its bare-id token', () => {
  const obs = { resourceType: 'Observation', subject: { reference: 'Location/l1' } };
  assert.ok(matches(obs, 'subject', 'l1'));
  assert.ok(matches(obs, 'subject', 'Location/l1'));
  assert.ok(!matches(obs, 'patient', 'l1'));
});

test('name is not indexed twice: it matches the family and given indexes, and name.text', () => {
  const p = { resourceType: 'Patient', name: [{ family: 'Le Gall', given: ['Éloïse', 'Marie'] }] };
  assert.equal(resourceTokens(keys, p).length, 3);
  for (const v of ['le gall', 'ELOISE', 'marie']) assert.ok(matches(p, 'name', v), v);
  assert.ok(!matches(p, 'name', 'durand'));
  assert.ok(!matches(p, 'family', 'eloise'));
  const t = { resourceType: 'Patient', name: [{ text: 'Mme Aurore Texte' }] };
  assert.ok(matches(t, 'name', 'mme aurore texte'));
  assert.ok(!matches(t, 'family', 'mme aurore texte'));
});

test('a code parameter (gender, status…) indexes one token; |code and code both find it', () => {
  const p = { resourceType: 'Patient', gender: 'female' };
  assert.equal(resourceTokens(keys, p).length, 1);
  assert.ok(matches(p, 'gender', 'female'));
  assert.ok(matches(p, 'gender', '|female'));
  assert.ok(!matches(p, 'gender', 'http://hl7.org/fhir/administrative-gender|female'));
  assert.ok(!matches(p, 'gender', 'male'));
  // Codings keep their system token and the any-system token.
  const o = { resourceType: 'Observation', code: { coding: [{ system: 'http://loinc.org', code: '718-7' }] } };
  assert.ok(matches(o, 'code', 'http://loinc.org|718-7'));
  assert.ok(matches(o, 'code', '718-7'));
  assert.ok(!matches(o, 'code', '|718-7'));
});

test('evicted tenant keys refuse to index, even for a parameter whose token subkeys were cached', () => {
  const k = new TenantKeys('t', 0, new Map(), randomBytes(32), 1);
  const patient = { resourceType: 'Patient', id: 'p1', name: [{ family: 'Martin' }] };
  assert.ok(resourceTokens(k, patient).length > 0); // caches the Patient subkeys and their HMAC pads
  k.zero();
  assert.throws(() => resourceTokens(k, patient), /evicted/);
  assert.throws(() => queryTokens(k, 'Patient', searchParam('Patient', 'family')!, ['martin']), /evicted/);
});
