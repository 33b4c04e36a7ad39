// Retention of the access log: pruning keeps the log verifiable, proofs and tiles of what remains
// served, tampering with what remains detected, and the trigger's exception too narrow to delete an
// event in the middle.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { testEnv, tenantWithToken, testApp, type TestEnv, DB_LABEL } from '../helpers.ts';
import { systemContext } from '../../src/core/context.ts';
import { verifyTenantLog, type Problem } from '../../src/audit/log/verify.ts';
import { pruneAccessLog, PruneError } from '../../src/ops/prune.ts';
import { runCommand } from '../../src/cli/commands.ts';
import { createApiToken } from '../../src/auth/api-tokens.ts';
import { loadConfig } from '../../src/core/config.ts';
import { formatCheckpoint, generateSigningKey, openCheckpoint, signNote } from '../../src/audit/log/note.ts';
import { leafHash } from '../../src/audit/merkle/merkle.ts';
import { verifyInclusion } from '../../src/audit/merkle/merkle-verify.ts';
import { entryBundlePath, tilePath } from '../../src/audit/log/tiles.ts';

let env: TestEnv;
let app: FastifyInstance;
const L = `[${DB_LABEL}]`;
const db = () => env.services.database.db;
const io = () => { const lines: string[] = []; return { lines, io: { line: (t: string) => lines.push(t), progress: () => {} } }; };

before(async () => { env = await testEnv(); app = await testApp(env); });
after(async () => { await app.close(); await env.close(); });

/** `old` events recorded 400 days ago, then `recent` ones now; integrated and checkpointed. */
async function logWithOldEvents(tenant: string, old: number, recent: number): Promise<void> {
  await tenantWithToken(env.services, tenant);
  const ids = Array.from({ length: old }, (_, i) => `old${i}`);
  // Old events written directly (back-dated), at the positions the recorder would have allocated.
  await sql`insert into audit_events (tenant_id, leaf_index, recorded_at, actor_kind, actor_id, role, purpose, action, outcome, resource_refs, patient_ids)
    select ${tenant}, i - 1, now() - interval '400 days' + (i * interval '1 second'), 'token', 'tok-old', 'service', 'TREAT', 'read', 'success', array['Patient/' || p], array[p]
    from unnest(${ids}::text[]) with ordinality as u(p, i)`.execute(db());
  await sql`insert into audit_log_head (tenant_id, next) values (${tenant}, ${old})`.execute(db());
  await env.services.log.integrate(tenant);
  await env.services.log.checkpoint(tenant);
  await env.services.audit.appendInTransaction(db(), systemContext(tenant, 'TREAT'),
    Array.from({ length: recent }, (_, i) => ({ action: 'read', outcome: 'success' as const, resourceRefs: [`Patient/new${i}`], patientIds: [`new${i}`] })));
  await env.services.log.integrate(tenant);
  await env.services.log.checkpoint(tenant);
}

const verify = async (tenant: string): Promise<Problem | null> => (await verifyTenantLog(db(), env.services.log, tenant, { pageSize: 97 })).problem;

async function asAttacker(run: () => Promise<unknown>): Promise<void> {
  await sql`alter table audit_events disable trigger user`.execute(db());
  try { await run(); } finally { await sql`alter table audit_events enable trigger user`.execute(db()); }
}

