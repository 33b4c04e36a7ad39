// The tamper-evident access log: integration, signed checkpoints, and `audit verify` against an
// attacker with database superuser rights (who can disable the append-only trigger).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { testEnv, tenantWithToken, testApp, type TestEnv, DB_LABEL } from '../../helpers.ts';
import { systemContext } from '../../../src/core/context.ts';
import { AuditLog } from '../../../src/audit/log/log.ts';
import { Integrator } from '../../../src/audit/log/integrator.ts';
import { verifyTenantLog, type Problem } from '../../../src/audit/log/verify.ts';
import { ENTRY_JSON, EVENT_COLUMNS, encodeEntry, entryLeafHash, entryTextSql, jsonEntryLeafHash, parseEntryJson, type EventRow } from '../../../src/audit/record/entry.ts';
import { inclusionProof } from '../../../src/audit/merkle/merkle.ts';
import { verifyInclusion } from '../../../src/audit/merkle/merkle-verify.ts';
import { openCheckpoint, parseVerifierKey, signNote, generateSigningKey } from '../../../src/audit/log/note.ts';
import { runCommand } from '../../../src/cli/commands.ts';

let env: TestEnv;
before(async () => { env = await testEnv(); });
after(async () => { await env.close(); });

const L = `[${DB_LABEL}]`;
const db = () => env.services.database.db;
const event = (i: number) => ({ action: 'read', outcome: 'success' as const, resourceRefs: [`Patient/p${i}`], patientIds: [`p${i}`] });

/** A tenant with 20 integrated events and checkpoints at sizes 10 and 20. */
async function logOf20(tenant: string): Promise<void> {
  await tenantWithToken(env.services, tenant);
  const ctx = systemContext(tenant, 'TREAT');
  for (const half of [0, 10]) {
    await env.services.audit.appendInTransaction(db(), ctx, Array.from({ length: 10 }, (_, i) => event(half + i)));
    assert.equal((await env.services.log.integrate(tenant)).size, half + 10);
    assert.ok(await env.services.log.checkpoint(tenant));
  }
}

const verify = async (tenant: string): Promise<Problem | null> => (await verifyTenantLog(db(), env.services.log, tenant, { pageSize: 7 })).problem;

/** Runs SQL as an attacker would: with the append-only triggers disabled. */
async function asAttacker(run: () => Promise<unknown>): Promise<void> {
  await sql`alter table audit_events disable trigger user`.execute(db());
  try { await run(); } finally { await sql`alter table audit_events enable trigger user`.execute(db()); }
}

test(`${L} an untampered log verifies, with the CLI printing a one-line summary`, async () => {
  await logOf20('ok');
  const r = await verifyTenantLog(db(), env.services.log, 'ok', { pageSize: 7 });
  assert.deepEqual({ problem: r.problem, size: r.size, checkpoints: r.checkpoints }, { problem: null, size: 20, checkpoints: 2 });
  const lines: string[] = [];
  const io = { line: (t: string) => lines.push(t), progress: () => {} };
  assert.equal(await runCommand(env.services, ['audit', 'verify', '--tenant', 'ok'], io), 0);
  assert.match(lines.at(-1)!, /^access log verified: 1 tenant\(s\), 20 events, 2 checkpoints/);
  assert.equal(await runCommand(env.services, ['audit', 'public-key', '--tenant', 'ok'], io), 0);
  assert.equal(parseVerifierKey(lines.at(-1)!).name, 'cerbere/ok');
});

