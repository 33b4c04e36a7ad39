// Proof that a stolen copy reveals nothing: seed patients, take the whole database as a thief
// would (PGlite data directory, or pg_dump), and look for every identifying or clinical value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { testEnv, DB_LABEL, PG_URL } from '../helpers.ts';
import { createTenant } from '../../src/store/tenants.ts';
import { seedTenant } from '../../src/seed/seed.ts';
import { systemContext } from '../../src/core/context.ts';
import { parseSearch } from '../../src/fhir/search-query.ts';
import { jobOptions, runKeyJob, startRotation } from '../../src/ops/rotation.ts';
import { erasePatient } from '../../src/ops/erasure.ts';
import { openEnvelope } from '../../src/vault/envelope.ts';
import { unwrapPatientKey, wrapContext, TenantKeys } from '../../src/vault/keyring.ts';
import { bodyPatientKeyNo, resourceAad } from '../../src/vault/resource-cipher.ts';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    const st = statSync(p);
    return st.isDirectory() ? walk(p) : st.isFile() ? [p] : [];
  });
}

/** Strings a thief would look for, for every seeded resource. */
function secretsOf(resources: any[]): string[] {
  const out = new Set<string>();
  for (const r of resources) {
    if (r.resourceType === 'Patient') {
      for (const n of r.name ?? []) { out.add(n.family); for (const g of n.given ?? []) out.add(g); }
      for (const i of r.identifier ?? []) out.add(i.value);
      for (const t of r.telecom ?? []) { out.add(t.value); out.add(String(t.value).replace(/\s/g, '')); }
      for (const a of r.address ?? []) for (const l of a.line ?? []) out.add(l);
      out.add(r.birthDate);
    }
    if (r.resourceType === 'Observation' && r.valueQuantity) out.add(`"value":${r.valueQuantity.value}`);
    if (r.resourceType === 'Observation') out.add(r.code?.coding?.[0]?.display);
  }
  // Short values (2-letter given names, 3-digit codes) would match random bytes: keep distinctive ones.
  return [...out].filter((s) => typeof s === 'string' && s.length >= 6);
}

test(`[${DB_LABEL}] a dump of the database contains no name, NIR, e-mail, phone, address, birth date or result`, async () => {
  const env = await testEnv({ onDisk: true });
  const { services } = env;
  await createTenant(services.database.db, services.keyring, 'dump', 'Dump test');
  await seedTenant(services, 'dump', { patients: 40, seed: 7, ordersPerPatient: 1 }, { line: () => {}, progress: () => {} });
  const ctx = systemContext('dump', 'test');
  const all: any[] = [];
  for (const type of ['Patient', 'Observation']) {
    const r = await services.repo.search(ctx, parseSearch(type, [['_count', '1000']], { maxCount: 1000 }));
    all.push(...r.matches);
  }
  assert.ok(all.filter((r) => r.resourceType === 'Patient').length === 40);
  const secrets = secretsOf(all);
  assert.ok(secrets.length > 150, `only ${secrets.length} secrets to look for`);

  let haystack: Buffer;
  if (PG_URL) {
    const schema = env.database.schema!;
    const dump = spawnSync('pg_dump', ['--no-owner', '-n', schema, PG_URL], { maxBuffer: 512 * 1024 * 1024 });
    if (dump.error) { await env.close(); console.log('# pg_dump not available: dump test skipped'); return; }
    assert.equal(dump.status, 0, String(dump.stderr));
    haystack = dump.stdout;
    await env.close();
  } else {
    await services.close(); // flush PGlite to disk, as a copied data directory would be
    haystack = Buffer.concat(walk(env.dataDir).map((f) => readFileSync(f)));
  }
  assert.ok(haystack.length > 10_000);
  const text = haystack.toString('latin1');
  const utf8 = haystack.toString('utf8');
  const found = secrets.filter((s) => text.includes(s) || utf8.includes(s));
  assert.deepEqual(found, [], `plaintext found in the dump: ${found.length} values`);
});

/** Whole-database copy as a thief would take it (pg_dump, or the PGlite files after closing). */
async function takeDump(env: Awaited<ReturnType<typeof testEnv>>): Promise<Buffer | null> {
  if (PG_URL) {
    const dump = spawnSync('pg_dump', ['--no-owner', '-n', env.database.schema!, PG_URL], { maxBuffer: 512 * 1024 * 1024 });
    if (dump.error) return null;
    assert.equal(dump.status, 0, String(dump.stderr));
    return dump.stdout;
  }
  await env.services.close();
  return Buffer.concat(walk(env.dataDir).map((f) => readFileSync(f)));
}

