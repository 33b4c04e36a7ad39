// Blast radius: category mapping, every filter (actor, token, CIDR v4/v6, site, type, action, window),
// authorisation, tenant isolation, CSV/Parameters/Bundle shapes, recording, and the CLI command.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
// assert.ok without a message re-parses the source to describe the failure, which can hang under tsx.
const ok = (c: unknown, m = 'expected a truthy value') => assert.equal(Boolean(c), true, m);
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { testEnv, testApp, tenantWithToken, type TestEnv, DB_LABEL } from '../helpers.ts';
import { createApiToken } from '../../src/auth/api-tokens.ts';
import { validateResource } from '../../src/fhir/validate.ts';
import type { AccessContext } from '../../src/core/context.ts';
import type { AccessEvent } from '../../src/audit/record/recorder.ts';
import { computeBlastRadius, eventCategories, normaliseCidr, toBundle, toCsv, toParameters, type BlastCriteria } from '../../src/respond/blast-radius.ts';
import { runCommand } from '../../src/cli/commands.ts';

let env: TestEnv;
let app: FastifyInstance;
let dpo: string;
let dpoB: string;
const other: Record<string, string> = {};
let since: Date;
let until: Date;

const ctx = (tenant: string, actor: string, ip: string | null, site: string | null, token = actor): AccessContext => ({
  tenantId: tenant, actor: { kind: 'user', id: actor, role: 'service', siteId: site }, purpose: 'TREAT', client: { tokenId: token, ip },
});
const ev = (action: string, refs: string[], patients: string[], outcome: AccessEvent['outcome'] = 'success'): AccessEvent => ({ action, outcome, resourceRefs: refs, patientIds: patients });

before(async () => {
  env = await testEnv();
  app = await testApp(env);
  await tenantWithToken(env.services, 'ta');
  dpo = (await createApiToken(env.services.database.db, 'ta', 'dpo', 't')).token;
  for (const role of ['service', 'reader', 'auditor']) other[role] = (await createApiToken(env.services.database.db, 'ta', role, 't')).token;
  dpoB = await tenantWithToken(env.services, 'tb', 'dpo');
  since = new Date(Date.now() - 60_000);
  const a = env.services.audit;
  const db = env.services.database.db;
  await a.appendInTransaction(db, ctx('ta', 'alice', '10.1.2.3', 'site-1', 'tok-a'), [ev('read', ['Patient/p1'], ['p1'])]);
  await a.appendInTransaction(db, ctx('ta', 'alice', '::ffff:10.1.2.4', 'site-1', 'tok-a'), [ev('search', ['Observation/o1', 'Observation/o2', 'DiagnosticReport/d1'], ['p1', 'p2'])]);
  await a.appendInTransaction(db, ctx('ta', 'alice', '192.168.1.1', 'site-2', 'tok-a2'), [ev('read', ['ServiceRequest/s1'], ['p3'])]);
  await a.appendInTransaction(db, ctx('ta', 'alice', '192.168.1.1', 'site-2', 'tok-a2'), [ev('read', ['Patient/#abc'], [], 'failure'), ev('delete', ['Patient'], [], 'denied')]);
  await a.appendInTransaction(db, ctx('ta', 'alice', 'not-an-ip', 'site-2', 'tok-a2'), [ev('read', ['Practitioner/pr1'], [])]);
  await a.appendInTransaction(db, ctx('ta', 'alice', '1.2.3', 'site-2', 'tok-a2'), [ev('update', ['Specimen/sp1'], ['p5'])]);
  await a.appendInTransaction(db, ctx('ta', 'bob', '2001:db8::5', 'site-1', 'tok-b'), [ev('read', ['Patient/p4'], ['p4']), ev('search', ['Slot/x', 'Appointment/ap1'], ['p4'])]);
  await a.appendInTransaction(db, ctx('tb', 'alice', '10.1.2.3', 'site-1', 'tok-a'), [ev('read', ['Patient/p1'], ['p1']), ev('read', ['Patient/pb'], ['pb'])]);
  until = new Date(Date.now() + 60_000);
});
after(async () => { await app.close(); await env.close(); });

const run = (c: Partial<BlastCriteria>, tenant = 'ta') => computeBlastRadius(env.services.database.db, tenant, { since, until, ...c });
const ids = (r: { patients: { patientId: string }[] }) => r.patients.map((p) => p.patientId);