test(`${L} cerbere audit prune deletes the events older than the retention period, and the log still verifies`, async () => {
  await logWithOldEvents('pr', 300, 300);
  const auditor = (await createApiToken(db(), 'pr', 'auditor', 'auditor')).token;
  const get = (url: string) => app.inject({ url, headers: { authorization: `Bearer ${auditor}` } });
  const tileBefore = (await get(`/log/pr/${tilePath(0, 1)}`)).rawPayload;
  const level1Before = (await get(`/log/pr/${tilePath(1, 0, 2)}`)).rawPayload;

  const o = io();
  assert.equal(await runCommand(env.services, ['audit', 'prune', '--tenant', 'pr'], o.io), 0, o.lines.join('\n'));
  assert.match(o.lines.at(-1)!, /^pruned 300 access events of tenant pr recorded before .*: leaves 0\.\.299, covered by signed checkpoint 600/);
  const left = await db().selectFrom('audit_events').select(sql<string>`count(*)::text`.as('n')).where('tenant_id', '=', 'pr').where(sql<boolean>`leaf_index < 300`).executeTakeFirstOrThrow();
  assert.equal(left.n, '0');
  const ev = await db().selectFrom('audit_events').select('detail').where('tenant_id', '=', 'pr').where('action', '=', 'audit-prune').executeTakeFirstOrThrow();
  assert.match(ev.detail!, /^boundary=300;previous=0;checkpoint=\d+;before=.*;deleted=300$/);

  assert.equal(await verify('pr'), null);
  const v = io();
  assert.equal(await runCommand(env.services, ['audit', 'verify', '--tenant', 'pr'], v.io), 0, v.lines.join('\n'));

  // Nothing more to prune with the same date; the prune checkpoint is signed and names the boundary.
  const again = io();
  assert.equal(await runCommand(env.services, ['audit', 'prune', '--tenant', 'pr'], again.io), 0);
  assert.match(again.lines.at(-1)!, /^nothing to prune/);
  const row = await db().selectFrom('audit_prunes').select(['note']).where('tenant_id', '=', 'pr').executeTakeFirstOrThrow();
  const cp = openCheckpoint(row.note, (await env.services.log.signers.get('pr')).verifier, 'cerbere/pr');
  assert.deepEqual(cp.extensions, ['prune 300']);

  // Over HTTP: retained leaves have proofs; the straddling tile and level-1 tile are unchanged; pruned parts are 404.
  const latest = openCheckpoint((await get('/log/pr/checkpoint')).body, (await env.services.log.signers.get('pr')).verifier);
  const proof = JSON.parse((await get('/log/pr/proof/inclusion?index=300')).body);
  assert.equal((await get(`/log/pr/${entryBundlePath(1, 46)}`)).statusCode, 404); // 256..301 straddles the boundary
  assert.equal((await get(`/log/pr/${entryBundlePath(2, latest.size - 512)}`)).statusCode, 200); // 512.., kept
  const entries = await env.services.log.entries('pr', 300, 301);
  assert.ok(verifyInclusion(leafHash(entries[0]), 300, latest.size, proof.proof.map((b: string) => Buffer.from(b, 'base64')), latest.rootHash));
  assert.equal((await get('/log/pr/proof/inclusion?index=299')).statusCode, 404);
  assert.deepEqual((await get(`/log/pr/${tilePath(0, 1)}`)).rawPayload, tileBefore);
  assert.deepEqual((await get(`/log/pr/${tilePath(1, 0, 2)}`)).rawPayload, level1Before);
  assert.equal((await get(`/log/pr/${tilePath(0, 0)}`)).statusCode, 404);
  assert.equal((await get(`/log/pr/${entryBundlePath(0)}`)).statusCode, 404);
});

test(`${L} after pruning, tampering with what remains is still detected`, async () => {
  const setup = async (t: string) => { await logWithOldEvents(t, 40, 30); await pruneAccessLog(env.services, t, new Date(Date.now() - 365 * 86_400_000)); assert.equal(await verify(t), null); };

  await setup('pa');
  await asAttacker(() => sql`update audit_events set actor_id = 'x' where tenant_id = 'pa' and leaf_index = 50`.execute(db()));
  assert.deepEqual([(await verify('pa'))?.kind, (await verify('pa'))?.leafIndex], ['altered', 50]);

  await setup('pd');
  await asAttacker(() => sql`delete from audit_events where tenant_id = 'pd' and leaf_index = 45`.execute(db()));
  assert.deepEqual([(await verify('pd'))?.kind, (await verify('pd'))?.leafIndex], ['deleted', 45]);

  // Deleting more than was pruned, and forging a prune record for it without the log key.
  await setup('pf');
  await asAttacker(async () => {
    await sql`delete from audit_events where tenant_id = 'pf' and leaf_index < 60`.execute(db());
    const size = (await sql<{ s: string }>`select max(size)::text as s from audit_checkpoints where tenant_id = 'pf'`.execute(db())).rows[0].s;
    const note = signNote(formatCheckpoint({ origin: 'cerbere/pf', size: Number(size), rootHash: Buffer.alloc(32), extensions: ['prune 60'] }), 'cerbere/pf', generateSigningKey().privateKey);
    await sql`insert into audit_prunes (tenant_id, boundary, checkpoint_size, before, note) values ('pf', 60, ${size}::bigint, now(), ${note})`.execute(db());
  });
  const forged = await verify('pf');
  assert.equal(forged?.kind, 'prune');
  assert.match(forged!.message, /not signed by the log key/);

  // Altered hashes of the pruned prefix.
  await setup('ph');
  await sql`alter table audit_pruned_hashes disable trigger user`.execute(db());
  try {
    await sql`update audit_pruned_hashes set hash = ${Buffer.alloc(32, 7)} where tenant_id = 'ph' and height = 0 and idx = 39`.execute(db());
  } finally { await sql`alter table audit_pruned_hashes enable trigger user`.execute(db()); }
  const p = await verify('ph');
  assert.equal(p?.kind, 'altered');
  assert.match(p!.message, /stored hashes of the pruned prefix/);

  // An event forged below the boundary.
  await setup('pi');
  await sql`insert into audit_events (tenant_id, actor_kind, actor_id, role, purpose, action, outcome, leaf_index)
    values ('pi', 'token', 'forged', 'service', 'TREAT', 'read', 'success', 3)`.execute(db());
  assert.deepEqual([(await verify('pi'))?.kind, (await verify('pi'))?.leafIndex], ['inserted', 3]);
});