test(`${L} verify's one-JSON-text rows hash to the same leaves as the column rows (escapes, NULLs, non-ASCII)`, async () => {
  const rows = (await sql<EventRow & { entry: string; text: string }>`select ${EVENT_COLUMNS}, ${ENTRY_JSON}, ${entryTextSql('té')} as text from (values
    (12345678901::bigint, 7::bigint, '2026-01-02 03:04:05.678901+01'::timestamptz, 'token', 'a"b\\c', 'service', null, 'clé\n\t', '::1',
      'TREAT', 'read', 'success', array['Patient/x', null, 'Obé/😀']::text[], '{}'::text[], e'{"k":"\\u0001\x01"}'),
    (1, 0, now(), 'user', 'u', 'role', 'site', null, null, 'EMER', 'search', 'failure', '{}', '{p1,p2}', null))
    as e(seq, leaf_index, recorded_at, actor_kind, actor_id, role, site_id, client_id, ip, purpose, action, outcome, resource_refs, patient_ids, detail)`.execute(db())).rows;
  assert.equal(rows.length, 2);
  for (const [k, row] of rows.entries()) {
    const a = parseEntryJson(row.entry);
    assert.equal(a[2], [7, 0][k]);
    assert.ok(jsonEntryLeafHash('té', 41, a).equals(entryLeafHash('té', 41, row)), `row ${k}`);
    // verify's fast path: PostgreSQL's text is byte for byte the canonical entry (at the row's own index).
    assert.equal(row.text, encodeEntry('té', [7, 0][k], row).toString('utf8'), `row ${k} (fast path)`);
  }
});

test(`${L} the trigger refuses UPDATE and DELETE of integrated events`, async () => {
  await logOf20('trg');
  await assert.rejects(sql`update audit_events set actor_id = 'x' where tenant_id = 'trg'`.execute(db()));
  await assert.rejects(sql`update audit_events set leaf_index = leaf_index + 100 where tenant_id = 'trg'`.execute(db()));
  await assert.rejects(sql`delete from audit_events where tenant_id = 'trg'`.execute(db()));
  await assert.rejects(sql`truncate audit_events`.execute(db()));
});

test(`${L} verify names an altered event`, async () => {
  await logOf20('alt');
  await asAttacker(() => sql`update audit_events set actor_id = 'someone-else' where tenant_id = 'alt' and leaf_index = 7`.execute(db()));
  const p = await verify('alt');
  assert.equal(p?.kind, 'altered');
  assert.equal(p?.leafIndex, 7);
  const lines: string[] = [];
  assert.notEqual(await runCommand(env.services, ['audit', 'verify', '--tenant', 'alt'], { line: (t) => lines.push(t), progress: () => {} }), 0);
  assert.match(lines.join('\n'), /FAILED verification: leaf 7:/);
});

test(`${L} an event altered between its append and its integration is caught: it is integrated as appended`, async () => {
  await tenantWithToken(env.services, 'window');
  const ctx = systemContext('window', 'TREAT');
  await Promise.all(Array.from({ length: 5 }, (_, i) => env.services.audit.record(ctx, event(i))));
  // The recorder kept what it appended (LeafCache): the integrator does not read these events back.
  const held = () => [0, 1, 2, 3, 4].filter((i) => env.services.log.leafCache?.get('window', i)).length;
  assert.equal(held(), 5);
  await asAttacker(() => sql`update audit_events set patient_ids = '{someone-else}' where tenant_id = 'window' and leaf_index = 3`.execute(db()));
  assert.equal((await env.services.log.integrate('window')).size, 5);
  assert.equal(held(), 0);
  await env.services.log.checkpoint('window');
  const p = await verify('window');
  assert.equal(p?.kind, 'altered');
  assert.equal(p?.leafIndex, 3);
});

test(`${L} events another server integrated leave this server's cache on its next round`, async () => {
  await tenantWithToken(env.services, 'other');
  const ctx = systemContext('other', 'TREAT');
  await Promise.all(Array.from({ length: 4 }, (_, i) => env.services.audit.record(ctx, event(i))));
  assert.ok(env.services.log.leafCache?.get('other', 0));
  // Another server (no cache of these events) reads them back and integrates them.
  assert.equal((await new Integrator(db(), 10_000, () => {}).integrate('other')).size, 4);
  await env.services.log.integrateAll();
  assert.equal([0, 1, 2, 3].filter((i) => env.services.log.leafCache?.get('other', i)).length, 0);
  await env.services.log.checkpoint('other');
  assert.equal(await verify('other'), null);
});

