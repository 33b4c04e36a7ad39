// Issue 16: the access log of a tenant seeded in bulk is fetched over HTTP and verified by an outside
// tlog-tiles client (test/tlog-client.ts, written from the specifications and importing nothing from
// src/), first as `npm start` seeds the demo tenant, then after a 10,000-patient `cerbere seed`; and a log
// written before events were split (an entry over 65,535 bytes) is served with a stand-in, never a 500.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CompiledQuery } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { testEnv, testApp, type TestEnv, DB_LABEL } from '../helpers.ts';
import { verifyWholeLog, type Fetch } from '../tlog-client.ts';
import { createApiToken } from '../../src/auth/api-tokens.ts';
import { runCommand } from '../../src/cli/commands.ts';
import { ensureDemo } from '../../src/main.ts';
import { APPEND_SQL, appendParams, pgTextArray } from '../../src/audit/record/append-sql.ts';
import type { Config } from '../../src/core/config.ts';

const L = `[${DB_LABEL}]`;
const tesseraDir = path.resolve(import.meta.dirname, '..', '..', '..', 'shared', 'testvectors', 'tessera-log');

let env: TestEnv;
let app: FastifyInstance;
let auditor: string;

async function cli(args: string[]): Promise<string[]> {
  const lines: string[] = [];
  const code = await runCommand(env.services, args, { line: (t) => lines.push(t), progress: () => {} });
  assert.equal(code, 0, `cerbere ${args.join(' ')}: ${lines.join('\n')}`);
  return lines;
}

/** The log over HTTP, as the auditor's client sees it; any answer but 200 fails the fetch. */
const http = (tenant: string, token: string): Fetch => async (p) => {
  const r = await app.inject({ url: `/log/${tenant}/${p}`, headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.statusCode, 200, `GET /log/${tenant}/${p} → ${r.statusCode} ${r.body.slice(0, 200)}`);
  return r.rawPayload;
};

async function signCheckpoint(tenant: string): Promise<void> {
  await env.services.log.integrate(tenant);
  await env.services.log.checkpoint(tenant);
}

before(async () => {
  env = await testEnv();
  const out: string[] = [];
  const token = await ensureDemo(env.services, { demo: true, demoPatients: 2000 } as Config, (s) => out.push(s));
  assert.ok(token, 'the demo tenant is created');
  auditor = (await createApiToken(env.services.database.db, 'demo', 'auditor', 'Cabinet d\'audit')).token;
  app = await testApp(env);
});
after(async () => { await app.close(); await env.close(); });

test('the outside client verifies Tessera\'s 15-entry test log (it is a standard tlog-tiles client)', { skip: existsSync(tesseraDir) ? false : `test vectors absent (${tesseraDir})` }, async () => {
  const key = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';
  const log = await verifyWholeLog(async (p) => readFileSync(path.join(tesseraDir, p)), key, { origin: 'example.com/log/testdata' });
  assert.equal(log.checkpoint.size, 15);
  assert.equal(log.entries[0].toString(), 'one');
  await assert.rejects(verifyWholeLog(async (p) => readFileSync(path.join(tesseraDir, p)), key.replace('+33d7b496+', '+33d7b497+')), /key id/);
});

async function verifyTenant(tenant: string) {
  await signCheckpoint(tenant);
  const key = (await cli(['audit', 'public-key', '--tenant', tenant])).at(-1)!;
  const log = await verifyWholeLog(http(tenant, auditor), key, { origin: `cerbere/${tenant}` });
  const lines = await cli(['audit', 'verify', '--tenant', tenant]);
  assert.match(lines.join('\n'), /access log verified/);
  return log;
}

test(`${L} the demo tenant as npm start seeds it: every tile and entry bundle verifies, no entry needs a stand-in`, async () => {
  const log = await verifyTenant('demo');
  assert.ok(log.checkpoint.size > 10, `size ${log.checkpoint.size}`);
  assert.deepEqual(log.oversized, []);
  assert.ok(log.entries.every((e) => e.length <= 0xffff));
  // The bulk import's parts still name every imported patient.
  const imported = new Set<string>();
  for (const e of log.entries) {
    const a = JSON.parse(e.toString('utf8'));
    if (a[12] === 'create' && /^import(;|$)/.test(a[16] ?? '')) for (const p of a[15]) imported.add(p);
  }
  assert.equal(imported.size, 2000);
});

test(`${L} after a 10,000-patient cerbere seed the whole log still verifies over HTTP`, async () => {
  await cli(['seed', '--tenant', 'demo', '--patients', '10000', '--seed', '7']);
  const log = await verifyTenant('demo');
  assert.deepEqual(log.oversized, []);
  const parts = log.entries.map((e) => JSON.parse(e.toString('utf8'))).filter((a) => /;part=\d+\/\d+$/.test(a[16] ?? ''));
  assert.ok(parts.length > 0, 'bulk events were split into parts');
  // Parts of one event are consecutive leaves: part k+1 of n follows part k.
  for (const a of parts) {
    const [k, n] = /part=(\d+)\/(\d+)$/.exec(a[16])!.slice(1).map(Number);
    if (k < n) {
      const next = JSON.parse(log.entries[a[2] + 1].toString('utf8'));
      assert.match(next[16], new RegExp(`part=${k + 1}/${n}$`));
    }
  }
});

test(`${L} a log written before events were split is served with a stand-in and the whole entry, never a 500`, async () => {
  const db = env.services.database.db;
  await cli(['tenant', 'create', 'legacy', '--name', 'Ancien laboratoire']);
  const token = (await createApiToken(db, 'legacy', 'auditor', 'audit')).token;
  // An import event as the old recorder wrote it: every reference of a large batch in one row.
  const refs = Array.from({ length: 3000 }, (_, i) => `Observation/obs-${String(i).padStart(6, '0')}-legacy`);
  const row = ['legacy', 'system', 'cerbere', 'system', null, null, null, 'system', 'create', 'success', pgTextArray(refs), pgTextArray(['p1', 'p2']), 'import'] as const;
  await db.executeQuery(CompiledQuery.raw(APPEND_SQL, appendParams([[...row]])));
  await signCheckpoint('legacy');
  const key = (await cli(['audit', 'public-key', '--tenant', 'legacy'])).at(-1)!;
  const fetch = http('legacy', token);
  // A client that does not know the stand-in sees an entry that does not hash to its leaf (not a 500).
  await assert.rejects(verifyWholeLog(fetch, key), /does not hash to its leaf/);
  const log = await verifyWholeLog(fetch, key, { fetchOversized: (i) => fetch(`entry/${i}`) });
  assert.equal(log.oversized.length, 1);
  assert.ok(log.entries[log.oversized[0]].length > 0xffff);
  assert.match((await cli(['audit', 'verify', '--tenant', 'legacy'])).join('\n'), /: 1 entries over 65,535 bytes \(leaves \d+\)/);
  const bad = await app.inject({ url: '/log/legacy/entry/999', headers: { authorization: `Bearer ${token}` } });
  assert.equal(bad.statusCode, 404);
});