test(`${L} the delete exception is narrow: no middle event, no prefix without a prune record in the same transaction`, async () => {
  await logWithOldEvents('px', 20, 20);
  const del = (where: string) => sql.raw(`delete from audit_events where tenant_id = 'px' and ${where}`).execute(db());
  await assert.rejects(del('leaf_index = 0'));
  // The setting alone is not enough.
  await assert.rejects(db().transaction().execute(async (tx) => {
    await sql`select set_config('cerbere.audit_prune', 'px', true)`.execute(tx);
    await sql`delete from audit_events where tenant_id = 'px' and leaf_index = 0`.execute(tx);
  }));
  // A prune record of boundary 10 permits leaves below 10 only, in its own transaction only.
  const size = (await sql<{ s: string }>`select min(size)::text as s from audit_checkpoints where tenant_id = 'px'`.execute(db())).rows[0].s;
  await assert.rejects(db().transaction().execute(async (tx) => {
    await sql`select set_config('cerbere.audit_prune', 'px', true)`.execute(tx);
    await sql`insert into audit_prunes (tenant_id, boundary, checkpoint_size, before, note) values ('px', 10, ${size}::bigint, now(), 'n')`.execute(tx);
    await sql`delete from audit_events where tenant_id = 'px' and leaf_index = 15`.execute(tx);
  }));
  // Other tenants' events are not covered by a tenant's prune.
  await logWithOldEvents('py', 5, 5);
  await assert.rejects(db().transaction().execute(async (tx) => {
    await sql`select set_config('cerbere.audit_prune', 'px', true)`.execute(tx);
    await sql`insert into audit_prunes (tenant_id, boundary, checkpoint_size, before, note) values ('px', 10, ${size}::bigint, now(), 'n')`.execute(tx);
    await sql`delete from audit_events where tenant_id = 'py' and leaf_index = 1`.execute(tx);
  }));
  // A prune beyond every signed checkpoint, or backwards, is refused; prune records are append-only.
  await assert.rejects(sql`insert into audit_prunes (tenant_id, boundary, checkpoint_size, before, note) values ('px', 1000, 1000, now(), 'n')`.execute(db()));
  await pruneAccessLog(env.services, 'px', new Date(Date.now() - 365 * 86_400_000));
  await assert.rejects(sql`insert into audit_prunes (tenant_id, boundary, checkpoint_size, before, note) values ('px', 5, ${size}::bigint, now(), 'n')`.execute(db()));
  await assert.rejects(sql`delete from audit_prunes where tenant_id = 'px'`.execute(db()));
  await assert.rejects(sql`update audit_prunes set boundary = 1 where tenant_id = 'px'`.execute(db()));
  await assert.rejects(sql`delete from audit_pruned_hashes where tenant_id = 'px'`.execute(db()));
  await assert.rejects(del('leaf_index = 25'));
  assert.equal(await verify('px'), null);
});

test(`${L} a second prune moves the boundary forward; a tampered log is never pruned`, async () => {
  await logWithOldEvents('p2', 30, 10);
  const r1 = await pruneAccessLog(env.services, 'p2', new Date(Date.now() - 400 * 86_400_000 + 10_000)); // the first ~10 old events
  assert.ok(r1.boundary > 0 && r1.boundary < 30, String(r1.boundary));
  const r2 = await pruneAccessLog(env.services, 'p2', new Date(Date.now() - 365 * 86_400_000));
  assert.deepEqual([r2.previous, r2.boundary, r2.deleted], [r1.boundary, 30, 30 - r1.boundary]);
  assert.equal(await verify('p2'), null);

  await logWithOldEvents('pt', 10, 10);
  await asAttacker(() => sql`update audit_events set actor_id = 'x' where tenant_id = 'pt' and leaf_index = 2`.execute(db()));
  await assert.rejects(pruneAccessLog(env.services, 'pt', new Date()), (e) => e instanceof PruneError && /does not verify, nothing pruned/.test(e.message));
  const o = io();
  assert.notEqual(await runCommand(env.services, ['audit', 'prune', '--tenant', 'pt', '--before', '2999-01-01'], o.io), 0);
  assert.notEqual(await runCommand(env.services, ['audit', 'prune', '--tenant', 'pt', '--before', 'yesterday'], o.io), 0);
  assert.match(o.lines.at(-1)!, /--before must be an ISO date/);
});

test('CERBERE_AUDIT_RETENTION_DAYS sets the default period (365 days)', () => {
  assert.equal(loadConfig({}).auditRetentionDays, 365);
  assert.equal(loadConfig({ CERBERE_AUDIT_RETENTION_DAYS: '180' }).auditRetentionDays, 180);
  assert.throws(() => loadConfig({ CERBERE_AUDIT_RETENTION_DAYS: '0' }));
});
