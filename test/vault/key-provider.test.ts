// The local key file provider: versioned wraps, keys wrapped before versioning still open, rotation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalKeyFileProvider, KeyProviderError } from '../../src/vault/key-provider.ts';
import { aesGcmSeal } from '../../src/vault/aead.ts';

test('file provider: context binding, legacy (unversioned) wraps, rotation keeps old versions', async () => {
  const kek = randomBytes(32);
  const p = new LocalKeyFileProvider(kek);
  const dk = randomBytes(32);
  const w = await p.wrap(dk, 'a');
  assert.deepEqual(await p.unwrap(w, 'a'), dk);
  await assert.rejects(p.unwrap(w, 'b'));
  // A key wrapped by the first release (nonce ‖ ciphertext ‖ tag under the file's key).
  const nonce = randomBytes(12);
  const { ciphertext, tag } = aesGcmSeal(kek, nonce, dk, Buffer.from('a'));
  assert.deepEqual(await p.unwrap(Buffer.concat([nonce, ciphertext, tag]), 'a'), dk);
  const id1 = p.id;
  await p.rotate();
  assert.notEqual(p.id, id1);
  assert.match(p.id, /^file:v2:/);
  assert.deepEqual(await p.unwrap(w, 'a'), dk);
  assert.equal((await p.wrap(dk, 'a')).readUInt32BE(2), 2);
});

test('file provider from disk: version files are loaded and must be 0600', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cerbere-kf-'));
  const path = join(dir, 'keys', 'master.key');
  const a = LocalKeyFileProvider.fromKeyFile(path);
  assert.equal(a.created, true);
  await a.provider.rotate();
  const w = await a.provider.wrap(Buffer.alloc(32, 1), 'x');
  const b = LocalKeyFileProvider.fromKeyFile(path).provider;
  assert.equal(b.id, a.provider.id);
  assert.deepEqual(await b.unwrap(w, 'x'), Buffer.alloc(32, 1));
  writeFileSync(path + '.v3', 'cerbere-kek-v1:' + randomBytes(32).toString('base64') + '\n', { mode: 0o644 });
  assert.throws(() => LocalKeyFileProvider.fromKeyFile(path), KeyProviderError);
});