test('category mapping: type of the references, union over the event, conservative default', () => {
  assert.deepEqual(eventCategories(['Patient/p1'], ['p1']), ['identity', 'contact', 'nir']);
  assert.deepEqual(eventCategories(['Observation/o', 'DiagnosticReport/d'], ['p1']), ['results']);
  assert.deepEqual(eventCategories(['ServiceRequest/s', 'Specimen/x'], ['p1']), ['clinical']);
  assert.deepEqual(eventCategories(['Observation/o', 'Patient/p1'], ['p1']), ['identity', 'contact', 'nir', 'results']);
  assert.deepEqual(eventCategories(['Practitioner/x'], ['p1']), ['clinical']);
  assert.deepEqual(eventCategories(['Consent/x'], ['p1']), ['clinical']);
  assert.deepEqual(eventCategories(['Patient/p1'], []), []);
  assert.equal(normaliseCidr('10.0.0.0/8'), '10.0.0.0/8');
  assert.equal(normaliseCidr('2001:DB8::1'), '2001:db8::1/128');
  for (const bad of ['10.0.0.0/33', '10.0.0', 'x', '10.0.0.0/8/1', '::/129', "1.1.1.1'; drop", 'fe80::1%eth0']) assert.throws(() => normaliseCidr(bad), bad);
});

test(`[${DB_LABEL}] one actor over a window: distinct patients, categories, counts, evidence`, async () => {
  const r = await run({ actors: ['alice'] });
  assert.deepEqual(ids(r), ['p1', 'p2', 'p3', 'p5']);
  const p1 = r.patients[0];
  assert.deepEqual(p1.categories, ['identity', 'contact', 'nir', 'results']);
  assert.equal(p1.eventCount, 2);
  assert.equal(p1.eventIds.length, 2);
  ok(p1.first <= p1.last);
  assert.deepEqual(r.patients[1].categories, ['results']);
  assert.deepEqual(r.patients[2].categories, ['clinical']);
  assert.equal(r.events, 4);
  assert.equal(r.attempts, 2, 'the failed read and the denied delete');
  assert.deepEqual(r.byCategory, { identity: 1, contact: 1, nir: 1, clinical: 2, results: 2 });
  // event ids are the AuditEvent ids, and they are this tenant's events naming the patient
  const rows = await env.services.database.db.selectFrom('audit_events').select(['leaf_index', 'tenant_id', 'patient_ids']).where('tenant_id', '=', 'ta').where('leaf_index', 'in', p1.eventIds).execute();
  assert.equal(rows.length, 2);
  ok(rows.every((x) => x.tenant_id === 'ta' && x.patient_ids.includes('p1')));
  // outside the window: nothing
  assert.equal((await run({ actors: ['alice'], since: new Date('2000-01-01T00:00:00Z'), until: new Date('2000-02-01T00:00:00Z') })).patients.length, 0);
});

test(`[${DB_LABEL}] CIDR filtering (IPv4, IPv4-mapped, IPv6, malformed stored addresses), token, site, type, action`, async () => {
  assert.deepEqual(ids(await run({ cidrs: ['10.0.0.0/8'] })), ['p1', 'p2']);
  assert.deepEqual(ids(await run({ cidrs: ['10.1.2.3'] })), ['p1']);
  assert.deepEqual(ids(await run({ cidrs: ['10.1.2.4/32'] })), ['p1', 'p2'], '::ffff:10.1.2.4 is 10.1.2.4');
  assert.deepEqual(ids(await run({ cidrs: ['192.168.0.0/16', '2001:db8::/32'] })), ['p3', 'p4']);
  assert.deepEqual(ids(await run({ cidrs: ['0.0.0.0/0'] })), ['p1', 'p2', 'p3']);
  assert.deepEqual(ids(await run({ cidrs: ['::/0'] })), ['p4']);
  assert.deepEqual(ids(await run({ tokens: ['tok-a2'] })), ['p3', 'p5']);
  assert.deepEqual(ids(await run({ sites: ['site-1'] })), ['p1', 'p2', 'p4']);
  assert.deepEqual(ids(await run({ types: ['ServiceRequest', 'Specimen'] })), ['p3', 'p5']);
  assert.deepEqual(ids(await run({ actions: ['search'] })), ['p1', 'p2', 'p4']);
  assert.deepEqual(ids(await run({ actions: ['update'] })), ['p5']);
  assert.deepEqual(ids(await run({ actors: ['bob'], types: ['Appointment'] })), ['p4']);
  assert.deepEqual((await run({ actors: ['bob'] })).patients[0].categories, ['identity', 'contact', 'nir', 'clinical']);
  assert.deepEqual(ids(await run({ actors: ['alice'], cidrs: ['2001:db8::/32'] })), []);
});

