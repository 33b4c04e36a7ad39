// Key lifecycle from the command line on fresh data directories (embedded database): backup, verify,
// KEK rotation, restore into another data directory holding the key files, audit verify, doctor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, copyFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve('bin/cerbere.js');
const env = (dir: string) => ({ ...process.env, CERBERE_DATA_DIR: dir, DATABASE_URL: '', CERBERE_KEY_PROVIDER: '' });
const run = (dir: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: env(dir), encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, out: r.stdout + r.stderr };
};

test('cerbere backup, restore --check, keys rotate-kek, restore elsewhere, audit verify, doctor', () => {
  const a = mkdtempSync(join(tmpdir(), 'cerbere-keys-a-'));
  const b = mkdtempSync(join(tmpdir(), 'cerbere-keys-b-'));
  const file = join(tmpdir(), `cerbere-${Date.now()}.cbk`);
  let r = run(a, 'tenant', 'create', 'lab', '--name', 'Laboratoire');
  assert.equal(r.status, 0, r.out);
  assert.equal(run(a, 'seed', '--tenant', 'lab', '--patients', '5').status, 0);
  r = run(a, 'backup', '--out', file);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /backup [0-9a-f]{32} written/);
  r = run(a, 'restore', '--check', file);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /intact and complete/);
  r = run(a, 'keys', 'rotate-kek');
  assert.equal(r.status, 0, r.out);
  assert.ok(existsSync(join(a, 'keys', 'master.key.v2')));
  r = run(a, 'token', 'create', '--tenant', 'lab'); // a new process reads the re-wrapped keys
  assert.equal(r.status, 0, r.out);
  assert.equal(run(a, 'audit', 'verify').status, 0);
  // Another data directory with the key files (the backup's key is wrapped under version 1).
  mkdirSync(join(b, 'keys'), { recursive: true, mode: 0o700 });
  for (const f of ['master.key', 'master.key.v2']) copyFileSync(join(a, 'keys', f), join(b, 'keys', f));
  r = run(b, 'restore', file);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /restored: lab/);
  r = run(b, 'audit', 'verify');
  assert.equal(r.status, 0, r.out);
  r = run(b, 'restore', file);
  assert.notEqual(r.status, 0);
  assert.match(r.out, /already exists/);
  r = run(b, 'doctor', '--skip-audit');
  assert.notEqual(r.status, 0, 'retention is not configured');
  assert.match(r.out, /ok +key file/);
  assert.match(r.out, /cerbere: \d+ check\(s\) failed/);
  assert.ok(!readFileSync(file).includes(Buffer.from('Laboratoire')));
});
