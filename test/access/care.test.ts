// Care relationships, break-glass, bulk limits and the patient compartment, through the repository
// (contexts built directly) and through HTTP for the break-glass operation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { testEnv, testApp, tenantWithToken, type TestEnv, DB_LABEL } from '../helpers.ts';
import { systemContext, type AccessContext } from '../../src/core/context.ts';
import { parseSearch } from '../../src/fhir/search-query.ts';
import { listBreakGlass } from '../../src/access/break-glass.ts';
import { linkDate } from '../../src/access/care-links.ts';
import { runCommand } from '../../src/cli/commands.ts';
import { contextFor, seedFixture, template, type Fixture } from './fixtures.ts';

let env: TestEnv;
let app: FastifyInstance;
let f: Fixture;
let stranger: string; // a patient with no relationship to the fixture's site or practitioner
let token: string;
const principals = new Map<string, AccessContext>();

before(async () => {
  env = await testEnv();
  f = await seedFixture(env.services, 'care');
  const sys = systemContext(f.tenant);
  stranger = (await env.services.repo.create(sys, { resourceType: 'Patient', name: [{ family: 'Inconnu' }], extension: [{ url: 'http://example.org/x', valueString: 'A-' }] })).resource.id;
  await env.services.repo.create(sys, template('Observation', { patient: stranger, practitioner: f.practitioner }));
  app = await testApp(env);
  // Test-only authentication: a valid token, then a principal chosen by a header replaces the token's context.
  token = await tenantWithToken(env.services, 'care-http');
  app.addHook('preHandler', async (req) => {
    const who = req.headers['x-test-principal'];
    if (typeof who === 'string' && req.access && principals.has(who)) req.access = principals.get(who)!;
  });
});
after(async () => { await app.close(); await env.close(); });

const repo = () => env.services.repo;
const denied = (e: any) => e.status === 403;
const search = (ctx: AccessContext, type: string, pairs: [string, string][]) => repo().search(ctx, parseSearch(type, pairs, { maxCount: 100 }));

async function events(action: string) {
  return env.services.database.db.selectFrom('audit_events').select(['actor_id', 'action', 'outcome', 'patient_ids', 'detail'])
    .where('tenant_id', '=', f.tenant).where('action', '=', action).orderBy('seq').execute();
}

