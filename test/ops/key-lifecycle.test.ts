// Key lifecycle: data-key rotation with background re-encryption (resumable, concurrent writes kept),
// blind-index key rotation (search before, half-way, after), crypto-shredding (API + CLI path,
// 410 afterwards, restore hook), retention purges.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { testEnv, tenantWithToken, testApp, type TestEnv, DB_LABEL } from '../helpers.ts';
import { seedTenant } from '../../src/seed/seed.ts';
import { systemContext } from '../../src/core/context.ts';
import { parseSearch } from '../../src/fhir/search-query.ts';
import { createApiToken } from '../../src/auth/api-tokens.ts';
import { jobOptions, runKeyJob, startRotation, stopKeyJobs } from '../../src/ops/rotation.ts';
import { applyShreddedKeys, readShredList, shreddedKeysRestoreHook } from '../../src/ops/erasure.ts';
import { bodyKeyVersion, bodyPatientKeyNo } from '../../src/vault/resource-cipher.ts';
import { purgeTenant } from '../../src/ops/retention.ts';
import { runCommand } from '../../src/cli/commands.ts';

let env: TestEnv;
let app: FastifyInstance;
let token: string;
const T = 'kl';
const ctx = systemContext(T, 'test');
const quiet = { line: () => {}, progress: () => {} };

before(async () => {
  env = await testEnv();
  app = await testApp(env);
  token = await tenantWithToken(env.services, T);
  await seedTenant(env.services, T, { patients: 30, seed: 11, ordersPerPatient: 1 }, quiet);
});
after(async () => { await stopKeyJobs(); await app.close(); await env.close(); });

const db = () => env.services.database.db;
const search = async (type: string, params: Array<[string, string]>) => (await env.services.repo.search(ctx, parseSearch(type, params, { maxCount: 1000, defaultCount: 1000 }))).matches;
const allOf = (type: string) => search(type, [['_count', '1000']]);
const bodies = async (table: 'resources' | 'resource_history') => db().selectFrom(table).select(['resource_type', 'id', 'version', 'body']).where('tenant_id', '=', T).where('body', 'is not', null).execute();

test(`[${DB_LABEL}] every resource of a patient's compartment is sealed under a per-patient key`, async () => {
  const rows = await bodies('resources');
  const patients = rows.filter((r) => r.resource_type === 'Patient');
  assert.equal(patients.length, 30);
  for (const r of rows) {
    const clinical = ['Patient', 'Observation', 'ServiceRequest', 'Specimen', 'DiagnosticReport'].includes(r.resource_type);
    assert.equal(bodyPatientKeyNo(r.body) !== null, clinical, `${r.resource_type} scope`);
  }
  const keys = await db().selectFrom('patient_keys').select(['patient_id', 'key_no']).where('tenant_id', '=', T).execute();
  assert.equal(keys.length, 30);
  // An Observation carries its subject's key number.
  const obs = (await allOf('Observation'))[0];
  const pid = obs.subject.reference.split('/')[1];
  const row = rows.find((r) => r.resource_type === 'Observation' && r.id === obs.id)!;
  assert.equal(bodyPatientKeyNo(row.body), keys.find((k) => k.patient_id === pid)!.key_no);
  // A read by id fetches the patient key in the same query (no second round trip on a cache miss).
  const tk = await env.services.keyring.keys(T);
  tk.patients.zero();
  const spy = env.services.keyring.loadPatientKeys;
  let calls = 0;
  env.services.keyring.loadPatientKeys = async (...a: Parameters<typeof spy>) => { calls++; return spy.apply(env.services.keyring, a); };
  try {
    assert.equal(JSON.parse((await env.services.repo.read(ctx, 'Observation', obs.id)).json).id, obs.id);
  } finally { env.services.keyring.loadPatientKeys = spy; }
  assert.equal(calls, 0);
});