test(`[${DB_LABEL}] after key rotation and erasure: no plaintext in a dump, and no trace of the erased patient opens with any key the system still holds`, async () => {
  const env = await testEnv({ onDisk: true });
  const { services } = env;
  const db = services.database.db;
  const T = 'dump2';
  await createTenant(db, services.keyring, T, 'Dump test after rotation and erasure');
  await seedTenant(services, T, { patients: 20, seed: 8, ordersPerPatient: 1 }, { line: () => {}, progress: () => {} });
  const ctx = systemContext(T, 'test');
  const all: any[] = [];
  for (const type of ['Patient', 'Observation']) all.push(...(await services.repo.search(ctx, parseSearch(type, [['_count', '1000']], { maxCount: 1000 }))).matches);
  const victim = all.find((r) => r.resourceType === 'Patient');
  // Give the victim a history version too.
  await services.repo.update(ctx, 'Patient', victim.id, { ...victim, active: false });
  const victimKey = (await db.selectFrom('patient_keys').select('key_no').where('tenant_id', '=', T).where('patient_id', '=', victim.id).executeTakeFirstOrThrow()).key_no;

  // A backup taken before rotation and erasure: every stored version of every resource.
  const backup = [
    ...await db.selectFrom('resources').select(['resource_type', 'id', 'version', 'body']).where('tenant_id', '=', T).where('body', 'is not', null).execute(),
    ...await db.selectFrom('resource_history').select(['resource_type', 'id', 'version', 'body']).where('tenant_id', '=', T).where('body', 'is not', null).execute(),
  ];
  const victimBlobs = backup.filter((r) => bodyPatientKeyNo(r.body) === victimKey);
  assert.ok(victimBlobs.length >= 5, `${victimBlobs.length} ciphertexts of the victim`);

  const opts = jobOptions(services, { graceMs: 0, rate: 100_000, batch: 50 });
  let t = Date.now();
  const lap = (what: string) => { if (process.env.DUMP_TIMING) console.log(`# ${what}: ${Date.now() - t} ms`); t = Date.now(); };
  await startRotation(services, T, 'enc');
  assert.equal((await runKeyJob(services, T, 'enc', opts)).finished, true);
  lap('enc rotation');
  await startRotation(services, T, 'idx');
  assert.equal((await runKeyJob(services, T, 'idx', opts)).finished, true);
  lap('idx rotation');
  assert.ok(await erasePatient(services, systemContext(T, 'erasure'), victim.id, 'gdpr-art17'));
  lap('erasure');

  // Every key the system still holds: each data-key version (retired too), unwrapped through the
  // provider, and each remaining patient key, unwrapped under the data key that wraps it.
  const dataKeys = await db.selectFrom('data_keys').select(['purpose', 'version', 'wrapped']).where('tenant_id', '=', T).execute();
  const held: Buffer[] = [];
  const enc = new Map<number, Buffer>();
  for (const k of dataKeys) {
    const plain = await services.provider.unwrap(Buffer.from(k.wrapped), wrapContext(T, k.purpose, k.version));
    held.push(plain);
    if (k.purpose === 'enc') enc.set(k.version, plain);
  }
  const encView = new TenantKeys(T, Math.max(...enc.keys()), enc, Buffer.alloc(32), Date.now());
  const pkRows = await db.selectFrom('patient_keys').selectAll().where('tenant_id', '=', T).execute();
  assert.ok(!pkRows.some((r) => r.key_no === victimKey), 'the victim key is gone');
  for (const r of pkRows) held.push(unwrapPatientKey(encView, r.key_no, r.wrapped, r.wrap_version));
  assert.ok(held.length >= 4 + 19);

  const tryOpen = (r: { resource_type: string; id: string; version: number; body: Uint8Array | null }) => {
    const blob = Buffer.from(r.body!);
    for (const d of held) for (const p of held) {
      try { openEnvelope(() => d, resourceAad(T, r.resource_type, r.id, r.version), blob, () => p); return true; } catch { /* expected */ }
    }
    return false;
  };
  // The harness can open a backup blob of someone not erased (old key v1 is still held, retired) …
  const control = backup.find((r) => r.resource_type === 'Patient' && bodyPatientKeyNo(r.body) !== victimKey && bodyPatientKeyNo(r.body) !== null)!;
  assert.equal(tryOpen(control), true, 'positive control');
  // … and none of the victim's, from the backup or from the live tables.
  for (const r of victimBlobs) assert.equal(tryOpen(r), false, `${r.resource_type} v${r.version} of the erased patient opened`);
  const live = [
    ...await db.selectFrom('resources').select(['resource_type', 'id', 'version', 'body']).where('tenant_id', '=', T).where('body', 'is not', null).execute(),
    ...await db.selectFrom('resource_history').select(['resource_type', 'id', 'version', 'body']).where('tenant_id', '=', T).where('body', 'is not', null).execute(),
  ];
  assert.equal(live.filter((r) => bodyPatientKeyNo(r.body) === victimKey).length, 0);

  // The plaintext scan of the foundation's dump test, on the rotated and shredded database.
  // Words of PostgreSQL's own catalog (sql_features lists "Embedded Pascal") are not leaks.
  const secrets = secretsOf(all).filter((x) => !['Pascal'].includes(x));
  lap('key trials');
  const haystack = await takeDump(env);
  lap(`dump (${haystack?.length} bytes)`);
  if (PG_URL) await env.close();
  if (!haystack) { console.log('# pg_dump not available: dump scan skipped'); return; }
  const text = haystack.toString('latin1');
  const utf8 = haystack.toString('utf8');
  const found = secrets.filter((s) => text.includes(s) || utf8.includes(s));
  assert.deepEqual(found, [], `plaintext found in the dump: ${found.length} values`);
});