test(`[${DB_LABEL}] staff see a patient's data only with a care relationship`, async () => {
  const doc = contextFor(f, 'physician', { id: 'doc-1', practitionerId: 'nobody', siteId: 'site-z', siteIds: ['site-z'] });
  await assert.rejects(repo().read(doc, 'Patient', f.patient), denied);
  await assert.rejects(repo().read(doc, 'Observation', f.ids.Observation), denied);
  await assert.rejects(repo().history(doc, 'Patient', f.patient, { count: 5 }), denied);
  const s = await search(doc, 'Observation', [['_total', 'accurate']]);
  assert.equal(s.total, 0, 'no count leaks through _total');
  assert.equal(s.matches.length, 0);
  // Treating-physician link (generalPractitioner of the fixture patient).
  const gp = contextFor(f, 'physician', { id: 'doc-2', siteId: 'site-z', siteIds: ['site-z'] });
  assert.equal(JSON.parse((await repo().read(gp, 'Patient', f.patient)).json).id, f.patient);
  await assert.rejects(repo().read(gp, 'Patient', stranger), denied);
  const mine = await search(gp, 'Observation', [['_total', 'accurate']]);
  assert.equal(mine.total, 1, 'only the related patient\'s observation is counted');
  // Site link: an order at the technician's site.
  const tech = contextFor(f, 'lab_technician', { id: 'tech-1', practitionerId: null });
  assert.ok((await repo().read(tech, 'Specimen', f.ids.Specimen)).json);
  await assert.rejects(repo().read(tech, 'Patient', stranger), denied);
  // A new order for the stranger at site-a creates the relationship (the cache forgets the denial).
  const otherDoc = (await repo().create(systemContext(f.tenant), template('Practitioner', { patient: 'x', practitioner: 'x' }))).resource.id;
  await repo().create(systemContext(f.tenant), template('ServiceRequest', { patient: stranger, practitioner: otherDoc, site: 'site-a' }));
  assert.ok((await repo().read(tech, 'Patient', stranger)).json);
  const obs = await search(tech, 'Observation', [['subject', `Patient/${stranger}`]]);
  assert.equal(obs.matches.length, 1);
  // _include never brings in a resource outside the relationship.
  const other = contextFor(f, 'physician', { id: 'doc-3', siteId: 'site-z', siteIds: ['site-z'] });
  const inc = await search(other, 'Observation', [['_include', 'Observation:subject']]);
  assert.ok(inc.matches.every((m: any) => m.subject.reference === `Patient/${f.patient}`));
  assert.ok(inc.includes.every((m: any) => m.id === f.patient));
  // An appointment booked by a receptionist at site-b is tagged with that site and links the patient to it.
  const loner = (await repo().create(systemContext(f.tenant), { resourceType: 'Patient', name: [{ family: 'Seul' }] })).resource.id;
  const techB = contextFor(f, 'lab_technician', { id: 'tech-b', practitionerId: null, siteId: 'site-b', siteIds: ['site-b'] });
  await assert.rejects(repo().read(techB, 'Patient', loner), denied);
  const appt = await repo().create(contextFor(f, 'receptionist', { id: 'rec-b', siteId: 'site-b', siteIds: ['site-b'] }), template('Appointment', { patient: loner, practitioner: f.practitioner }));
  assert.deepEqual(appt.resource.meta.tag, [{ system: 'urn:cerbere:site', code: 'site-b' }]);
  assert.ok((await repo().read(techB, 'Patient', loner)).json);
  // Cancelling the appointment removes the relationship.
  await repo().update(systemContext(f.tenant), 'Appointment', appt.resource.id, { ...appt.resource, status: 'cancelled' });
  await assert.rejects(repo().read(techB, 'Patient', loner), denied);
  await assert.rejects(repo().importBatch(techB, [template('Specimen', { patient: loner, practitioner: f.practitioner })]), denied);
  const deniedEvents = (await events('read')).filter((e) => e.outcome === 'denied');
  assert.ok(deniedEvents.some((e) => e.actor_id === 'doc-1' && e.detail === 'scope'), 'denials are recorded');
});

