// The access log over HTTP, read the way a standard tlog client reads it: checkpoint and its
// Ed25519 signed-note signature, hash tiles, entry bundles, root recomputed, an inclusion proof
// built from tiles only; plus the proof API and the access rules.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { testEnv, tenantWithToken, testApp, type TestEnv, DB_LABEL } from '../helpers.ts';
import { createApiToken } from '../../src/auth/api-tokens.ts';
import { systemContext } from '../../src/core/context.ts';
import { runCommand } from '../../src/cli/commands.ts';
import { openCheckpoint, parseVerifierKey } from '../../src/audit/log/note.ts';
import { decodeEntryBundle, entryBundlePath, splitHashTile, tilePath, tileWidth, TILE_WIDTH, TILE_HEIGHT } from '../../src/audit/log/tiles.ts';
import { logView } from '../../src/audit/log/log-view.ts';
import { inclusionFrom, leafHash, nodeHash, type NodeSource } from '../../src/audit/merkle/merkle.ts';
import { verifyConsistency, verifyInclusion } from '../../src/audit/merkle/merkle-verify.ts';

let env: TestEnv;
let app: FastifyInstance;
let auditor: string;
let dpo: string;
let service: string;
let otherAuditor: string;
const L = `[${DB_LABEL}]`;

const event = (i: number) => ({ action: 'read', outcome: 'success' as const, resourceRefs: [`Patient/p${i}`], patientIds: [`p${i}`] });

async function grow(tenant: string, n: number, checkpoint = true): Promise<void> {
  const ctx = systemContext(tenant, 'TREAT');
  for (let k = 0; k < n; k += 200) {
    await env.services.audit.appendInTransaction(env.services.database.db, ctx, Array.from({ length: Math.min(200, n - k) }, (_, i) => event(k + i)));
  }
  await env.services.log.integrate(tenant);
  if (checkpoint) await env.services.log.checkpoint(tenant);
}

before(async () => {
  env = await testEnv();
  service = await tenantWithToken(env.services, 'tl');
  auditor = (await createApiToken(env.services.database.db, 'tl', 'auditor', 'external auditor')).token;
  dpo = (await createApiToken(env.services.database.db, 'tl', 'dpo', 'DPO')).token;
  otherAuditor = await tenantWithToken(env.services, 'other', 'auditor');
  await grow('tl', 600);
  await grow('other', 3);
  app = await testApp(env);
});
after(async () => { await app.close(); await env.close(); });

const get = (url: string, token = auditor) => app.inject({ url, headers: { authorization: `Bearer ${token}` } });

test(`${L} a tlog client verifies the checkpoint, rebuilds the root from tiles and checks an inclusion proof built from tiles`, async () => {
  // The verifier key as an operator hands it out.
  const lines: string[] = [];
  assert.equal(await runCommand(env.services, ['audit', 'public-key', '--tenant', 'tl'], { line: (t) => lines.push(t), progress: () => {} }), 0);
  const verifier = parseVerifierKey(lines.at(-1)!);

  const r = await get('/log/tl/checkpoint');
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  const cp = openCheckpoint(r.body, verifier, 'cerbere/tl');
  const size = cp.size;
  assert.ok(size >= 600);

  // Tiles fetched as a client does, with the width for this size.
  const tiles = new Map<string, Buffer[]>();
  const fetchTile = async (level: number, index: number): Promise<Buffer[]> => {
    const k = `${level}/${index}`;
    const hit = tiles.get(k);
    if (hit) return hit;
    const width = tileWidth(level, index, size);
    const res = await app.inject({ url: `/log/tl/${tilePath(level, index, width)}`, headers: { authorization: `Bearer ${auditor}` } });
    assert.equal(res.statusCode, 200, `tile ${k}`);
    if (width === TILE_WIDTH) assert.match(String(res.headers['cache-control']), /immutable/);
    else assert.doesNotMatch(String(res.headers['cache-control']), /immutable/);
    const hashes = splitHashTile(res.rawPayload);
    assert.equal(hashes.length, width);
    tiles.set(k, hashes);
    return hashes;
  };
  // Node source over tiles: heights 8·L come from tile level L, others are hashed from their children.
  const nodes = new Map<string, Buffer>();
  const src: NodeSource = {
    node(level, index) {
      const k = `${level}/${index}`;
      const h = nodes.get(k);
      if (h) return h;
      if (level % TILE_HEIGHT === 0) throw new Error(`need tile for ${k}`);
      const v = nodeHash(this.node(level - 1, 2 * index), this.node(level - 1, 2 * index + 1));
      nodes.set(k, v);
      return v;
    },
  };
  // Load every tile of the tree (a small log): level 0 and level 1.
  for (let level = 0; Math.floor(size / TILE_WIDTH ** level) > 0; level++) {
    for (let index = 0; index * TILE_WIDTH < Math.floor(size / TILE_WIDTH ** level); index++) {
      const hashes = await fetchTile(level, index);
      hashes.forEach((h, i) => nodes.set(`${level * TILE_HEIGHT}/${index * TILE_WIDTH + i}`, Buffer.from(h)));
    }
  }
  // Level-1 tile hashes are the roots of the full level-0 tiles.
  assert.deepEqual(src.node(8, 1), (await fetchTile(1, 0))[1]);

  // Root from tiles = signed root.
  const parts: Buffer[] = [];
  for (let pos = 0, left = size, h = Math.floor(Math.log2(size)); left > 0; h--) {
    if (2 ** h <= left) { parts.push(src.node(h, pos / 2 ** h)); pos += 2 ** h; left -= 2 ** h; }
  }
  const root = parts.reduceRight((acc, p) => (acc ? nodeHash(p, acc) : p), null as Buffer | null);
  assert.deepEqual(root, cp.rootHash);

  // Entry bundles: each entry's leaf hash is the level-0 tile hash.
  const bundle = await get(`/log/tl/${entryBundlePath(1)}`);
  assert.equal(bundle.statusCode, 200);
  assert.match(String(bundle.headers['cache-control']), /immutable/);
  const entries = decodeEntryBundle(bundle.rawPayload);
  assert.equal(entries.length, 256);
  const i = 256 + 77;
  assert.deepEqual(leafHash(entries[77]), src.node(0, i));
  assert.equal(JSON.parse(entries[77].toString('utf8'))[2], i);

  // An inclusion proof built from tiles verifies against the signed root, and equals the API's.
  const proof = inclusionFrom(src, i, size);
  assert.ok(verifyInclusion(leafHash(entries[77]), i, size, proof, cp.rootHash));
  const api = JSON.parse((await get(`/log/tl/proof/inclusion?index=${i}`)).body);
  assert.deepEqual(api.proof, proof.map((h) => h.toString('base64')));
  assert.equal(api.size, size);
  assert.equal(api.rootHash, cp.rootHash.toString('base64'));
});

