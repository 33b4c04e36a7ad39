import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nirKey, normalizeNir, isValidNir } from '../../src/fhir/nir.ts';

test('NIR key matches the published examples', () => {
  assert.equal(nirKey('2550814168025'), '38');
  assert.equal(nirKey('185072A004001'), '16');
});

test('NIR normalisation accepts spaces and rejects bad keys', () => {
  assert.equal(normalizeNir('2 55 08 14 168 025 38'), '255081416802538');
  assert.equal(normalizeNir('185072a00400116'), '185072A00400116');
  assert.equal(isValidNir('255081416802539'), false);
  assert.equal(isValidNir('25508141680253'), false);
  assert.equal(isValidNir('2550814X6802538'), false);
});