test(`${L} a failed append empties the cache (the database may have lost commits); a lone surrogate is never cached`, async () => {
  await tenantWithToken(env.services, 'lost');
  const ctx = systemContext('lost', 'TREAT');
  await Promise.all([0, 1].map((i) => env.services.audit.record(ctx, event(i))));
  assert.ok(env.services.log.leafCache?.get('lost', 1));
  await sql`alter table audit_events add constraint refuse_all check (false) not valid`.execute(db());
  try {
    await assert.rejects(env.services.audit.record(ctx, event(2)), /access log cannot be written/);
  } finally {
    await sql`alter table audit_events drop constraint refuse_all`.execute(db());
  }
  assert.equal(env.services.log.leafCache?.get('lost', 1), undefined);
  // Stored as U+FFFD: hashing the string in memory would not match the row, so it is read back.
  await env.services.audit.record(ctx, { action: 'read', outcome: 'success', resourceRefs: ['Patient/a\uD800b'], patientIds: ['p9'] });
  assert.equal(env.services.log.leafCache?.get('lost', 2), undefined);
  assert.equal((await env.services.log.integrate('lost')).size, 3);
  await env.services.log.checkpoint('lost');
  assert.equal(await verify('lost'), null);
});

test(`${L} verify detects an event altered and re-hashed, by the signed root`, async () => {
  await logOf20('rehash');
  await asAttacker(async () => {
    await sql`update audit_events set patient_ids = '{}' where tenant_id = 'rehash' and leaf_index = 13`.execute(db());
    const row = (await sql<EventRow>`select ${EVENT_COLUMNS} from audit_events where tenant_id = 'rehash' and leaf_index = 13`.execute(db())).rows[0];
    // The attacker also rewrites the stored leaf hash (level-0 tile), so only the signed root can tell.
    await sql`update audit_tiles set hashes = overlay(hashes placing ${entryLeafHash('rehash', 13, row)} from ${13 * 32 + 1} for 32)
      where tenant_id = 'rehash' and level = 0 and tile_index = 0`.execute(db());
  });
  const p = await verify('rehash');
  assert.equal(p?.kind, 'altered');
  assert.equal(p?.size, 20);
  assert.match(p!.message, /leaves 10\.\.19/);
});

test(`${L} verify names a deleted event, in the middle and at the end`, async () => {
  await logOf20('del');
  await asAttacker(() => sql`delete from audit_events where tenant_id = 'del' and leaf_index = 5`.execute(db()));
  assert.deepEqual([(await verify('del'))?.kind, (await verify('del'))?.leafIndex], ['deleted', 5]);
  await logOf20('del2');
  await asAttacker(() => sql`delete from audit_events where tenant_id = 'del2' and leaf_index = 19`.execute(db()));
  assert.deepEqual([(await verify('del2'))?.kind, (await verify('del2'))?.leafIndex], ['deleted', 19]);
});

test(`${L} verify names a forged event inserted with a leaf index`, async () => {
  await logOf20('ins');
  await sql`insert into audit_events (tenant_id, actor_kind, actor_id, role, purpose, action, outcome, leaf_index)
    values ('ins', 'token', 'forged', 'service', 'TREAT', 'read', 'success', 20)`.execute(db());
  const p = await verify('ins');
  assert.deepEqual([p?.kind, p?.leafIndex], ['inserted', 20]);
});

test(`${L} verify names two events whose leaf indices were swapped`, async () => {
  await logOf20('swap');
  await asAttacker(async () => {
    await sql`update audit_events set leaf_index = -1 where tenant_id = 'swap' and leaf_index = 3`.execute(db());
    await sql`update audit_events set leaf_index = 3 where tenant_id = 'swap' and leaf_index = 12`.execute(db());
    await sql`update audit_events set leaf_index = 12 where tenant_id = 'swap' and leaf_index = -1`.execute(db());
  });
  const p = await verify('swap');
  assert.deepEqual([p?.kind, p?.leafIndex], ['reordered', 3]);
  assert.match(p!.message, /leaf 3: holds the event hashed for leaf 12/);
});