test(`[${DB_LABEL}] data-key rotation: new writes at once, old rows readable, resumable re-encryption, no lost update, old version retired`, async () => {
  const before = await allOf('Patient');
  const nObs = (await allOf('Observation')).length;
  const { version } = await startRotation(env.services, T, 'enc');
  assert.equal(version, 2);
  // New writes use version 2 at once (this process), while old rows still open under version 1.
  const p = before[0];
  await env.services.repo.update(ctx, 'Patient', p.id, { ...p, active: false });
  const row = await db().selectFrom('resources').select('body').where('tenant_id', '=', T).where('resource_type', '=', 'Patient').where('id', '=', p.id).executeTakeFirstOrThrow();
  assert.equal(bodyKeyVersion(row.body), 2);
  assert.equal((await allOf('Patient')).length, 30);

  // First run "crashes" (stops) after two batches; a write lands in between.
  let batches = 0;
  const other = before[5];
  const opts = jobOptions(env.services, { graceMs: 0, batch: 7, rate: 100_000 });
  const st1 = await runKeyJob(env.services, T, 'enc', { ...opts, onProgress: () => { if (++batches === 2) void stopKeyJobs(); } });
  assert.equal(st1.finished, false);
  assert.equal(st1.phase, 'resources');
  await env.services.repo.update(ctx, 'Patient', other.id, { ...other, gender: 'other' });
  // Half-way: every row reads (mixed versions).
  assert.equal((await allOf('Observation')).length, nObs);
  const st2 = await runKeyJob(env.services, T, 'enc', opts);
  assert.equal(st2.finished, true);
  for (const r of [...await bodies('resources'), ...await bodies('resource_history')]) assert.equal(bodyKeyVersion(r.body), 2);
  const wraps = await db().selectFrom('patient_keys').select('wrap_version').where('tenant_id', '=', T).execute();
  assert.ok(wraps.every((w) => w.wrap_version === 2));
  const versions = await env.services.keyring.versions(T);
  assert.ok(versions.find((k) => k.purpose === 'enc' && k.version === 1)!.retired_at);
  // Nothing lost: both concurrent updates are there, every resource and history version reads.
  const after = await allOf('Patient');
  assert.equal(after.length, 30);
  assert.equal(after.find((x: any) => x.id === p.id).active, false);
  assert.equal(after.find((x: any) => x.id === other.id).gender, 'other');
  const hist = await env.services.repo.history(ctx, 'Patient', other.id, { count: 10 });
  assert.equal(hist.length, 2);
  assert.equal(hist[1].resource.gender, before[5].gender);
  // The access log has per-batch events with counts and no patient ids.
  const ev = await db().selectFrom('audit_events').select(['action', 'patient_ids', 'detail']).where('tenant_id', '=', T).where('action', 'in', ['rekey', 'key-rotate', 'key-retire']).execute();
  assert.ok(ev.some((e) => e.action === 'key-rotate') && ev.some((e) => e.action === 'key-retire'));
  const rekeys = ev.filter((e) => e.action === 'rekey');
  assert.ok(rekeys.length >= 3);
  assert.ok(rekeys.every((e) => e.patient_ids.length === 0 && /scanned=\d+/.test(e.detail ?? '') || /patient_keys/.test(e.detail ?? '')));
});

