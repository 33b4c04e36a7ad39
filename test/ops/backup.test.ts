// Backups: encrypted and authenticated as a whole, checked completely before anything is written,
// tampered/truncated/reordered archives refused, restore into an empty database keeps data readable
// and the access log verifiable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, statSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEnv, tenantWithToken, testApp, DB_LABEL } from '../helpers.ts';
import { LocalKeyFileProvider } from '../../src/vault/key-provider.ts';
import { runCommand } from '../../src/cli/commands.ts';
import { writeBackup, checkBackup, BACKUP_MAGIC } from '../../src/ops/backup.ts';
import { ArchiveError } from '../../src/vault/archive.ts';
import type { Services } from '../../src/services.ts';

const cli = async (svc: Services, ...argv: string[]) => {
  const out: string[] = [];
  const code = await runCommand(svc, argv, { line: (s) => out.push(s), progress: () => {} });
  return { code, out: out.join('\n') };
};

/** Splits an archive into [head, frames[]] to tamper with it. */
function frames(buf: Buffer): { head: Buffer; frames: Buffer[] } {
  const m = Buffer.from(BACKUP_MAGIC).length;
  const start = m + 4 + buf.readUInt32BE(m);
  const out: Buffer[] = [];
  for (let p = start; p < buf.length;) { const len = buf.readUInt32BE(p); out.push(buf.subarray(p, p + 5 + len)); p += 5 + len; }
  return { head: buf.subarray(0, start), frames: out };
}

test(`[${DB_LABEL}] backup → restore --check → restore into an empty database; tampering refused`, async () => {
  const kek = randomBytes(32);
  const src = await testEnv({ provider: new LocalKeyFileProvider(kek) });
  const dir = mkdtempSync(join(tmpdir(), 'cerbere-backup-'));
  const file = join(dir, 'b.cbk');
  let pid: string;
  try {
    const app = await testApp(src);
    const token = await tenantWithToken(src.services, 'sauv');
    await tenantWithToken(src.services, 'autre');
    const headers = { authorization: `Bearer ${token}` };
    const p = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: { resourceType: 'Patient', name: [{ family: 'Sauvegardé' }], birthDate: '1961-02-03' } })).body);
    pid = p.id;
    await app.inject({ method: 'PUT', url: `/fhir/Patient/${p.id}`, headers, payload: { ...p, gender: 'female' } });
    for (let i = 0; i < 30; i++) await app.inject({ method: 'POST', url: '/fhir/Observation', headers, payload: { resourceType: 'Observation', status: 'final', code: { text: `Glycémie ${i}` }, subject: { reference: `Patient/${p.id}` }, valueQuantity: { value: 5.1 + i } } });
    await app.inject({ url: `/fhir/Patient/${p.id}`, headers });
    await src.services.log.integrate('sauv');
    await src.services.log.checkpoint('sauv');
    await app.close();

    const r = await cli(src.services, 'backup', '--out', file, '--tenant', 'sauv');
    assert.equal(r.code, 0, r.out);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const raw = readFileSync(file);
    for (const s of ['Sauvegardé', 'Glycémie', '1961-02-03', 'resource_history', 'audit_events']) assert.ok(!raw.includes(Buffer.from(s)), `no "${s}" in the archive`);
    assert.equal((await cli(src.services, 'restore', '--check', file)).code, 0);
    // Restoring over an existing tenant is refused.
    const again = await cli(src.services, 'restore', file);
    assert.notEqual(again.code, 0);
    assert.match(again.out, /already exists/);

    // Tampered, truncated, reordered, extended: all refused by --check, with nothing written.
    const small = join(dir, 'small.cbk');
    await writeBackup(src.services, small, { tenant: 'sauv', chunkBytes: 2048 });
    const good = readFileSync(small);
    const { head, frames: fr } = frames(good);
    assert.ok(fr.length >= 4, 'several frames');
    const bad: Record<string, Buffer> = {
      flipped: Buffer.from(good).fill(good[good.length - 100] ^ 1, good.length - 100, good.length - 99),
      truncated: good.subarray(0, good.length - fr[fr.length - 1].length),
      cut: good.subarray(0, good.length - 7),
      reordered: Buffer.concat([head, fr[1], fr[0], ...fr.slice(2)]),
      dropped: Buffer.concat([head, fr[0], ...fr.slice(2)]),
      extended: Buffer.concat([good, fr[0]]),
      header: Buffer.from(good.toString('latin1').replace('"scope":"tenant"', '"scope":"tenanT"'), 'latin1'),
    };
    for (const [name, buf] of Object.entries(bad)) {
      const f = join(dir, `${name}.cbk`);
      writeFileSync(f, buf);
      await assert.rejects(checkBackup(src.services, f), ArchiveError, name);
      const c = await cli(src.services, 'restore', '--check', f);
      assert.notEqual(c.code, 0, name);
      assert.match(c.out, /^cerbere: backup refused: /, name);
    }
  } finally {
    await src.close();
  }

  // A fresh, empty database with the same key-encryption key.
  const dst = await testEnv({ provider: new LocalKeyFileProvider(kek) });
  try {
    const tampered = join(dir, 'reordered.cbk');
    assert.notEqual((await cli(dst.services, 'restore', tampered)).code, 0);
    assert.equal((await dst.services.database.db.selectFrom('tenants').selectAll().execute()).length, 0, 'nothing written from a bad archive');
    const r = await cli(dst.services, 'restore', file);
    assert.equal(r.code, 0, r.out);
    assert.equal((await dst.services.database.db.selectFrom('tenants').selectAll().execute()).map((t) => t.tenant_id).join(), 'sauv', 'only the backed-up tenant');
    const v = await cli(dst.services, 'audit', 'verify');
    assert.equal(v.code, 0, v.out);
    const token = (await import('../../src/auth/api-tokens.ts')).createApiToken;
    const t = await token(dst.services.database.db, 'sauv', 'service', 'after restore');
    const app = await testApp(dst);
    const headers = { authorization: `Bearer ${t.token}` };
    const read = await app.inject({ url: `/fhir/Patient/${pid}`, headers });
    assert.equal(read.statusCode, 200);
    assert.match(read.body, /Sauvegardé/);
    assert.equal(JSON.parse(read.body).meta.versionId, '2');
    const s = JSON.parse((await app.inject({ url: `/fhir/Observation?subject=Patient/${pid}&_total=accurate`, headers })).body);
    assert.equal(s.total, 30, 'blind-index search works after restore');
    const w = await app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: { resourceType: 'Patient' } });
    assert.equal(w.statusCode, 201, 'writes (and their access events) continue after restore');
    await app.close();
    assert.equal((await cli(dst.services, 'audit', 'verify', '--tenant', 'sauv')).code, 0);
    const ev = await dst.services.database.db.selectFrom('audit_events').select('action').where('tenant_id', '=', 'sauv').where('action', 'in', ['backup.create', 'backup.restore']).execute();
    assert.deepEqual(ev.map((e) => e.action).sort(), ['backup.create', 'backup.restore']);
    assert.ok(existsSync(file));
  } finally {
    await dst.close();
  }
});

test(`[${DB_LABEL}] a backup cannot be opened without the key-encryption key`, async () => {
  const src = await testEnv();
  const other = await testEnv();
  const file = join(mkdtempSync(join(tmpdir(), 'cerbere-backup-')), 'b.cbk');
  try {
    await tenantWithToken(src.services, 'k');
    await writeBackup(src.services, file);
    await assert.rejects(checkBackup(other.services, file), /cannot unwrap/);
  } finally {
    await src.close();
    await other.close();
  }
});
