// Exports: encrypted to the recipient, exactly the requested (and approved) patients, every patient named
// in the access log, and an expired export can no longer be opened (its key share is destroyed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { testEnv, tenantWithToken, testApp, DB_LABEL, type TestEnv } from '../helpers.ts';
import { runCommand } from '../../src/cli/commands.ts';
import { createApiToken } from '../../src/auth/api-tokens.ts';
import { openExport, generateRecipientKeys } from '../../src/ops/export.ts';

let env: TestEnv;
let app: FastifyInstance;
let headers: Record<string, string>;
const dir = mkdtempSync(join(tmpdir(), 'cerbere-export-'));
const ids: string[] = [];
const cli = async (...argv: string[]) => {
  const out: string[] = [];
  const code = await runCommand(env.services, argv, { line: (s) => out.push(s), progress: () => {} });
  return { code, out: out.join('\n') };
};

before(async () => {
  env = await testEnv();
  app = await testApp(env);
  headers = { authorization: `Bearer ${await tenantWithToken(env.services, 'exp')}` };
  for (const family of ['Exportée', 'Gardée', 'Troisième']) {
    const p = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: { resourceType: 'Patient', name: [{ family }] } })).body);
    ids.push(p.id);
    await app.inject({ method: 'POST', url: '/fhir/Observation', headers, payload: { resourceType: 'Observation', status: 'final', code: { text: `Hémoglobine de ${family}` }, subject: { reference: `Patient/${p.id}` } } });
  }
  assert.equal((await cli('export', 'keygen', '--out', join(dir, 'dest'))).code, 0);
});
after(async () => { await app.close(); await env.close(); });

test(`[${DB_LABEL}] cerbere export → export open: only the recipient, only the chosen patients, every patient in the access log`, async () => {
  const file = join(dir, 'one.cbx');
  const r = await cli('export', '--tenant', 'exp', '--recipient', join(dir, 'dest.pub'), '--patients', ids[0], '--expires', '1h', '--out', file);
  assert.equal(r.code, 0, r.out);
  const raw = readFileSync(file);
  for (const s of ['Exportée', 'Hémoglobine', ids[0]]) assert.ok(!raw.includes(Buffer.from(s)), `no "${s}" in the file`);
  const out = join(dir, 'one.ndjson');
  const o = await cli('export', 'open', file, '--key', join(dir, 'dest.key'), '--out', out);
  assert.equal(o.code, 0, o.out);
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((x) => x.resourceType).sort(), ['Observation', 'Patient']);
  assert.equal(lines.find((x) => x.resourceType === 'Patient').name[0].family, 'Exportée');
  assert.ok(!readFileSync(out, 'utf8').includes('Gardée'));
  // Another recipient's key cannot open it, even with Cerbère's share.
  const other = generateRecipientKeys();
  writeFileSync(join(dir, 'other.key'), other.privatePem, { mode: 0o600 });
  const bad = await cli('export', 'open', file, '--key', join(dir, 'other.key'), '--out', join(dir, 'x.ndjson'));
  assert.notEqual(bad.code, 0);
  assert.match(bad.out, /another recipient/);
  const ev = await env.services.database.db.selectFrom('audit_events').select(['action', 'patient_ids', 'outcome']).where('tenant_id', '=', 'exp').where('action', 'like', 'export.%').execute();
  const created = ev.find((e) => e.action === 'export.create');
  assert.deepEqual(created?.patient_ids, [ids[0]]);
  assert.ok(ev.some((e) => e.action === 'export.open' && e.outcome === 'success'));
});

test(`[${DB_LABEL}] an expired export can no longer be opened: its key share is destroyed`, async () => {
  const file = join(dir, 'exp.cbx');
  assert.equal((await cli('export', '--tenant', 'exp', '--recipient', join(dir, 'dest.pub'), '--all', '--expires', '1h', '--out', file)).code, 0);
  const db = env.services.database.db;
  const row = await db.selectFrom('exports').selectAll().where('tenant_id', '=', 'exp').where('patient_count', '=', 3).executeTakeFirstOrThrow();
  assert.ok(row.wrapped_share, 'share held (wrapped) until expiry');
  await db.updateTable('exports').set({ expires_at: new Date(Date.now() - 1000) }).where('export_id', '=', row.export_id).execute(); // time passes
  const o = await cli('export', 'open', file, '--key', join(dir, 'dest.key'), '--out', join(dir, 'exp.ndjson'));
  assert.notEqual(o.code, 0);
  assert.match(o.out, /expired/);
  const after = await db.selectFrom('exports').selectAll().where('export_id', '=', row.export_id).executeTakeFirstOrThrow();
  assert.equal(after.wrapped_share, null, 'share destroyed');
  assert.equal(after.status, 'expired');
  // Without the share, the recipient's private key alone opens nothing (any guess fails authentication).
  await assert.rejects(openExport(file, readFileSync(join(dir, 'dest.key'), 'utf8'), randomBytes(32)), /authentication/);
  // Moving the expiry back does not resurrect it: the share is gone.
  await db.updateTable('exports').set({ expires_at: new Date(Date.now() + 3_600_000) }).where('export_id', '=', row.export_id).execute();
  assert.match((await cli('export', 'open', file, '--key', join(dir, 'dest.key'), '--out', join(dir, 'exp2.ndjson'))).out, /expired/);
  const ev = await db.selectFrom('audit_events').select(['action', 'outcome']).where('tenant_id', '=', 'exp').where('action', 'in', ['export.expire', 'export.open']).execute();
  assert.ok(ev.some((e) => e.action === 'export.expire'));
  assert.ok(ev.some((e) => e.action === 'export.open' && e.outcome === 'denied'));
});