test(`[${DB_LABEL}] re-encryption never overwrites a row written between its read and its update (compare-and-swap)`, async () => {
  const first = (await db().selectFrom('resources').select(['resource_type', 'id']).where('tenant_id', '=', T).where('body', 'is not', null)
    .orderBy('resource_type').orderBy('id').limit(1).executeTakeFirstOrThrow());
  await startRotation(env.services, T, 'enc');
  const keyring = env.services.keyring;
  const original = keyring.loadPatientKeys.bind(keyring);
  let raced = false;
  // Between the batch's SELECT and its UPDATE, a client updates the first row of the batch.
  keyring.loadPatientKeys = async (...args: Parameters<typeof original>) => {
    if (!raced) {
      raced = true;
      const cur = JSON.parse((await env.services.repo.read(ctx, first.resource_type, first.id)).json);
      await env.services.repo.update(ctx, first.resource_type, first.id, { ...cur, meta: undefined, language: 'fr' });
    }
    return original(...args);
  };
  try {
    const b = await env.services.repo.lifecycle.rekeyBatch(ctx, 'resources', null, 5, 'enc');
    assert.ok(raced);
    assert.equal(b.skipped, 1, 'the raced row is skipped');
  } finally {
    keyring.loadPatientKeys = original;
  }
  const now = JSON.parse((await env.services.repo.read(ctx, first.resource_type, first.id)).json);
  assert.equal(now.language, 'fr', 'the concurrent update survived');
  assert.equal((await runKeyJob(env.services, T, 'enc', jobOptions(env.services, { graceMs: 0, rate: 100_000 }))).finished, true);
  assert.equal(JSON.parse((await env.services.repo.read(ctx, first.resource_type, first.id)).json).language, 'fr');
});

test(`[${DB_LABEL}] index-key rotation: search works before, half-way and after; old tokens removed`, async () => {
  const target = (await allOf('Patient'))[3];
  const family = target.name[0].family;
  const nir = target.identifier.find((i: any) => i.system === 'urn:oid:1.2.250.1.213.1.4.8')?.value ?? target.identifier[0].value;
  const find = async () => {
    const a = (await search('Patient', [['family', family]])).map((r: any) => r.id);
    const b = (await search('Patient', [['identifier', nir]])).map((r: any) => r.id);
    const c = (await search('Observation', [['subject', `Patient/${target.id}`]])).length;
    return { byFamily: a.includes(target.id), byNir: b.includes(target.id), obs: c > 0 };
  };
  const tokenCount = async () => (await db().selectFrom('resources').select('tokens').where('tenant_id', '=', T).where('resource_type', '=', 'Patient').where('id', '=', target.id).executeTakeFirstOrThrow()).tokens.length;
  const before = await find();
  assert.deepEqual(before, { byFamily: true, byNir: true, obs: true });
  const n1 = await tokenCount();
  await startRotation(env.services, T, 'idx');
  let batches = 0;
  const opts = jobOptions(env.services, { graceMs: 0, batch: 10, rate: 100_000 });
  const st = await runKeyJob(env.services, T, 'idx', { ...opts, onProgress: () => { if (++batches === 3) void stopKeyJobs(); } });
  assert.equal(st.finished, false);
  assert.equal(st.phase, 'reindex');
  // Half-way: some rows have both versions' tokens, others only the old ones; queries match either.
  assert.deepEqual(await find(), before);
  // A patient created half-way is indexed under both versions and found.
  const created = await env.services.repo.create(ctx, { resourceType: 'Patient', name: [{ family: 'Rotation-Moitié', given: ['Anaïs'] }] });
  assert.equal((await search('Patient', [['family', 'Rotation-Moitié']]))[0]?.id, created.resource.id);
  const done = await runKeyJob(env.services, T, 'idx', opts);
  assert.equal(done.finished, true);
  assert.deepEqual(await find(), before);
  assert.equal((await search('Patient', [['family', 'Rotation-Moitié']]))[0]?.id, created.resource.id);
  assert.equal(await tokenCount(), n1, 'old-version tokens removed');
  const idx = (await env.services.keyring.versions(T)).filter((k) => k.purpose === 'idx');
  assert.deepEqual(idx.map((k) => [k.version, !!k.retired_at]), [[1, true], [2, false]]);
});