test(`${L} nothing beyond the latest signed checkpoint is served`, async () => {
  const before = openCheckpoint((await get('/log/tl/checkpoint')).body, (await env.services.log.signers.get('tl')).verifier);
  await grow('tl', 300, false); // integrated, not checkpointed
  const size = before.size;
  assert.equal((await get(`/log/tl/${tilePath(0, 2)}`)).statusCode, 404); // would be full at the new size
  assert.equal((await get(`/log/tl/${tilePath(0, 2, tileWidth(0, 2, size) + 1)}`)).statusCode, 404);
  assert.equal((await get(`/log/tl/${entryBundlePath(2)}`)).statusCode, 404);
  assert.equal((await get(`/log/tl/proof/inclusion?index=${size}`)).statusCode, 400);
  assert.equal((await get(`/log/tl/proof/inclusion?index=0&size=${size + 1}`)).statusCode, 400);
  // A smaller partial tile than the current one is still a tile the log had.
  assert.equal((await get(`/log/tl/${tilePath(0, 2, 3)}`)).statusCode, 200);
  // After the next checkpoint the consistency proof links both.
  const cp = await env.services.log.checkpoint('tl');
  assert.ok(cp);
  logView(env.services).forget('tl'); // the head is otherwise re-read within 1 s
  const r = JSON.parse((await get(`/log/tl/proof/consistency?from=${size}`)).body);
  assert.equal(r.to, cp.size);
  assert.ok(verifyConsistency(size, cp.size, r.proof.map((b: string) => Buffer.from(b, 'base64')), before.rootHash, cp.root));
  assert.equal((await get(`/log/tl/${tilePath(0, 2)}`)).statusCode, 200);
  assert.equal((await get('/log/tl/proof/consistency?from=0')).statusCode, 400);
});

test(`${L} only log:read principals of the tenant may read; another tenant's log does not exist for them`, async () => {
  assert.equal((await get('/log/tl/checkpoint', dpo)).statusCode, 200);
  assert.equal((await get('/log/tl/checkpoint', service)).statusCode, 403);
  assert.equal((await app.inject({ url: '/log/tl/checkpoint' })).statusCode, 401);
  const other = await get('/log/tl/checkpoint', otherAuditor);
  const missing = await get('/log/nosuch/checkpoint', otherAuditor);
  assert.equal(other.statusCode, 404);
  assert.equal(other.body, missing.body);
  assert.equal((await get(`/log/tl/${entryBundlePath(0)}`, otherAuditor)).statusCode, 404);
  assert.equal((await get('/log/tl/tile/0/x000/001')).statusCode, 404); // non-canonical path
});

test(`${L} reading entry bundles is itself recorded`, async () => {
  await get(`/log/tl/${entryBundlePath(0)}`);
  const rows = await env.services.database.db.selectFrom('audit_events').select(['action', 'detail']).where('tenant_id', '=', 'tl').where('action', '=', 'log-read').execute();
  assert.ok(rows.some((r) => r.detail === 'entries=0..255'));
});
