// "Who accessed my record": the view for the patient and the DPO, receipts, and their offline check.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { testEnv, tenantWithToken, testApp, type TestEnv, DB_LABEL } from '../../helpers.ts';
import { createApiToken } from '../../../src/auth/api-tokens.ts';
import type { AccessContext } from '../../../src/core/context.ts';
import { accessHistory, accessReceipt } from '../../../src/audit/read/access-history.ts';
import { parseReceipt, formatReceipt, verifyReceipt, ReceiptError } from '../../../src/audit/log/receipt.ts';
import { runCommand } from '../../../src/cli/commands.ts';
import { runVerifyReceiptLocally } from '../../../src/cli/receipt-cli.ts';
import { FhirError } from '../../../src/fhir/outcome.ts';
import { addSite } from '../../../src/store/tenants.ts';

let env: TestEnv;
let app: FastifyInstance;
let lis: string;
let dpo: string;
let patientId: string;
let otherPatientId: string;
const L = `[${DB_LABEL}]`;

const patientCtx = (id: string): AccessContext => ({ tenantId: 'ah', actor: { kind: 'patient', id: 'account-1', role: 'patient', patientId: id }, purpose: 'PATRQT' });
const io = () => { const lines: string[] = []; return { lines, io: { line: (t: string) => lines.push(t), progress: () => {} } }; };

before(async () => {
  env = await testEnv();
  await tenantWithToken(env.services, 'ah');
  await tenantWithToken(env.services, 'elsewhere');
  await addSite(env.services.database.db, 'ah', 'site-nord', 'Laboratoire Nord');
  lis = (await createApiToken(env.services.database.db, 'ah', 'service', 'LIS Laboratoire Nord')).token;
  dpo = (await createApiToken(env.services.database.db, 'ah', 'dpo', 'DPO')).token;
  app = await testApp(env);
  const h = { authorization: `Bearer ${lis}` };
  patientId = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Patient', headers: h, payload: { resourceType: 'Patient', gender: 'female' } })).body).id;
  otherPatientId = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Patient', headers: h, payload: { resourceType: 'Patient', gender: 'male' } })).body).id;
  assert.equal((await app.inject({ url: `/fhir/Patient/${patientId}`, headers: h })).statusCode, 200);
  assert.equal((await app.inject({ url: `/fhir/Patient/${patientId}`, headers: { ...h, 'x-purpose-of-use': 'ETREAT' } })).statusCode, 200);
  // A staff member at a site (hand-built context: staff accounts come from another module).
  await env.services.repo.read({ tenantId: 'ah', actor: { kind: 'user', id: 'u-42', role: 'service', siteId: 'site-nord' }, purpose: 'TREAT' }, 'Patient', patientId);
  await env.services.log.integrate('ah');
});
after(async () => { await app.close(); await env.close(); });

test(`${L} the patient sees every access to their record, named, with site, purpose and break-glass`, async () => {
  const h = await accessHistory(env.services, patientCtx(patientId), patientId);
  const actions = h.entries.map((e) => e.action);
  assert.deepEqual(actions.filter((a) => a === 'read').length, 3);
  assert.ok(actions.includes('create'));
  const byLis = h.entries.find((e) => e.action === 'read' && e.actor.kind === 'token' && !e.breakGlass)!;
  assert.equal(byLis.actor.display, 'LIS Laboratoire Nord');
  assert.equal(byLis.actor.roleLabel, 'Logiciel du laboratoire');
  assert.equal(byLis.purpose, 'TREAT');
  assert.ok(h.entries.some((e) => e.action === 'read' && e.breakGlass && e.purpose === 'ETREAT'));
  const staff = h.entries.find((e) => e.actor.kind === 'user')!;
  assert.deepEqual(staff.site, { id: 'site-nord', name: 'Laboratoire Nord' });
  assert.ok(typeof staff.event === 'number');
  assert.ok(!h.entries.some((e) => JSON.stringify(e).includes(otherPatientId)));
  // Reading the view is itself an access event, seen the next time.
  const again = await accessHistory(env.services, patientCtx(patientId), patientId);
  const self = again.entries.find((e) => e.action === 'access-log')!;
  assert.equal(self.actor.display, 'Vous-même');
  assert.equal(again.total, h.total + 1);
});

test(`${L} nobody else may read it: another patient, a service token (403 with a denied event)`, async () => {
  await assert.rejects(accessHistory(env.services, patientCtx(otherPatientId), patientId), (e) => e instanceof FhirError && e.status === 403);
  const r = await app.inject({ url: `/fhir/Patient/${patientId}/$access-log`, headers: { authorization: `Bearer ${lis}` } });
  assert.equal(r.statusCode, 403);
  assert.equal(JSON.parse(r.body).resourceType, 'OperationOutcome');
  assert.equal((await app.inject({ url: `/fhir/Patient/${patientId}/$access-log` })).statusCode, 401);
});

