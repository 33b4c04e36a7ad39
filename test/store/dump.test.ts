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
import { systemContext } from '../../src/audit/context.ts';
import { parseSearch } from '../../src/fhir/search-query.ts';

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
