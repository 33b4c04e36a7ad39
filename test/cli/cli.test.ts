// The `cerbere` command, run as a user would (on the embedded database, in a temporary data dir),
// and through the admin socket of a running server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startServer } from './start-server.ts';

const BIN = resolve('bin/cerbere.js');
const env = (dir: string) => ({ ...process.env, CERBERE_DATA_DIR: dir, DATABASE_URL: '', PORT: '0', CERBERE_DEMO_PATIENTS: '20' });
const run = (dir: string, ...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env: env(dir), encoding: 'utf8', timeout: 120_000 });

test('cerbere --help, and bad input gets one line and a non-zero exit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cerbere-cli-'));
  const help = run(dir, '--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /tenant create/);
  for (const args of [['frobnicate'], ['tenant', 'create', 'BAD ID', '--name', 'x'], ['token', 'create'], ['token', 'create', '--tenant', 'nope'], ['seed', '--tenant', 'x', '--patients', '-3']]) {
    const r = run(dir, ...args);
    assert.notEqual(r.status, 0, args.join(' '));
    const out = (r.stdout + r.stderr).trim().split('\n');
    assert.equal(out.length, 1, `${args.join(' ')} → ${r.stdout}${r.stderr}`);
    assert.match(out[0], /^cerbere: /);
  }
});

test('tenant create, token create and seed on the embedded database; key file is 0600', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cerbere-cli-'));
  const t = run(dir, 'tenant', 'create', 'lab-nord', '--name', 'Laboratoire du Nord');
  assert.equal(t.status, 0, t.stderr);
  assert.equal(statSync(join(dir, 'keys', 'master.key')).mode & 0o777, 0o600);
  const tok = run(dir, 'token', 'create', '--tenant', 'lab-nord');
  assert.equal(tok.status, 0, tok.stderr);
  const last = tok.stdout.trim().split('\n').pop()!;
  assert.match(last, /^cbr_lab-nord_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  const s = run(dir, 'seed', '--tenant', 'lab-nord', '--patients', '15');
  assert.equal(s.status, 0, s.stdout + s.stderr);
  assert.match(s.stdout, /seeded 15 patients/);
  // An unsafe key file refuses to serve.
  chmodSync(join(dir, 'keys', 'master.key'), 0o644);
  const bad = run(dir, 'tenant', 'list');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /chmod 600/);
});

test('npm start prints the demo token; the CLI works through the admin socket while it runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cerbere-cli-'));
  const started = await startServer(env(dir));
  try {
    const out = started.output();
    assert.match(out, /listening on/, out);
    assert.match(out, /cbr_demo_[0-9a-f]{16}_/);
    assert.ok(existsSync(join(dir, 'admin.sock')));
    assert.equal(statSync(join(dir, 'admin.sock')).mode & 0o077, 0);
    const tok = run(dir, 'token', 'create', '--tenant', 'demo', '--role', 'reader');
    assert.equal(tok.status, 0, tok.stdout + tok.stderr);
    assert.match(tok.stdout.trim().split('\n').pop()!, /^cbr_demo_/);
    const second = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: env(dir), encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(second.status, 0);
    assert.match(second.stderr, /already running/);
  } finally {
    await started.stop();
  }
});
