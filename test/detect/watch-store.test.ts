// Alerts (de-duplication, states and their history), suspensions and release budgets, in the database,
// and the CLI that serves them (`cerbere alerts|credential|budget …`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testEnv, tenantWithToken, type TestEnv, DB_LABEL } from '../helpers.ts';
import { runCommand } from '../../src/cli/commands.ts';
import type { AccessContext } from '../../src/core/context.ts';

const L = `[${DB_LABEL}]`;
let env: TestEnv;

async function cli(...argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runCommand(env.services, argv, { line: (t) => lines.push(t), progress: () => {} });
  return { code, lines };
}
const tokenCtx = (id: string, role = 'service'): AccessContext => ({ tenantId: 'w', actor: { kind: 'token', id, role }, purpose: 'TREAT', client: { tokenId: id, ip: '10.0.0.9' } });

before(async () => { env = await testEnv(); await tenantWithToken(env.services, 'w'); });
after(async () => { await env.close(); });

test(`${L} an alert is de-duplicated per kind and actor until closed; states keep who changed them`, async () => {
  const w = env.services.watch;
  const c = { tenantId: 'w', kind: 'volume', severity: 'medium' as const, actor: { kind: 'user', id: 'u1' }, tokenId: null, at: new Date(), patients: 40, evidence: [3, 4], summary: 'user u1 read 40 patients in 5 min', dedupKey: 'volume:user:u1' };
  const a = await w.raise(c);
  const b = await w.raise({ ...c, patients: 55, evidence: [9], at: new Date(Date.now() + 1000) });
  assert.equal(b.id, a.id);
  assert.equal(b.patients, 55);
  assert.deepEqual(b.evidence, [3, 4, 9]);
  const { lines } = await cli('alerts', 'list', '--tenant', 'w', '--json');
  const row = JSON.parse(lines[0]);
  for (const k of ['id', 'kind', 'severity', 'state', 'actor', 'tokenId', 'firstAt', 'lastAt', 'patients', 'summary']) assert.ok(k in row, k);
  assert.deepEqual(row.actor, { kind: 'user', id: 'u1' });
  assert.equal((await cli('alerts', 'ack', '--tenant', 'w', a.id, '--by', 'dpo')).code, 0);
  assert.equal((await cli('alerts', 'close', '--tenant', 'w', a.id)).code, 0);
  const closed = await w.alerts.get('w', a.id);
  assert.deepEqual(closed!.history.map((h) => h.state), ['open', 'acknowledged', 'closed']);
  assert.equal(closed!.history[1].by.id, 'cli:dpo');
  const again = await w.raise(c);
  assert.notEqual(again.id, a.id, 'a closed alert is not reopened: a repeat is a new alert');
  assert.notEqual((await cli('alerts', 'ack', '--tenant', 'w', 'nope')).code, 0);
});

test(`${L} a high-severity alert suspends its credential; an administrator restores it, both recorded`, async () => {
  const w = env.services.watch;
  await w.raise({ tenantId: 'w', kind: 'canary', severity: 'critical', actor: { kind: 'token', id: 't-high' }, tokenId: 't-high', at: new Date(), patients: 1, evidence: [], summary: 'token t-high touched a canary patient', dedupKey: 'canary:token:t-high' });
  assert.ok(await w.suspensions.isSuspended('w', { kind: 'token', id: 't-high' }));
  const list = await cli('credential', 'list', '--tenant', 'w');
  assert.match(list.lines.join('\n'), /token:t-high.*SUSPENDED/);
  assert.notEqual((await cli('credential', 'restore', '--tenant', 'w', '--token', 't-high', '--reason', 'short')).code, 0);
  assert.equal((await cli('credential', 'restore', '--tenant', 'w', '--token', 't-high', '--reason', 'false alarm, checked with the lab')).code, 0);
  assert.equal(await w.suspensions.isSuspended('w', { kind: 'token', id: 't-high' }), false);
  await env.services.log.integrate('w');
  const actions = (await env.services.database.db.selectFrom('audit_events').select(['action', 'detail']).where('tenant_id', '=', 'w').execute()).map((r) => `${r.action} ${r.detail}`);
  assert.ok(actions.some((a) => /^credential\.suspend principal=token:t-high/.test(a)));
  assert.ok(actions.some((a) => /^credential\.restore principal=token:t-high/.test(a)));
});

test(`${L} the release budget: 200 unexplained patients, a request crossing it refused whole; worked patients are free; raised budgets need a reason and, above the threshold, a second administrator`, async () => {
  const b = env.services.watch.budgets;
  const ctx = tokenCtx('t-budget');
  const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => `p${from + i}`);
  assert.deepEqual(await b.charge(ctx, ids(0, 150)), { allowed: true, used: 150, limit: 200 });
  assert.deepEqual(b.unknown(ctx, ids(140, 20)), ids(150, 10), 'counted patients cost nothing again');
  assert.equal((await b.charge(ctx, ids(150, 60))).allowed, false, '150 + 60 > 200: refused whole');
  assert.equal((await b.usage('w', 'token', 't-budget')).used, 150);
  await b.worked(env.services.database.db, ctx, ids(300, 100));
  assert.deepEqual(b.unknown(ctx, ids(300, 100)), []);
  assert.equal((await b.charge(ctx, ids(150, 50))).allowed, true);
  assert.equal((await b.charge(ctx, ids(200, 1))).allowed, false);

  assert.notEqual((await cli('budget', 'set', '--tenant', 'w', '--token', 't-budget', '--limit', '1000', '--reason', 'x')).code, 0);
  assert.equal((await cli('budget', 'set', '--tenant', 'w', '--token', 't-budget', '--limit', '1000', '--reason', 'nightly results export to the regional DMP')).code, 0);
  assert.equal((await b.charge(tokenCtx('t-budget'), ids(200, 100))).allowed, true);
  const big = await cli('budget', 'set', '--tenant', 'w', '--token', 't-mig', '--limit', '600000', '--reason', 'migration from the old LIS, ticket 4521', '--by', 'alice');
  assert.match(big.lines.join('\n'), /awaits a second administrator/);
  assert.equal(await b.limitOf('w', 'token', 't-mig'), 200);
  assert.notEqual((await cli('budget', 'approve', '--tenant', 'w', '--token', 't-mig', '--by', 'alice')).code, 0, 'not by the same person');
  assert.equal((await cli('budget', 'approve', '--tenant', 'w', '--token', 't-mig', '--by', 'bob')).code, 0);
  assert.equal(await b.limitOf('w', 'token', 't-mig'), 600000);
});