test(`${L} verify detects a rewritten, a forged or a deleted checkpoint`, async () => {
  await logOf20('cp1');
  await sql`update audit_checkpoints set root = ${Buffer.alloc(32, 1)} where tenant_id = 'cp1' and size = 10`.execute(db());
  assert.deepEqual([(await verify('cp1'))?.kind, (await verify('cp1'))?.size], ['checkpoint', 10]);

  await logOf20('cp2');
  // A note signed with another key under the same name, written both in the database and outside.
  const forged = signNote('cerbere/cp2\n10\n' + Buffer.alloc(32, 2).toString('base64') + '\n', 'cerbere/cp2', generateSigningKey().privateKey);
  await sql`update audit_checkpoints set note = ${forged}, root = ${Buffer.alloc(32, 2)} where tenant_id = 'cp2' and size = 10`.execute(db());
  assert.match((await verify('cp2'))!.message, /checkpoint 10: differs from its copy/);
  writeFileSync(join(env.services.config.checkpointDir, 'cp2', '10'), forged);
  assert.match((await verify('cp2'))!.message, /checkpoint 10: the signature does not verify/);

  await logOf20('cp3');
  await sql`delete from audit_checkpoints where tenant_id = 'cp3' and size = 20`.execute(db());
  assert.match((await verify('cp3'))!.message, /checkpoint 20: its copy outside the database is missing from the database/);

  await logOf20('cp4');
  rmSync(join(env.services.config.checkpointDir, 'cp4', '10'));
  assert.match((await verify('cp4'))!.message, /checkpoint 10: has no copy in the checkpoint directory/);
});

test(`${L} a read's event is in the tree, with an inclusion proof against a signed checkpoint`, async () => {
  const token = await tenantWithToken(env.services, 'rd');
  const app = await testApp(env);
  try {
    const headers = { authorization: `Bearer ${token}` };
    const p = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: { resourceType: 'Patient', gender: 'female' } })).body);
    assert.equal((await app.inject({ url: `/fhir/Patient/${p.id}`, headers })).statusCode, 200);
  } finally { await app.close(); }
  await env.services.log.integrate('rd');
  const cp = await env.services.log.checkpoint('rd');
  assert.ok(cp);
  const row = (await sql<EventRow & { leaf_index: string }>`select ${EVENT_COLUMNS}, leaf_index::text as leaf_index from audit_events
    where tenant_id = 'rd' and action = 'read' and ${p_ids()}`.execute(db())).rows[0];
  assert.ok(row, 'the read was logged');
  const leaves = await env.services.log.leafHashes('rd', 0, cp.size);
  const index = Number(row.leaf_index);
  const verifier = parseVerifierKey((await env.services.log.signers.get('rd')).verifierKey);
  const signed = openCheckpoint(env.services.log.dir.read('rd', 'latest')!, verifier, 'cerbere/rd');
  assert.equal(signed.size, cp.size);
  const leaf = entryLeafHash('rd', index, row);
  assert.ok(verifyInclusion(leaf, index, signed.size, inclusionProof(index, signed.size, leaves), signed.rootHash));
  function p_ids() { return sql`cardinality(patient_ids) = 1`; }
});

test(`${L} checkpoints are pushed to the witness; a failed push is retried`, async () => {
  const received: string[] = [];
  let fail = true;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { if (fail) { res.statusCode = 503; res.end(); } else { received.push(body); res.end('ok'); } });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const messages: string[] = [];
  const log = new AuditLog(db(), env.services.provider, { checkpointDir: env.services.config.checkpointDir, witnessUrl: `http://127.0.0.1:${port}/add`, log: (m) => messages.push(m) });
  try {
    await tenantWithToken(env.services, 'wit');
    await env.services.audit.appendInTransaction(db(), systemContext('wit'), [event(1)]);
    await log.tick();
    assert.match(messages.join('\n'), /witness push failed/);
    fail = false;
    await log.tick();
    // Other tenants of this database may be due too: look at this one's notes only.
    const mine = received.filter((n) => n.startsWith('cerbere/wit\n'));
    assert.equal(mine.length, 1);
    assert.match(mine[0], /^cerbere\/wit\n1\n/);
  } finally { await log.stop(); server.close(); }
});

