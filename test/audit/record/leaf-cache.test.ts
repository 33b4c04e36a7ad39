// The recorder's LeafCache (events held for integration) and the worker-thread paths of the access log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeafCache } from '../../../src/audit/record/leaf-cache.ts';
import type { EntryFields } from '../../../src/audit/record/entry.ts';
import { systemContext } from '../../../src/core/context.ts';
import { verifyTenantLog } from '../../../src/audit/log/verify.ts';
import { testEnv, tenantWithToken, PG_URL } from '../../helpers.ts';

const fields = (i: number): EntryFields => ({
  seq: String(i), at: '2026-11-24T00:00:00.000000Z', actor_kind: 'token', actor_id: 't', role: 'service', site_id: null, client_id: null,
  ip: null, purpose: 'TREAT', action: 'read', outcome: 'success', resource_refs: [`Patient/p${i}`], patient_ids: [`p${i}`], detail: null,
});

test('the cache is bounded by memory, forgets what was integrated, and can be cleared', () => {
  const c = new LeafCache(3 * 444); // each of these events counts 444 bytes (400 + refs and patients)
  for (let i = 0; i < 5; i++) c.add('a', i, fields(i));
  c.add('b', 0, fields(0)); // past the bound: dropped, the integrator reads it back
  assert.equal(c.size, 3);
  assert.equal(c.get('a', 3), undefined);
  assert.equal(c.get('b', 0), undefined);
  c.forgetBelow('a', 2);
  assert.equal(c.size, 1);
  assert.equal(c.get('a', 1), undefined);
  assert.deepEqual(c.get('a', 2), fields(2));
  c.add('b', 0, fields(0));
  c.add('b', 0, fields(0)); // the same position again counts once
  assert.equal(c.size, 2);
  c.add('b', 1, fields(1));
  assert.equal(c.size, 3);
  c.clear();
  assert.equal(c.size, 0);
  assert.equal(c.get('a', 2), undefined);
  c.add('a', 9, fields(9));
  assert.equal(c.size, 1);
});

// CERBERE_AUDIT_THREAD=true: appends from a worker thread, integration on another (PostgreSQL only).
test('with worker threads, recorded events and a write\'s events are integrated and verify', { skip: PG_URL ? false : 'PostgreSQL only (worker threads need their own connections)' }, async () => {
  const env = await testEnv({ env: { CERBERE_AUDIT_THREAD: 'true' } });
  try {
    const svc = env.services;
    assert.equal(svc.log.leafCache, undefined);
    await tenantWithToken(svc, 'threads');
    const ctx = systemContext('threads', 'TREAT');
    const ev = (i: number) => ({ action: 'read', outcome: 'success' as const, resourceRefs: [`Patient/p${i}`], patientIds: [`p${i}`] });
    await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => svc.audit.record(ctx, ev(i))),
      svc.audit.appendInTransaction(svc.database.db, ctx, [ev(100), ev(101)]),
    ]);
    await svc.log.tick(); // integrates on the integration thread, then checkpoints
    assert.equal((await svc.log.state('threads')).size, 32);
    await svc.log.checkpoint('threads');
    assert.equal((await verifyTenantLog(svc.database.db, svc.log, 'threads')).problem, null);
  } finally {
    await env.close();
  }
});
