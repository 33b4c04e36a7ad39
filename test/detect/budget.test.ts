// The patient-release budget: 200 unexplained distinct patients per rolling 24 h for every principal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Budget, InMemoryBudgetStore, principalKey, DEFAULT_LIMIT } from '../../src/detect/budget.ts';
import { justifies } from '../../src/detect/types.ts';
import { oracle, ids, T } from './helpers.ts';

const service = { kind: 'token', id: 'tok-1', role: 'service', siteId: null };
const explained = (p: string) => justifies(oracle.explain('t1', service, p));

test('a service token is cut off at 200 unexplained patients: its tenant scope is no explanation', () => {
  assert.equal(oracle.explain('t1', service, 'x1'), 'scope');
  const b = new Budget(new InMemoryBudgetStore());
  const key = principalKey('t1', service, 'tok-1');
  let released = 0;
  let refusedAt = -1;
  for (let page = 0; page < 20; page++) {
    const r = b.charge(key, ids('x', 30, page * 30), explained, T + page * 1000);
    if (!r.allowed) { refusedAt = page; assert.deepEqual(r.released, []); assert.equal(r.spent, true); break; }
    released += r.released.length;
  }
  assert.equal(DEFAULT_LIMIT, 200);
  assert.equal(released, 180, 'six pages of 30 fit, the seventh would cross 200: refused entirely');
  assert.equal(refusedAt, 6);
  // Cut off: even a request that would fit under the limit is refused now…
  assert.equal(b.charge(key, ['y1'], explained, T + 30_000).allowed, false);
  // …but patients in care still flow, and patients already released count once.
  assert.equal(b.charge(key, ['care-1', 'care-2'], explained, T + 31_000).allowed, true);
  assert.equal(b.charge(key, ['x1', 'x2'], explained, T + 32_000).allowed, true);
  assert.equal(b.store.used(key, T + 32_000, 86_400_000), 180);
});

test('reads one by one stop at exactly 200', () => {
  const b = new Budget(new InMemoryBudgetStore());
  const key = principalKey('t1', service, 'tok-1');
  const ok = ids('p', 300).filter((p, i) => b.charge(key, [p], explained, T + i * 1000).allowed);
  assert.equal(ok.length, 200);
});

test('the window rolls: 24 h later the principal has its budget back', () => {
  const b = new Budget(new InMemoryBudgetStore());
  const key = 't1|user:u-1';
  assert.equal(b.charge(key, ids('a', 200), explained, T).allowed, true);
  assert.equal(b.charge(key, ['b1'], explained, T + 1000).allowed, false);
  const later = b.charge(key, ['b1'], explained, T + 1000 + 24 * 3600_000);
  assert.equal(later.allowed, true);
  assert.equal(later.used, 1);
});

test('an override raises one principal with a reason and lifts its cut-off', () => {
  const b = new Budget(new InMemoryBudgetStore());
  const key = principalKey('t1', service, 'tok-1');
  assert.equal(b.charge(key, ids('a', 201), explained, T).allowed, false);
  assert.throws(() => b.override(key, { limit: 1000, reason: ' ', by: 'dpo-1' }), /reason/);
  b.override(key, { limit: 1000, reason: 'nightly migration to the new LIS, ticket 42', by: 'dpo-1' });
  const r = b.charge(key, ids('a', 201), explained, T + 1000);
  assert.equal(r.allowed, true);
  assert.equal(r.limit, 1000);
  assert.equal(b.limitOf('t1|user:other', T), 200, 'others keep the default');
});

test('own record and break-glass are explanations; an async store works the same', async () => {
  const b = new Budget(new InMemoryBudgetStore(), 1);
  const patient = { kind: 'patient', id: 'acct-1', role: 'patient', siteId: null };
  const r = await b.chargeAsync('t1|patient:acct-1', ['own-acct-1', 'care-9'], (p) => justifies(oracle.explain('t1', patient, p)), T);
  assert.equal(r.allowed, true);
  assert.equal(r.unexplained, 0);
  assert.equal(justifies('break-glass'), true);
  assert.equal(justifies('scope'), false);
});