test(`[${DB_LABEL}] export API: above the threshold a second person approves, the file holds exactly the approved scope`, async () => {
  env.services.config.keys.exportApprovalThreshold = 1;
  const db = env.services.database.db;
  const requester = { authorization: `Bearer ${(await createApiToken(db, 'exp', 'system', 'exporter')).token}` };
  const approver = { authorization: `Bearer ${(await createApiToken(db, 'exp', 'dpo', 'dpo')).token}` };
  const keys = generateRecipientKeys();
  assert.equal((await app.inject({ method: 'POST', url: '/exports', headers, payload: { patients: [ids[0]], recipientKey: keys.publicPem } })).statusCode, 403, 'service tokens lack export:bulk');
  const req = await app.inject({ method: 'POST', url: '/exports', headers: requester, payload: { patients: [ids[1], ids[2]], recipientKey: keys.publicPem, expires: '2d' } });
  assert.equal(req.statusCode, 202, req.body);
  const { id, status } = JSON.parse(req.body);
  assert.equal(status, 'pending');
  assert.equal((await app.inject({ url: `/exports/${id}/file`, headers: requester })).statusCode, 409, 'not before approval');
  assert.equal((await app.inject({ method: 'POST', url: `/exports/${id}/approve`, headers: requester })).statusCode, 403, 'not by the requester');
  assert.equal((await app.inject({ method: 'POST', url: `/exports/${id}/approve`, headers: approver })).statusCode, 200);
  const colleague = { authorization: `Bearer ${(await createApiToken(db, 'exp', 'system', 'other exporter')).token}` };
  assert.equal((await app.inject({ url: `/exports/${id}/file`, headers: colleague })).statusCode, 403, 'only the requester gets the file');
  const f = await app.inject({ url: `/exports/${id}/file`, headers: requester });
  assert.equal(f.statusCode, 200);
  assert.equal((await app.inject({ url: `/exports/${id}/file`, headers: requester })).statusCode, 409, 'one file per export');
  const file = join(dir, 'api.cbx');
  writeFileSync(file, f.rawPayload);
  const k = await app.inject({ method: 'POST', url: `/exports/${id}/key`, headers: requester });
  assert.equal(k.statusCode, 200);
  const { ndjson } = await openExport(file, keys.privatePem, Buffer.from(JSON.parse(k.body).share, 'base64'));
  const patients = ndjson.toString().trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.resourceType === 'Patient').map((p) => p.id).sort();
  assert.deepEqual(patients, [ids[1], ids[2]].sort());
  const ev = await db.selectFrom('audit_events').select(['action', 'patient_ids', 'actor_id']).where('tenant_id', '=', 'exp').where('action', 'in', ['export.request', 'export.approve', 'export.create']).execute();
  assert.deepEqual(ev.filter((e) => e.action === 'export.create').at(-1)?.patient_ids.sort(), [ids[1], ids[2]].sort());
  assert.ok(ev.some((e) => e.action === 'export.approve'));
  const bad = await app.inject({ method: 'POST', url: '/exports', headers: requester, payload: { patients: [ids[0]], recipientKey: 'nope' } });
  assert.equal(bad.statusCode, 400);
  assert.equal(JSON.parse(bad.body).resourceType, 'OperationOutcome');
});

test(`[${DB_LABEL}] cerbere export above the threshold: refused without a second person's approval (through the API), then built by the same operator`, async () => {
  env.services.config.keys.exportApprovalThreshold = 1;
  const db = env.services.database.db;
  const file = join(dir, 'cli-approved.cbx');
  const r = await cli('export', '--tenant', 'exp', '--recipient', join(dir, 'dest.pub'), '--patients', `${ids[0]},${ids[1]}`, '--expires', '1h', '--as', 'alice', '--out', file);
  assert.notEqual(r.code, 0, 'no file without approval');
  assert.match(r.out, /waiting for a second person's approval/);
  assert.ok(!existsSync(file));
  const id = /export ([0-9a-f]{32}) is waiting/.exec(r.out)![1];
  const row = await db.selectFrom('exports').selectAll().where('tenant_id', '=', 'exp').where('export_id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row.status, 'pending');
  assert.equal(row.requested_by, 'cli:alice');
  const early = await cli('export', 'build', id, '--tenant', 'exp', '--as', 'alice', '--out', file);
  assert.notEqual(early.code, 0);
  assert.match(early.out, /waiting for a second person's approval/);
  assert.ok(!existsSync(file));
  assert.notEqual((await cli('export', 'approve', id, '--tenant', 'exp', '--as', 'bob')).code, 0, 'no CLI approval: --as is not authenticated');
  const approver = { authorization: `Bearer ${(await createApiToken(db, 'exp', 'dpo', 'dpo cli')).token}` };
  assert.equal((await app.inject({ method: 'POST', url: `/exports/${id}/approve`, headers: approver })).statusCode, 200);
  assert.notEqual((await cli('export', 'build', id, '--tenant', 'exp', '--as', 'mallory', '--out', file)).code, 0, 'only the requesting operator builds it');
  const ok = await cli('export', 'build', id, '--tenant', 'exp', '--as', 'alice', '--out', file);
  assert.equal(ok.code, 0, ok.out);
  const o = await cli('export', 'open', file, '--key', join(dir, 'dest.key'), '--out', join(dir, 'cli-approved.ndjson'));
  assert.equal(o.code, 0, o.out);
  assert.match(o.out, /of 2 patient/);
  // Below the threshold the CLI writes the file at once, as before.
  env.services.config.keys.exportApprovalThreshold = 50;
  assert.equal((await cli('export', '--tenant', 'exp', '--recipient', join(dir, 'dest.pub'), '--patients', ids[2], '--expires', '1h', '--out', join(dir, 'small.cbx'))).code, 0);
});