test(`[${DB_LABEL}] erasure through the API (DPO only): 410 afterwards, never in searches, key destroyed, restore hook`, async () => {
  const patients = await allOf('Patient');
  const victim = patients.find((p: any) => p.name?.[0]?.family !== 'Rotation-Moitié' && p.active !== false)!;
  const obs = (await search('Observation', [['subject', `Patient/${victim.id}`]]))[0];
  const family = victim.name[0].family;
  const keyRow = await db().selectFrom('patient_keys').selectAll().where('tenant_id', '=', T).where('patient_id', '=', victim.id).executeTakeFirstOrThrow();
  // What a backup taken now would hold for this patient.
  const backupRes = await db().selectFrom('resources').selectAll().where('tenant_id', '=', T).execute();
  const mine = backupRes.filter((r) => bodyPatientKeyNo(r.body) === keyRow.key_no);
  assert.ok(mine.length >= 4);

  const body = { resourceType: 'Parameters', parameter: [{ name: 'reason', valueCode: 'gdpr-art17' }] };
  const url = `/fhir/Patient/${victim.id}/$erase`;
  const denied = await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, payload: body });
  assert.equal(denied.statusCode, 403);
  const dpo = (await createApiToken(db(), T, 'dpo', 'dpo')).token;
  const bad = await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${dpo}` }, payload: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'Mme X a demandé' }] } });
  assert.equal(bad.statusCode, 400);
  const ok = await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${dpo}` }, payload: body });
  assert.equal(ok.statusCode, 200, ok.body);
  const missing = await app.inject({ method: 'POST', url: '/fhir/Patient/nobody-here/$erase', headers: { authorization: `Bearer ${dpo}` }, payload: body });
  assert.equal(missing.statusCode, 404);

  for (const u of [`/fhir/Patient/${victim.id}`, `/fhir/Observation/${obs.id}`]) {
    const r = await app.inject({ url: u, headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.statusCode, 410, u);
  }
  assert.equal((await search('Patient', [['family', family]])).some((p: any) => p.id === victim.id), false);
  assert.equal((await search('Observation', [['subject', `Patient/${victim.id}`]])).length, 0);
  assert.equal((await allOf('Patient')).some((p: any) => p.id === victim.id), false);
  const left = await db().selectFrom('resources').select(['body', 'tokens', 'deleted']).where('tenant_id', '=', T).where('id', 'in', mine.map((m) => m.id)).execute();
  assert.ok(left.every((r) => r.deleted && r.body === null && r.tokens.length === 0));
  assert.equal((await db().selectFrom('resource_history').select('id').where('tenant_id', '=', T).where('id', 'in', mine.map((m) => m.id)).execute()).length, 0);
  assert.equal(await db().selectFrom('patient_keys').select('key_no').where('tenant_id', '=', T).where('key_no', '=', keyRow.key_no).executeTakeFirst(), undefined);
  // The access log names the internal patient id only.
  const ev = await db().selectFrom('audit_events').select(['patient_ids', 'detail', 'role']).where('tenant_id', '=', T).where('action', '=', 'erase').where('outcome', '=', 'success').execute();
  assert.equal(ev.length, 1);
  assert.deepEqual(ev[0].patient_ids, [victim.id]);
  assert.equal(ev[0].role, 'dpo');
  assert.ok(!ev[0].detail!.includes(family));
  // The shredded-key list kept outside the database names the key number only.
  const list = readShredList(env.services.config.shredDir, T);
  assert.deepEqual(list, [keyRow.key_no]);
  assert.ok(!readFileSync(join(env.services.config.shredDir, `${T}.list`), 'utf8').includes(victim.id));

  // Restoring the older backup brings the key and rows back … until the shredded list is applied.
  const restoreOld = async (tx: any) => {
    await tx.insertInto('patient_keys').values({ ...keyRow }).execute();
    for (const m of mine) {
      await tx.updateTable('resources').set({ body: m.body, tokens: m.tokens, deleted: false, version: m.version, last_updated: m.last_updated })
        .where('tenant_id', '=', T).where('resource_type', '=', m.resource_type).where('id', '=', m.id).execute();
    }
  };
  // As the backup module's restore does: rows inserted, then the hook, in one transaction.
  const destroyed = await db().transaction().execute(async (tx) => { await restoreOld(tx); return shreddedKeysRestoreHook(env.services)(tx, [T]); });
  assert.equal(destroyed, 1);
  assert.equal((await search('Patient', [['family', family]])).some((p: any) => p.id === victim.id), false);
  await restoreOld(db());
  assert.equal((await search('Patient', [['family', family]])).some((p: any) => p.id === victim.id), true, 'restored copy readable before the hook');
  const applied = await applyShreddedKeys(env.services, T, list);
  assert.equal(applied.keys, 1);
  assert.ok(applied.resources >= 4);
  assert.equal((await search('Patient', [['family', family]])).some((p: any) => p.id === victim.id), false);
  assert.equal((await app.inject({ url: `/fhir/Patient/${victim.id}`, headers: { authorization: `Bearer ${token}` } })).statusCode, 410);
});