test(`[${DB_LABEL}] tenant isolation: the same actor and patient ids in tenant B are never mixed in`, async () => {
  assert.deepEqual(ids(await run({ actors: ['alice'] }, 'tb')), ['p1', 'pb']);
  ok(!ids(await run({})).includes('pb'));
  const r = await app.inject({ method: 'POST', url: '/fhir/$blast-radius', headers: { authorization: `Bearer ${dpoB}` }, payload: {
    resourceType: 'Parameters', parameter: [{ name: 'actor', valueString: 'bob' }, { name: 'since', valueDateTime: since.toISOString() }, { name: 'until', valueDateTime: until.toISOString() }],
  } });
  assert.equal(r.statusCode, 200);
  assert.equal(JSON.parse(r.body).parameter.find((p: any) => p.name === 'patientCount').valueInteger, 0);
});

const call = (token: string, parameter: any[]) => app.inject({ method: 'POST', url: '/fhir/$blast-radius', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
  payload: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'since', valueDateTime: since.toISOString() }, { name: 'until', valueDateTime: until.toISOString() }, ...parameter] }) });

test(`[${DB_LABEL}] API: only audit:investigate (dpo); reader, service and auditor tokens refused`, async () => {
  for (const role of ['reader', 'service', 'auditor']) {
    const r = await call(other[role], [{ name: 'actor', valueString: 'alice' }]);
    assert.equal(r.statusCode, 403, role);
    assert.equal(JSON.parse(r.body).resourceType, 'OperationOutcome');
  }
  assert.equal((await app.inject({ method: 'POST', url: '/fhir/$blast-radius', payload: {} })).statusCode, 401);
  for (const bad of [[{ name: 'ip', valueString: '10.0.0.0/40' }], [{ name: 'colour', valueString: 'x' }], [{ name: 'format', valueCode: 'xml' }], [{ name: 'actor', valueInteger: 3 }]]) {
    const r = await call(dpo, bad);
    assert.equal(r.statusCode, 400, JSON.stringify(bad));
    assert.doesNotMatch(r.body, /10\.0\.0\.0/);
  }
  const noWindow = await app.inject({ method: 'POST', url: '/fhir/$blast-radius', headers: { authorization: `Bearer ${dpo}` }, payload: { resourceType: 'Parameters', parameter: [{ name: 'actor', valueString: 'a' }] } });
  assert.equal(noWindow.statusCode, 400);
});