test(`[${DB_LABEL}] break-glass: reason required, capability required, time-limited, recorded and flagged`, async () => {
  const er = contextFor(f, 'physician', { id: 'er-doc', practitionerId: 'nobody', siteId: 'site-z', siteIds: ['site-z'] });
  principals.set('er', er);
  principals.set('rec', contextFor(f, 'receptionist', { id: 'rec-1' }));
  const h = { authorization: `Bearer ${token}`, 'x-test-principal': 'er' };
  assert.equal((await app.inject({ url: `/fhir/Patient/${f.patient}`, headers: h })).statusCode, 403);
  const noReason = await app.inject({ method: 'POST', url: `/fhir/Patient/${f.patient}/$break-glass`, headers: h, payload: { resourceType: 'Parameters', parameter: [] } });
  assert.equal(noReason.statusCode, 400);
  const tooLong = await app.inject({ method: 'POST', url: `/fhir/Patient/${f.patient}/$break-glass`, headers: h, payload: { reason: 'patient inconscient aux urgences', minutes: 600 } });
  assert.equal(tooLong.statusCode, 400);
  const rec = await app.inject({ method: 'POST', url: `/fhir/Patient/${f.patient}/$break-glass`, headers: { ...h, 'x-test-principal': 'rec' }, payload: { reason: 'patient inconscient aux urgences' } });
  assert.equal(rec.statusCode, 403, 'a receptionist may not break the glass');
  const unknown = await app.inject({ method: 'POST', url: '/fhir/Patient/does-not-exist/$break-glass', headers: h, payload: { reason: 'patient inconscient aux urgences' } });
  assert.equal(unknown.statusCode, 404);
  const ok = await app.inject({ method: 'POST', url: `/fhir/Patient/${f.patient}/$break-glass`, headers: h,
    payload: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'patient inconscient aux urgences' }, { name: 'minutes', valueInteger: 15 }] } });
  assert.equal(ok.statusCode, 201, ok.body);
  const params = JSON.parse(ok.body).parameter;
  const bgId = params.find((p: any) => p.name === 'id').valueString;
  const expires = new Date(params.find((p: any) => p.name === 'expires').valueInstant).getTime();
  assert.ok(expires > Date.now() + 14 * 60_000 && expires <= Date.now() + 15 * 60_000 + 1000);
  // Now allowed, for this patient only, and every access carries the flag.
  assert.equal((await app.inject({ url: `/fhir/Patient/${f.patient}`, headers: h })).statusCode, 200);
  assert.equal((await app.inject({ url: `/fhir/Observation/${f.ids.Observation}`, headers: h })).statusCode, 200);
  assert.equal((await app.inject({ url: `/fhir/Patient/${stranger}`, headers: h })).statusCode, 403);
  const s = JSON.parse((await app.inject({ url: '/fhir/Observation?_total=accurate', headers: h })).body);
  assert.equal(s.total, 1);
  const bgEvents = await events('break-glass');
  const granted = bgEvents.find((e) => e.outcome === 'success')!;
  assert.match(granted.detail!, new RegExp(`break-glass=${bgId};minutes=1[45];flag=review`));
  assert.deepEqual(granted.patient_ids, [f.patient]);
  assert.ok(bgEvents.some((e) => e.outcome === 'denied' && e.actor_id === 'rec-1'));
  assert.ok(bgEvents.some((e) => e.outcome === 'failure' && e.actor_id === 'er-doc'), 'an unknown patient is recorded too');
  const reads = (await events('read')).filter((e) => e.actor_id === 'er-doc' && e.outcome === 'success');
  assert.equal(reads.length, 2);
  for (const r of reads) assert.match(r.detail!, new RegExp(`break-glass=${bgId};flag=review`));
  const searches = (await events('search')).filter((e) => e.actor_id === 'er-doc');
  assert.match(searches[0].detail!, /break-glass=.*flag=review/);
  // The reason is stored sealed, never in clear, and readable by the DPO's review list.
  const raw = await env.services.database.db.selectFrom('break_glass').select('reason').where('id', '=', bgId).executeTakeFirstOrThrow();
  assert.ok(!Buffer.from(raw.reason).toString('latin1').includes('inconscient'));
  const list = await listBreakGlass(env.services.database.db, await env.services.keyring.keys(f.tenant), f.tenant, { pendingOnly: true, limit: 10 });
  assert.equal(list[0].reason, 'patient inconscient aux urgences');
  const out: string[] = [];
  const io = { line: (s: string) => out.push(s), progress: () => {} } as any;
  assert.equal(await runCommand(env.services, ['breakglass', 'list', '--tenant', f.tenant], io), 0);
  assert.ok(out.some((l) => l.includes(bgId) && l.includes('ACTIVE')));
  assert.equal(await runCommand(env.services, ['breakglass', 'review', '--tenant', f.tenant, bgId, '--by', 'dpo-1'], io), 0);
  out.length = 0;
  await runCommand(env.services, ['breakglass', 'list', '--tenant', f.tenant], io);
  assert.ok(!out.some((l) => l.includes(bgId)));
  // Expiry: once past expires_at (moved back here), access is refused again.
  await env.services.database.db.updateTable('break_glass').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', bgId).execute();
  repo().access.touch(f.tenant, f.patient);
  assert.equal((await app.inject({ url: `/fhir/Patient/${f.patient}`, headers: h })).statusCode, 403);
  const after = JSON.parse((await app.inject({ url: '/fhir/Observation?_total=accurate', headers: h })).body);
  assert.equal(after.total, 0);
});