test(`${L} the DPO reads it over FHIR; a receipt downloads and verifies offline; tampering is rejected`, async () => {
  const r = await app.inject({ url: `/fhir/Patient/${patientId}/$access-log?_count=50`, headers: { authorization: `Bearer ${dpo}` } });
  assert.equal(r.statusCode, 200);
  const params = JSON.parse(r.body);
  assert.equal(params.resourceType, 'Parameters');
  const access = params.parameter.filter((p: { name: string }) => p.name === 'access');
  assert.ok(access.length >= 4);
  const read = access.find((a: { part: { name: string; valueCode?: string }[] }) => a.part.some((p) => p.name === 'action' && p.valueCode === 'read'));
  const url = new URL(read.part.find((p: { name: string }) => p.name === 'receipt').valueUrl);
  const index = Number(url.searchParams.get('event'));
  // The routes of plain FHIR reads are untouched by the operation routes.
  assert.equal((await app.inject({ url: `/fhir/Patient/${patientId}`, headers: { authorization: `Bearer ${lis}` } })).statusCode, 200);

  const rr = await app.inject({ url: `${url.pathname}${url.search}`, headers: { authorization: `Bearer ${dpo}` } });
  assert.equal(rr.statusCode, 200, rr.body);
  assert.match(String(rr.headers['content-disposition']), /attachment; filename="cerbere-ah-\d+\.tlog-proof"/);
  const text = rr.body;
  assert.match(text, /^c2sp\.org\/tlog-proof@v1\nextra [A-Za-z0-9+/=]+\nindex \d+\n/);
  const signer = await env.services.log.signers.get('ah');
  const ok = verifyReceipt(text, signer.verifier);
  assert.equal(ok.index, index);
  assert.equal(ok.event.action, 'read');
  assert.deepEqual(ok.event.patientIds, [patientId]);

  // CLI, offline with --key, and with the tenant's key from this server.
  const file = join(env.dataDir, 'receipt.tlog-proof');
  writeFileSync(file, text);
  let o = io();
  assert.equal(await runVerifyReceiptLocally(['audit', 'verify-receipt', file, '--key', signer.verifierKey], o.io, async () => { throw new Error('no server'); }), 0);
  assert.match(o.lines[0], new RegExp(`^OK: event ${index} is in the access log cerbere/ah of size \\d+ \\(key cerbere/ah\\+[0-9a-f]{8}, given with --key\\)`));
  o = io();
  assert.equal(await runCommand(env.services, ['audit', 'verify-receipt', file], o.io), 0);
  assert.match(o.lines[0], /^OK: .*key from this server's database/);
  const keyFile = join(env.dataDir, 'key.txt');
  writeFileSync(keyFile, `verifier key:\n${signer.verifierKey}\n`);
  o = io();
  assert.equal(await runVerifyReceiptLocally(['audit', 'verify-receipt', file, '--key', keyFile], o.io, async () => { throw new Error('no server'); }), 0);

  const rejects = async (bad: string, why: RegExp) => {
    assert.throws(() => verifyReceipt(bad, signer.verifier), (e) => e instanceof ReceiptError && why.test(e.message));
    writeFileSync(file, bad);
    const out = io();
    assert.equal(await runVerifyReceiptLocally(['audit', 'verify-receipt', file, '--key', signer.verifierKey], out.io, async () => { throw new Error('no server'); }), 2);
    assert.equal(out.lines.length, 1);
    assert.match(out.lines[0], /^cerbere: receipt REJECTED: /);
  };
  const parsed = parseReceipt(text);
  // Tampered entry: another actor in the event.
  const entry = parsed.entry!.toString('utf8').replace(/"token","[0-9a-f]+"|"user","u-42"/, '"user","someone-else"');
  assert.notEqual(entry, parsed.entry!.toString('utf8'));
  await rejects(formatReceipt({ ...parsed, entry: Buffer.from(entry) }), /inclusion proof does not lead/);
  // Wrong index line (the entry names its own index).
  await rejects(text.replace(`index ${index}\n`, `index ${index + 1}\n`), /recorded at index/);
  // Truncated proof, truncated file.
  if (parsed.proof.length) await rejects(formatReceipt({ ...parsed, proof: parsed.proof.slice(0, -1) }), /inclusion proof does not lead/);
  await rejects(text.slice(0, text.indexOf('\n\n')), /truncated/);
  // Wrong key: another tenant's log key.
  const otherKey = (await env.services.log.signers.get('elsewhere')).verifierKey;
  writeFileSync(file, text);
  o = io();
  assert.equal(await runVerifyReceiptLocally(['audit', 'verify-receipt', file, '--key', otherKey], o.io, async () => { throw new Error('no server'); }), 2);
  assert.match(o.lines[0], /REJECTED: the checkpoint is not signed by cerbere\/elsewhere/);
  o = io();
  assert.equal(await runVerifyReceiptLocally(['audit', 'verify-receipt', file, '--key', 'not-a-key'], o.io, async () => { throw new Error('no server'); }), 2);
});

test(`${L} a receipt is only for an event that names the patient, and downloading it is recorded`, async () => {
  const mine = await accessHistory(env.services, patientCtx(patientId), patientId);
  const ev = mine.entries.find((e) => e.action === 'read')!.event!;
  const r = await accessReceipt(env.services, patientCtx(patientId), patientId, ev);
  assert.match(r.text, /^c2sp\.org\/tlog-proof@v1\n/);
  await assert.rejects(accessReceipt(env.services, patientCtx(otherPatientId), otherPatientId, ev), (e) => e instanceof FhirError && e.status === 404);
  await assert.rejects(accessReceipt(env.services, patientCtx(patientId), patientId, 10_000_000), (e) => e instanceof FhirError && e.status === 404);
  const after = await accessHistory(env.services, patientCtx(patientId), patientId);
  assert.ok(after.entries.some((e) => e.action === 'access-receipt'));
});