test(`[${DB_LABEL}] CLI: patient erase, keys status, retention set/show/purge (dry run, then for real)`, async () => {
  const out: string[] = [];
  const io = { line: (s: string) => out.push(s), progress: () => {} };
  const patients = await allOf('Patient');
  const victim = patients[patients.length - 1];
  assert.equal(await runCommand(env.services, ['patient', 'erase', '--tenant', T, victim.id], io), 0, out.join('\n'));
  assert.match(out.pop()!, /erased: key \d+ destroyed/);
  assert.equal(await runCommand(env.services, ['patient', 'erase', '--tenant', T, victim.id, '--reason', 'whatever'], io), 2);
  if (env.services.database.kind === 'pglite') {
    // Through the command table (as the admin socket runs it): progress, then retirement.
    const bars: number[] = [];
    assert.equal(await runCommand(env.services, ['keys', 'rotate', '--tenant', T, '--rate', '100000'], { ...io, progress: (d) => bars.push(d) }), 0, out.join('\n'));
    assert.match(out.pop()!, /re-encryption of tenant kl complete/);
    assert.ok(bars.length > 0);
  }
  assert.equal(await runCommand(env.services, ['keys', 'status', '--tenant', T], io), 0);
  assert.ok(out.some((l) => /^enc\tv[34]\tactive/.test(l)) && out.some((l) => /^idx\tv1\tretired/.test(l)));

  out.length = 0;
  assert.equal(await runCommand(env.services, ['retention', 'set', '--tenant', T, '--type', 'Observation', '--years', '5'], io), 0);
  assert.equal(await runCommand(env.services, ['retention', 'set', '--tenant', T, '--type', 'Patient', '--years', '20'], io), 0);
  assert.equal(await runCommand(env.services, ['retention', 'set', '--tenant', T, '--type', 'Nope', '--years', '20'], io), 2);
  assert.equal(await runCommand(env.services, ['retention', 'show', '--tenant', T], io), 0);
  assert.ok(out.includes('Observation\t5 years') && out.includes('Patient\t20 years'));
  // Today nothing is old enough.
  assert.equal(await runCommand(env.services, ['retention', 'purge', '--tenant', T, '--dry-run'], io), 0);
  assert.match(out.pop()!, /would erase 0 patients and would remove 0 Observation/);
  // Six years from now: observations go, identities stay; 21 years from now: everyone goes.
  const nObs = (await allOf('Observation')).length;
  const in6 = new Date(Date.now() + 6 * 366 * 86400_000);
  const dry = await purgeTenant(env.services, T, { dryRun: true, now: in6 });
  assert.deepEqual(dry, { patientsErased: 0, rowsPurged: { Observation: nObs }, dryRun: true });
  assert.equal((await allOf('Observation')).length, nObs);
  const real = await purgeTenant(env.services, T, { now: in6 });
  assert.equal(real.rowsPurged.Observation, nObs);
  assert.equal((await allOf('Observation')).length, 0);
  const nPat = (await allOf('Patient')).length;
  const later = await purgeTenant(env.services, T, { now: new Date(Date.now() + 21 * 366 * 86400_000) });
  assert.equal(later.patientsErased, nPat);
  assert.equal((await allOf('Patient')).length, 0);
  const ev = await db().selectFrom('audit_events').select(['action', 'detail']).where('tenant_id', '=', T).where('action', '=', 'retention-purge').execute();
  assert.ok(ev.length >= 3);
});
