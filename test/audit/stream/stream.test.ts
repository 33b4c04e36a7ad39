// The committed access-event stream: order, resumption from the stored position, no duplicates past it,
// nothing before commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testEnv, tenantWithToken } from '../../helpers.ts';
import { systemContext } from '../../../src/core/context.ts';
import { AccessEventStream } from '../../../src/audit/stream/stream.ts';
import type { CommittedAccessEvent } from '../../../src/core/watch-types.ts';

const ctx = (t: string) => ({ ...systemContext(t), client: { tokenId: 'tok1', ip: '10.0.0.1' } });
const event = (i: number) => ({ action: `read-${i}`, outcome: 'success' as const, resourceRefs: [`Patient/p${i}`], patientIds: [`p${i}`] });

test('events arrive in log order, from the integrator, with the fields of the shared type', async () => {
  const env = await testEnv();
  try {
    const svc = env.services;
    await tenantWithToken(svc, 'st1');
    const got: CommittedAccessEvent[] = [];
    const sub = svc.log.stream.subscribe('detector-a', (e) => { got.push(e); }, { tenants: ['st1'] });
    await Promise.all([0, 1, 2, 3, 4].map((i) => svc.audit.record(ctx('st1'), event(i))));
    await svc.log.integrate('st1');
    await svc.log.stream.idle();
    assert.deepEqual(got.map((e) => e.position), [0, 1, 2, 3, 4]);
    assert.deepEqual(got.map((e) => e.action), ['read-0', 'read-1', 'read-2', 'read-3', 'read-4']);
    const e = got[0];
    assert.equal(e.tenantId, 'st1');
    assert.ok(e.at instanceof Date && !Number.isNaN(e.at.getTime()));
    assert.deepEqual(e.actor, { kind: 'system', id: 'cerbere', role: 'system', siteId: null });
    assert.equal(e.tokenId, 'tok1');
    assert.equal(e.ip, '10.0.0.1');
    assert.equal(e.purpose, 'system');
    assert.equal(e.outcome, 'success');
    assert.deepEqual(e.resourceRefs, ['Patient/p0']);
    assert.deepEqual(e.patientIds, ['p0']);
    assert.equal(e.detail, null);
    // The same events read back from the database (catch-up) are equal to those handed over from memory.
    const again: CommittedAccessEvent[] = [];
    const other = new AccessEventStream(svc.database.db);
    other.subscribe('detector-b', (x) => { again.push(x); }, { tenants: ['st1'] });
    await other.pump();
    assert.deepEqual(again, got);
    await sub.close();
  } finally { await env.close(); }
});

test('a subscriber restarted from its stored position gets what it missed, once', async () => {
  const env = await testEnv();
  try {
    const svc = env.services;
    await tenantWithToken(svc, 'st2');
    const first: number[] = [];
    const sub = svc.log.stream.subscribe('detector-r', (e) => { first.push(e.position); }, { tenants: ['st2'] });
    for (let i = 0; i < 3; i++) await svc.audit.record(ctx('st2'), event(i));
    await svc.log.integrate('st2');
    await svc.log.stream.idle();
    await sub.close(); // the detector stops
    assert.deepEqual(first, [0, 1, 2]);
    const stored = await svc.database.db.selectFrom('access_stream_positions').selectAll().where('tenant_id', '=', 'st2').where('subscriber', '=', 'detector-r').executeTakeFirstOrThrow();
    assert.equal(Number(stored.position), 2);

    for (let i = 3; i < 7; i++) await svc.audit.record(ctx('st2'), event(i));
    await svc.log.integrate('st2'); // nobody listens: nothing is handed over

    // A new process: a fresh stream on the same database, the same subscriber name.
    const restarted = new AccessEventStream(svc.database.db);
    const second: number[] = [];
    restarted.subscribe('detector-r', (e) => { second.push(e.position); }, { tenants: ['st2'] });
    await restarted.pump();
    assert.deepEqual(second, [3, 4, 5, 6]);
    // Pumping again, or the integrator offering events already delivered, repeats nothing.
    await restarted.pump();
    restarted.offer('st2', 5, [{ seq: '0', at: new Date().toISOString(), actor_kind: 'system', actor_id: 'cerbere', role: 'system', site_id: null, client_id: null, ip: null,
      purpose: 'system', action: 'read-5', outcome: 'success', resource_refs: [], patient_ids: [], detail: null }]);
    await restarted.idle();
    assert.deepEqual(second, [3, 4, 5, 6]);
    // Another subscriber starting at the end of the log sees only what comes next.
    const late: number[] = [];
    restarted.subscribe('detector-late', (e) => { late.push(e.position); }, { tenants: ['st2'], from: 'end' });
    await restarted.pump();
    await svc.audit.record(ctx('st2'), event(7));
    await svc.log.integrate('st2');
    await restarted.pump();
    assert.deepEqual(late, [7]);
  } finally { await env.close(); }
});

test('a failing handler gets the same event again (at least once); positions before it are not repeated', async () => {
  const env = await testEnv();
  try {
    const svc = env.services;
    await tenantWithToken(svc, 'st3');
    for (let i = 0; i < 4; i++) await svc.audit.record(ctx('st3'), event(i));
    await svc.log.integrate('st3');
    const seen: number[] = [];
    let failOnce = true;
    const stream = new AccessEventStream(svc.database.db, { batchSize: 2, report: () => {} });
    stream.subscribe('detector-f', (e) => {
      if (e.position === 2 && failOnce) { failOnce = false; throw new Error('detector down'); }
      seen.push(e.position);
    }, { tenants: ['st3'] });
    await stream.pump();
    assert.deepEqual(seen, [0, 1]);
    await stream.pump();
    assert.deepEqual(seen, [0, 1, 2, 3]);
  } finally { await env.close(); }
});

test('the stream never delivers an event before it is committed and integrated', async () => {
  const env = await testEnv();
  try {
    const svc = env.services;
    await tenantWithToken(svc, 'st4');
    const got: CommittedAccessEvent[] = [];
    svc.log.stream.subscribe('detector-c', (e) => { got.push(e); }, { tenants: ['st4'] });
    // A write whose transaction rolls back leaves no event (and no hole).
    await assert.rejects(svc.database.db.transaction().execute(async (tx) => {
      await svc.audit.appendInTransaction(tx, ctx('st4'), [event(100)]);
      throw new Error('rollback');
    }));
    // Committed but not integrated yet: not delivered.
    await svc.audit.record(ctx('st4'), event(0));
    await svc.log.stream.pump();
    await svc.log.stream.idle();
    assert.equal(got.length, 0);
    await svc.log.integrate('st4');
    await svc.log.stream.idle();
    assert.deepEqual(got.map((e) => [e.position, e.action]), [[0, 'read-0']]);
  } finally { await env.close(); }
});