test(`[${DB_LABEL}] patients see their own compartment only`, async () => {
  const me = contextFor(f, 'patient', { id: 'portal-1' });
  assert.ok((await repo().read(me, 'Patient', f.patient)).json);
  assert.ok((await repo().read(me, 'Observation', f.ids.Observation)).json);
  await assert.rejects(repo().read(me, 'Patient', stranger), denied);
  const obs = await search(me, 'Observation', [['_total', 'accurate']]);
  assert.equal(obs.total, 1);
  assert.ok(obs.matches.every((o: any) => o.subject.reference === `Patient/${f.patient}`));
  const pts = await search(me, 'Patient', [['_total', 'accurate']]);
  assert.deepEqual(pts.matches.map((p: any) => p.id), [f.patient]);
  // Searching for someone else by their id finds nothing.
  assert.equal((await search(me, 'Observation', [['subject', `Patient/${stranger}`], ['_total', 'accurate']])).total, 0);
  // Read-only except booking their own appointments.
  await assert.rejects(repo().create(me, template('Observation', { patient: f.patient, practitioner: f.practitioner })), denied);
  await repo().create(me, template('Appointment', { patient: f.patient, practitioner: f.practitioner }));
  await assert.rejects(repo().create(me, template('Appointment', { patient: stranger, practitioner: f.practitioner })), denied);
  await assert.rejects(repo().history(me, 'Patient', f.patient, { count: 5 }), denied);
  // A patient context that names no patient sees nothing.
  const nobody = contextFor(f, 'patient', { id: 'portal-2', patientId: null });
  assert.equal((await search(nobody, 'Patient', [['_total', 'accurate']])).total, 0);
});

test(`[${DB_LABEL}] searches are capped per account and hour; the excess is refused and flagged`, async () => {
  const access = repo().access as any;
  const saved = access.limits;
  access.limits = { ...saved, searchPatientsPerHour: 2 };
  try {
    const rec = contextFor(f, 'receptionist', { id: 'bulk-rec' });
    await search(rec, 'Patient', [['_count', '1']]);
    await search(rec, 'Patient', [['_count', '1'], ['_sort', '-_lastUpdated']]);
    await assert.rejects(search(rec, 'Patient', [['_count', '5']]), (e: any) => e.status === 429);
    const flagged = (await events('search')).filter((e) => e.actor_id === 'bulk-rec' && e.outcome === 'denied');
    assert.equal(flagged.length, 1);
    assert.match(flagged[0].detail!, /flag=bulk-limit/);
    // Counters live in the database, shared by every instance.
    const c = await env.services.database.db.selectFrom('access_counters').selectAll().where('tenant_id', '=', f.tenant).where('actor', '=', 'user:bulk-rec').execute();
    assert.equal(c.length, 1);
    // _summary=count releases no patient and is not charged.
    await search(rec, 'Patient', [['_summary', 'count']]);
  } finally {
    access.limits = saved;
  }
});

test(`[${DB_LABEL}] access reindex restores tokens and relationships of data stored without them`, async () => {
  const g = await seedFixture(env.services, 'care-old');
  const db = env.services.database.db;
  await db.deleteFrom('care_links').where('tenant_id', '=', g.tenant).execute();
  await db.updateTable('resources').set({ tokens: [] }).where('tenant_id', '=', g.tenant).execute();
  const tech = contextFor(g, 'lab_technician', { id: 'tech-old', practitionerId: null });
  await assert.rejects(repo().read(tech, 'Patient', g.patient), denied);
  const out: string[] = [];
  const io = { line: (s: string) => out.push(s), progress: () => {} } as any;
  assert.equal(await runCommand(env.services, ['access', 'reindex', '--tenant', g.tenant], io), 0, out.join('\n'));
  assert.match(out.join('\n'), /re-indexed \d+ resources/);
  repo().access.touch(g.tenant, g.patient);
  assert.ok((await repo().read(tech, 'Patient', g.patient)).json);
  assert.equal((await search(tech, 'Observation', [['_total', 'accurate']])).total, 1);
  assert.equal((await search(systemContext(g.tenant), 'Patient', [['family', 'nouveau'], ['_total', 'accurate']])).total, 1, 'search tokens are back too');
});

