// Oversized access events are recorded as consecutive parts whose entries fit a tlog-tiles bundle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entrySizeBound, fitToEntryLimit } from '../../../src/audit/record/entry-split.ts';
import { eventCategories } from '../../../src/respond/blast-radius.ts';
import { systemContext } from '../../../src/core/context.ts';
import { MAX_ENTRY_SIZE } from '../../../src/audit/log/tiles.ts';

const ctx = { ...systemContext('demo', 'system'), client: { tokenId: 'tok-1', ip: '2001:db8::1' } };

test('a small event is recorded as it is, its patients de-duplicated', () => {
  const e = { action: 'read', outcome: 'success' as const, resourceRefs: ['Patient/a'], patientIds: ['a', 'a'] };
  assert.deepEqual(fitToEntryLimit(ctx, e), [{ ...e, patientIds: ['a'] }]);
});

test('a bulk event becomes parts that each fit, keep every reference and patient, and give each patient the same categories', () => {
  const patients = Array.from({ length: 4000 }, (_, i) => `pat-${i}-${'é'.repeat(i % 7)}`);
  const refs = patients.flatMap((p, i) => [`Patient/${p}`, `Observation/o${i}`, `ServiceRequest/s${i}`]);
  const e = { action: 'create', outcome: 'success' as const, resourceRefs: refs, patientIds: patients, detail: 'import' };
  assert.ok(entrySizeBound(ctx, e) > MAX_ENTRY_SIZE);
  const parts = fitToEntryLimit(ctx, e);
  assert.ok(parts.length > 1);
  const whole = eventCategories(refs, patients);
  parts.forEach((p, i) => {
    assert.ok(entrySizeBound(ctx, p) <= MAX_ENTRY_SIZE, `part ${i} fits`);
    assert.equal(p.detail, `import;part=${i + 1}/${parts.length}`);
    assert.equal(p.action, 'create');
    if (p.patientIds.length) assert.deepEqual(eventCategories(p.resourceRefs, p.patientIds), whole);
  });
  const types = new Set(['Patient', 'Observation', 'ServiceRequest']);
  assert.deepEqual(parts.flatMap((p) => p.resourceRefs.filter((r) => !types.has(r))), refs);
  assert.deepEqual(parts.flatMap((p) => p.patientIds), patients);
});

test('an export naming only patients is split too; a tighter limit gives more parts', () => {
  const patients = Array.from({ length: 10000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
  const e = { action: 'export.request', outcome: 'success' as const, resourceRefs: [], patientIds: patients, detail: 'export=x patients=10000' };
  const parts = fitToEntryLimit(ctx, e);
  assert.ok(parts.every((p) => entrySizeBound(ctx, p) <= MAX_ENTRY_SIZE));
  assert.deepEqual(parts.flatMap((p) => p.patientIds), patients);
  assert.ok(fitToEntryLimit(ctx, e, 8000).length > parts.length);
});