test(`${L} concurrent reads and writes of one tenant get dense positions in commit order`, async () => {
  await tenantWithToken(env.services, 'conc');
  const ctx = systemContext('conc', 'TREAT');
  const reads = Array.from({ length: 300 }, (_, i) => env.services.audit.record(ctx, event(i)));
  const writes = Array.from({ length: 20 }, (_, i) => db().transaction().execute(async (tx) => {
    await env.services.audit.appendInTransaction(tx, ctx, [event(1000 + i), event(2000 + i)]);
  }));
  // A rolled-back write leaves no hole: its position is handed out again.
  const rolledBack = db().transaction().execute(async (tx) => {
    await env.services.audit.appendInTransaction(tx, ctx, [event(9999)]);
    throw new Error('rollback');
  }).catch(() => 'rolled back');
  await Promise.all([...reads, ...writes, rolledBack]);
  assert.equal((await env.services.log.integrate('conc')).size, 340);
  await env.services.log.checkpoint('conc');
  assert.equal((await verifyTenantLog(db(), env.services.log, 'conc')).problem, null);
});

test(`${L} one append batch across tenants keeps values exact and positions gap-free per tenant`, async () => {
  const odd = ['Patient/a"b', 'x\\y', 'NULL', 'a,b{c}', ' sp ', 'Obé/😀', ''];
  await tenantWithToken(env.services, 'mix-a');
  await tenantWithToken(env.services, 'mix-b');
  const a = systemContext('mix-a', 'TREAT');
  const b = systemContext('mix-b', 'TREAT');
  // Interleaved tenants in one group-commit batch, then a second batch on top.
  await Promise.all([
    env.services.audit.record(a, { action: 'read', outcome: 'success', resourceRefs: odd, patientIds: ['p1', 'p1', 'p2'] }),
    env.services.audit.record(b, { action: 'read', outcome: 'success', resourceRefs: [], patientIds: [] }),
    env.services.audit.record(a, { action: 'search', outcome: 'success', resourceRefs: ['Patient/p3'], patientIds: ['p3'] }),
  ]);
  await env.services.audit.appendInTransaction(db(), b, [event(1), event(2)]);
  const rows = (await sql<{ tenant_id: string; leaf_index: string; action: string; resource_refs: string[]; patient_ids: string[] }>`select tenant_id,
    leaf_index::text as leaf_index, action, resource_refs, patient_ids from audit_events where tenant_id in ('mix-a', 'mix-b') order by tenant_id, leaf_index`.execute(db())).rows;
  assert.deepEqual(rows.map((r) => `${r.tenant_id}@${r.leaf_index}`), ['mix-a@0', 'mix-a@1', 'mix-b@0', 'mix-b@1', 'mix-b@2']);
  const first = rows.find((r) => r.tenant_id === 'mix-a' && r.action === 'read')!;
  assert.deepEqual(first.resource_refs, odd);
  assert.deepEqual(first.patient_ids, ['p1', 'p2']);
  assert.deepEqual(rows.find((r) => r.tenant_id === 'mix-b' && r.leaf_index === '0')!.patient_ids, []);
  for (const t of ['mix-a', 'mix-b']) assert.equal((await env.services.log.integrate(t)).size, t === 'mix-a' ? 2 : 3);
  assert.equal(await verify('mix-a'), null);
});

test(`${L} a batch interleaving three tenants is hashed from memory exactly as stored (odd values, nulls, duplicates)`, async () => {
  const tenants = ['il-a', 'il-b', 'il-c'];
  for (const t of tenants) await tenantWithToken(env.services, t);
  const odd = ['Patient/a"b', 'x\\y', 'NULL', 'a,b{c}', ' sp ', 'Obé/😀', ''];
  const refs = [...odd];
  const order = ['il-a', 'il-b', 'il-a', 'il-c', 'il-a', 'il-b'];
  await Promise.all(order.map((t, i) => env.services.audit.record(
    { ...systemContext(t, 'TREAT'), client: i % 2 ? { tokenId: `tok-${i}`, ip: '::1' } : undefined },
    { action: 'read', outcome: 'success', resourceRefs: i === 0 ? refs : [`Patient/p${i}`], patientIds: ['p1', 'p1', `p${i}`], detail: i === 4 ? 'x"\n\u0001é' : undefined },
  )));
  refs.length = 0; // the caller changing its array afterwards changes nothing
  assert.deepEqual(tenants.map((t) => [0, 1, 2].filter((i) => env.services.log.leafCache?.get(t, i)).length), [3, 2, 1]);
  for (const t of tenants) {
    await env.services.log.integrate(t);
    await env.services.log.checkpoint(t);
    assert.equal(await verify(t), null, t);
  }
});