test('care relationships from orders, specimens and appointments count from their latest date; a treating physician has none', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  assert.equal(linkDate({ resourceType: 'Patient' }, now), null);
  assert.equal(linkDate({ resourceType: 'Appointment', start: '2027-02-01T09:00:00Z', end: '2027-02-01T09:15:00Z' }, now), Date.parse('2027-02-01T09:15:00Z'));
  assert.equal(linkDate({ resourceType: 'ServiceRequest', authoredOn: '2020-01-01' }, now), now, 'a back-dated order written now counts from now');
  assert.equal(linkDate({ resourceType: 'Specimen', collection: { collectedDateTime: 'not a date' } }, now), now);
});

test(`[${DB_LABEL}] relationships from orders, specimens and appointments expire (reads, searches, _include); a treating physician's stays`, async () => {
  const g = await seedFixture(env.services, 'care-expiry');
  const db = env.services.database.db;
  const links = await db.selectFrom('care_links').select(['source_type', 'site_id', 'practitioner_id', 'expires_at']).where('tenant_id', '=', g.tenant).execute();
  const fromPatient = links.filter((l) => l.source_type === 'Patient');
  assert.ok(fromPatient.length && fromPatient.every((l) => l.expires_at === null), 'the generalPractitioner link has no end date');
  const days = (d: Date | null) => (new Date(d!).getTime() - Date.now()) / 86_400_000;
  const order = links.find((l) => l.source_type === 'ServiceRequest' && l.site_id === g.site)!;
  assert.ok(days(order.expires_at) > 89 && days(order.expires_at) <= 90, 'an order written now: CERBERE_CARE_LINK_DAYS (90) from now');
  const appt = links.find((l) => l.source_type === 'Appointment' && l.site_id === g.site);
  if (appt) assert.ok(new Date(appt.expires_at!).getTime() > Date.parse('2026-12-01T09:15:00Z') + 89 * 86_400_000, 'an appointment: counted from its end');
  // Time passes: every site and practitioner link from orders, specimens and appointments is over.
  await db.updateTable('care_links').set({ expires_at: new Date(Date.now() - 1000) }).where('tenant_id', '=', g.tenant).where('source_type', '<>', 'Patient').execute();
  const tech = contextFor(g, 'lab_technician', { id: 'tech-expired', practitionerId: null });
  await assert.rejects(repo().read(tech, 'Patient', g.patient), denied);
  await assert.rejects(repo().read(tech, 'Specimen', g.ids.Specimen), denied);
  assert.equal((await search(tech, 'Observation', [['_total', 'accurate']])).total, 0, 'searches (SQL restriction) skip expired links');
  const viaOrder = contextFor(g, 'physician', { id: 'doc-requester', siteId: 'site-z', siteIds: ['site-z'], practitionerId: 'req-only' });
  await db.updateTable('care_links').set({ practitioner_id: 'req-only' }).where('tenant_id', '=', g.tenant).where('source_type', '=', 'ServiceRequest').where('practitioner_id', '<>', '').execute();
  await assert.rejects(repo().read(viaOrder, 'Patient', g.patient), denied, 'an expired practitioner link from an order gives nothing either');
  const inc = await search(tech, 'Specimen', [['_include', 'Specimen:subject']]);
  assert.equal(inc.matches.length + inc.includes.length, 0);
  // The treating physician named on the Patient keeps access.
  const gp = contextFor(g, 'physician', { id: 'doc-gp', siteId: 'site-z', siteIds: ['site-z'] });
  assert.ok((await repo().read(gp, 'Patient', g.patient)).json);
  assert.equal((await search(gp, 'Observation', [['_total', 'accurate']])).total, 1);
  // A new order renews the site relationship.
  await repo().create(systemContext(g.tenant), template('ServiceRequest', { patient: g.patient, practitioner: g.practitioner, site: g.site }));
  const tech2 = contextFor(g, 'lab_technician', { id: 'tech-renewed', practitionerId: null });
  assert.ok((await repo().read(tech2, 'Patient', g.patient)).json);
});