test(`[${DB_LABEL}] API: Parameters, Bundle and CSV shapes; the query is recorded without patient ids`, async () => {
  const before = await env.services.database.db.selectFrom('audit_events').select('seq').where('tenant_id', '=', 'ta').where('action', '=', 'blast-radius').where('outcome', '=', 'success').execute();
  const p = await call(dpo, [{ name: 'actor', valueString: 'alice' }, { name: 'ip', valueString: '10.0.0.0/8' }]);
  assert.equal(p.statusCode, 200);
  const params = JSON.parse(p.body);
  assert.deepEqual(validateResource(params, undefined, { alsoTypes: ['Parameters'] }), []);
  assert.equal(params.parameter.find((x: any) => x.name === 'patientCount').valueInteger, 2);
  const pats = params.parameter.filter((x: any) => x.name === 'patient');
  assert.deepEqual(pats.map((x: any) => x.part[0].valueReference.reference), ['Patient/p1', 'Patient/p2']);
  assert.deepEqual(pats[0].part.filter((x: any) => x.name === 'category').map((x: any) => x.valueCode), ['identity', 'contact', 'nir', 'results']);
  assert.equal(pats[0].part.filter((x: any) => x.name === 'event').length, 2);
  assert.match(pats[0].part.find((x: any) => x.name === 'event').valueReference.reference, /^AuditEvent\/\d+$/);

  const b = await call(dpo, [{ name: 'actor', valueString: 'alice' }, { name: 'format', valueCode: 'bundle' }]);
  const bundle = JSON.parse(b.body);
  assert.equal(bundle.type, 'collection');
  assert.deepEqual(validateResource(bundle, undefined, { alsoTypes: ['Bundle'] }), []);
  assert.deepEqual(validateResource(bundle.entry[0].resource, undefined, { alsoTypes: ['List'] }), []);
  assert.deepEqual(bundle.entry[0].resource.entry.map((e: any) => e.item.reference), ['Patient/p1', 'Patient/p2', 'Patient/p3', 'Patient/p5']);
  assert.equal(bundle.entry[1].resource.resourceType, 'Parameters');

  const c = await call(dpo, [{ name: 'actor', valueString: 'alice' }, { name: 'format', valueCode: 'csv' }]);
  assert.match(String(c.headers['content-type']), /^text\/csv/);
  const lines = c.body.trim().split('\n');
  assert.equal(lines[0], 'patient_id,categories,first_access,last_access,event_count,event_ids');
  assert.equal(lines.length, 5);
  const [id, cats, first, last, n, evs] = lines[1].split(',');
  assert.equal(id, 'p1');
  assert.equal(cats, 'identity;contact;nir;results');
  assert.match(first, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  ok(last >= first);
  assert.equal(n, '2');
  assert.match(evs, /^\d+ \d+$/);

  const empty = JSON.parse((await call(dpo, [{ name: 'actor', valueString: 'nobody' }, { name: 'format', valueCode: 'bundle' }])).body);
  assert.deepEqual(validateResource(empty.entry[0].resource, undefined, { alsoTypes: ['List'] }), []);

  const after = await env.services.database.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', 'ta').where('action', '=', 'blast-radius').execute();
  const mine = after.filter((x) => x.outcome === 'success');
  ok(mine.length >= before.length + 4, 'four recorded queries');
  ok(mine.every((x) => x.patient_ids.length === 0 && x.role === 'dpo'), JSON.stringify(mine));
  ok(mine.some((x) => /actor=alice;ip=10\.0\.0\.0\/8;patients=2/.test(x.detail ?? '')), 'detail names the criteria');
  ok(after.some((x) => x.outcome === 'denied' && x.role === 'reader'), 'denials recorded');
});

test(`[${DB_LABEL}] CLI: incident blast-radius prints CSV or writes a Bundle file (0600, never overwritten)`, async () => {
  const lines: string[] = [];
  const io = { line: (t: string) => { lines.push(t); }, progress: () => {} };
  const args = ['incident', 'blast-radius', '--tenant', 'ta', '--since', since.toISOString(), '--until', until.toISOString()];
  assert.equal(await runCommand(env.services, [...args, '--actor', 'alice,bob', '--ip', '10.0.0.0/8,2001:db8::/32'], io), 0, lines.join('\n'));
  assert.equal(lines[0], 'patient_id,categories,first_access,last_access,event_count,event_ids');
  assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]), ['p1', 'p2', 'p4']);
  const dir = mkdtempSync(join(tmpdir(), 'cerbere-br-'));
  const out = join(dir, 'radius.json');
  lines.length = 0;
  assert.equal(await runCommand(env.services, [...args, '--type', 'Patient', '--format', 'bundle', '--out', out], io), 0, lines.join('\n'));
  assert.match(lines.join('\n'), /2 patient\(s\) touched/);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const b = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(b.entry[0].resource.entry.map((e: any) => e.item.reference), ['Patient/p1', 'Patient/p4']);
  lines.length = 0;
  assert.equal(await runCommand(env.services, [...args, '--out', out], io), 2);
  assert.match(lines[0], /^cerbere: cannot create .* must not exist already$/);
  for (const bad of [['--ip', 'nope'], ['--format', 'xml'], ['--since', 'yesterday'], ['--tenant', 'zz']]) {
    lines.length = 0;
    const argv = [...args];
    const i = argv.indexOf(bad[0]);
    if (i >= 0) argv.splice(i, 2);
    assert.equal(await runCommand(env.services, [...argv, ...bad], io), 2, bad.join(' '));
    assert.equal(lines.length, 1);
    assert.match(lines[0], /^cerbere: /);
  }
  const rows = await env.services.database.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', 'ta').where('actor_id', '=', 'cli').execute();
  ok(rows.length >= 2 && rows.every((r) => r.action === 'blast-radius' && r.patient_ids.length === 0));
});

test('output builders are deterministic on an empty result', () => {
  const r = { tenantId: 't', criteria: { since: new Date(0), until: new Date(1000) }, generatedAt: new Date(0).toISOString(), events: 0, attempts: 0, patients: [],
    byCategory: { identity: 0, contact: 0, nir: 0, clinical: 0, results: 0 } };
  assert.equal(toCsv(r), 'patient_id,categories,first_access,last_access,event_count,event_ids\n');
  assert.equal(toParameters(r).parameter.find((p: any) => p.name === 'patientCount').valueInteger, 0);
  assert.equal(toBundle(r).entry.length, 2);
});
