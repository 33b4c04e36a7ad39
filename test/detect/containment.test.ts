// Issue 18: a stolen credential is cut off after at most 200 patients it has no care relationship with —
// service and reader tokens alike, by search or by id — with a critical alert naming it, and stays refused
// until an administrator restores it. A raised budget (with a reason) lets an integration through.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { testEnv, testApp, type TestEnv, DB_LABEL } from '../helpers.ts';
import { createTenant } from '../../src/store/tenants.ts';
import { createApiToken } from '../../src/auth/api-tokens.ts';
import { seedTenant } from '../../src/seed/seed.ts';
import { runCommand } from '../../src/cli/commands.ts';

const L = `[${DB_LABEL}]`;
let env: TestEnv;
let app: FastifyInstance;
const ids: string[] = [];

const get = (url: string, token: string) => app.inject({ url, headers: { authorization: `Bearer ${token}` } });

before(async () => {
  env = await testEnv();
  await createTenant(env.services.database.db, env.services.keyring, 'c', 'Clinique');
  await seedTenant(env.services, 'c', { patients: 320, seed: 11, ordersPerPatient: 0 }, { line: () => {}, progress: () => {} });
  app = await testApp(env);
  const admin = (await createApiToken(env.services.database.db, 'c', 'service', 'collector')).token;
  const lines: string[] = [];
  await runCommand(env.services, ['budget', 'set', '--tenant', 'c', '--token', admin.split('_')[2], '--limit', '1000', '--reason', 'test: collects the ids an attacker would know'], { line: (t) => lines.push(t), progress: () => {} });
  for (let off = 0; off < 320; off += 100) ids.push(...(await get(`/fhir/Patient?_count=100&_offset=${off}`, admin)).json().entry.map((e: any) => e.resource.id));
  assert.equal(ids.length, 320);
});
after(async () => { await app.close(); await env.close(); });

async function pageThrough(token: string): Promise<{ got: Set<string>; stop: any }> {
  const got = new Set<string>();
  for (let off = 0; off < 400; off += 50) {
    const r = await get(`/fhir/Patient?_count=50&_offset=${off}`, token);
    if (r.statusCode !== 200) return { got, stop: r };
    for (const e of r.json().entry ?? []) got.add(e.resource.id);
  }
  return { got, stop: null };
}

test(`${L} a service token paging through searches gets at most 200 patients, then 429, a critical alert and a suspension`, async () => {
  const { token, tokenId } = await createApiToken(env.services.database.db, 'c', 'service', 'stolen');
  const t0 = Date.now();
  const { got, stop } = await pageThrough(token);
  assert.ok(got.size <= 200, `${got.size} patients`);
  assert.equal(got.size, 200);
  assert.equal(stop.statusCode, 429);
  assert.equal(stop.json().resourceType, 'OperationOutcome');
  const alerts = await env.services.watch.alerts.list('c', { state: 'open' });
  const a = alerts.find((x) => x.kind === 'budget' && x.actor?.id === tokenId);
  assert.ok(a, 'a budget alert names the token');
  assert.equal(a.severity, 'critical');
  assert.ok(new Date(a.firstAt).getTime() - t0 < 10_000, 'alert within 10 s');
  assert.equal((await get(`/fhir/Patient/${ids[0]}`, token)).statusCode, 403, 'suspended: refused even for a patient already released');
  const lines: string[] = [];
  assert.equal(await runCommand(env.services, ['credential', 'restore', '--tenant', 'c', '--token', tokenId, '--reason', 'test: the integration was checked'], { line: (t) => lines.push(t), progress: () => {} }), 0);
  assert.equal((await get(`/fhir/Patient/${ids[0]}`, token)).statusCode, 200, 'restored: a new window');
});

test(`${L} a reader token reading by id is cut off at 200 too; patients it already received cost nothing again`, async () => {
  const { token, tokenId } = await createApiToken(env.services.database.db, 'c', 'reader', 'results viewer');
  let ok = 0;
  let last = 0;
  for (const id of ids) {
    const r = await get(`/fhir/Patient/${id}`, token);
    last = r.statusCode;
    if (r.statusCode !== 200) break;
    ok++;
    if (ok === 150) for (let k = 0; k < 20; k++) assert.equal((await get(`/fhir/Patient/${ids[k]}`, token)).statusCode, 200);
  }
  assert.equal(ok, 200);
  assert.equal(last, 429);
  assert.ok((await env.services.watch.suspensions.isSuspended('c', { kind: 'token', id: tokenId })));
  await env.services.log.integrate('c');
  const denied = await env.services.database.db.selectFrom('audit_events').select('detail').where('tenant_id', '=', 'c').where('actor_id', '=', tokenId).where('outcome', '=', 'denied').execute();
  assert.ok(denied.some((d) => /^budget=spent;used=200;limit=200/.test(d.detail ?? '')), 'the refusal is in the access log');
});

test(`${L} an integration with a raised budget (set with a reason) reads on; internal jobs are not counted`, async () => {
  const { token, tokenId } = await createApiToken(env.services.database.db, 'c', 'service', 'LIS');
  const lines: string[] = [];
  assert.equal(await runCommand(env.services, ['budget', 'set', '--tenant', 'c', '--token', tokenId, '--limit', '2000', '--reason', 'LIS nightly reconciliation, ticket 42'], { line: (t) => lines.push(t), progress: () => {} }), 0);
  const { got, stop } = await pageThrough(token);
  assert.equal(stop, null);
  assert.equal(got.size, 320);
  const u = await env.services.watch.budgets.usage('c', 'token', tokenId);
  assert.deepEqual(u, { used: 320, limit: 2000 });
});
