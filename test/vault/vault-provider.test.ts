// Vault/OpenBao Transit provider against the local fake (test/vault/fake-vault.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeVault } from './fake-vault.ts';
import { VaultTransitProvider } from '../../src/vault/vault-provider.ts';
import { CachingKeyProvider } from '../../src/vault/caching-provider.ts';
import { KeyProviderError } from '../../src/vault/key-provider.ts';
import { loadConfig, ConfigError } from '../../src/core/config.ts';
import { createKeyProvider } from '../../src/vault/provider-factory.ts';

const vault = new FakeVault();
before(async () => { await vault.start(); });
after(async () => { await vault.stop(); });

test('Vault Transit: wrap, unwrap, context binding, rotate and rewrap', async () => {
  const p = await VaultTransitProvider.open({ addr: vault.url, token: vault.token, mount: 'transit', key: 'k1' });
  assert.equal(p.id, 'vault:transit/k1:v1');
  const dk = Buffer.alloc(32, 3);
  const w = await p.wrap(dk, 'ctx-a');
  assert.match(w.toString(), /^vault:v1:/);
  assert.deepEqual(await p.unwrap(w, 'ctx-a'), dk);
  await assert.rejects(p.unwrap(w, 'ctx-b'), /does not belong/);
  await p.rotate();
  assert.equal(p.id, 'vault:transit/k1:v2');
  const r = await p.rewrap(w, 'ctx-a');
  assert.match(r.toString(), /^vault:v2:/);
  assert.deepEqual(await p.unwrap(r, 'ctx-a'), dk, 'the context binding survives rewrap');
  await p.check();
});

test('Vault Transit: bad token and unreachable Vault fail with a KeyProviderError that carries no secret', async () => {
  await assert.rejects(VaultTransitProvider.open({ addr: vault.url, token: 'wrong', mount: 'transit', key: 'k2' }), (e: Error) => e instanceof KeyProviderError && /403/.test(e.message) && !e.message.includes('wrong'));
  await assert.rejects(VaultTransitProvider.open({ addr: 'http://127.0.0.1:1', token: vault.token, mount: 'transit', key: 'k2', timeoutMs: 500 }), (e: Error) => e instanceof KeyProviderError && !e.message.includes(vault.token));
});

test('unwrap cache: one Vault decrypt per key per period, copies handed out, zeroed on eviction', async () => {
  const inner = await VaultTransitProvider.open({ addr: vault.url, token: vault.token, mount: 'transit', key: 'k3' });
  const p = new CachingKeyProvider(inner, 200);
  try {
    const w = await p.wrap(Buffer.alloc(32, 5), 'c');
    const before = vault.decrypts;
    const got = await Promise.all(Array.from({ length: 10 }, () => p.unwrap(w, 'c')));
    assert.equal(vault.decrypts - before, 1);
    got[0].fill(0); // a caller zeroing its copy does not spoil the cache
    assert.deepEqual(await p.unwrap(w, 'c'), Buffer.alloc(32, 5));
    const cached = (p as unknown as { cache: Map<string, { key: Buffer }> }).cache.values().next().value!.key;
    await new Promise((r) => setTimeout(r, 250));
    p.sweep();
    assert.deepEqual(cached, Buffer.alloc(32), 'evicted key was overwritten with zeros');
    assert.equal(p.size, 0);
    assert.deepEqual(await p.unwrap(w, 'c'), Buffer.alloc(32, 5));
    assert.equal(vault.decrypts - before, 2, 'a new period costs one more decrypt');
  } finally {
    await p.close();
  }
});

test('configuration: CERBERE_KEY_PROVIDER=vault builds a cached Vault provider; missing settings are refused', async () => {
  assert.throws(() => loadConfig({ CERBERE_KEY_PROVIDER: 'vault' }), ConfigError);
  assert.throws(() => loadConfig({ CERBERE_KEY_PROVIDER: 'vault', CERBERE_VAULT_ADDR: vault.url }), ConfigError);
  assert.throws(() => loadConfig({ CERBERE_KEY_PROVIDER: 'kms' }), ConfigError);
  assert.throws(() => loadConfig({ CERBERE_KEY_PROVIDER: 'pkcs11' }), /PIN/);
  const config = loadConfig({ CERBERE_KEY_PROVIDER: 'vault', CERBERE_VAULT_ADDR: vault.url, CERBERE_VAULT_TOKEN: vault.token, CERBERE_VAULT_KEY: 'cfg', CERBERE_KEY_CACHE_SECONDS: '60' });
  const { provider } = await createKeyProvider(config);
  assert.ok(provider instanceof CachingKeyProvider);
  assert.equal(provider.ttlMs, 60_000);
  assert.equal(provider.id, 'vault:transit/cfg:v1');
  await provider.close?.();
});
