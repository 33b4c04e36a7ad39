// Fail closed with a remote key provider: when Vault is down, reads answer 503 and release nothing;
// the server cannot start without it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { testEnv, tenantWithToken, testApp, type TestEnv, DB_LABEL } from '../helpers.ts';
import { FakeVault } from '../vault/fake-vault.ts';
import { loadConfig } from '../../src/core/config.ts';
import { createKeyProvider } from '../../src/vault/provider-factory.ts';
import { CachingKeyProvider } from '../../src/vault/caching-provider.ts';
import type { VaultTransitProvider } from '../../src/vault/vault-provider.ts';

const vault = new FakeVault();
let env: TestEnv;
let app: FastifyInstance;
let token: string;
let provider: CachingKeyProvider;
const cfg = () => loadConfig({ CERBERE_DEMO: 'false', CERBERE_KEY_PROVIDER: 'vault', CERBERE_VAULT_ADDR: vault.url, CERBERE_VAULT_TOKEN: vault.token });

before(async () => {
  await vault.start();
  provider = (await createKeyProvider(cfg())).provider as CachingKeyProvider;
  env = await testEnv({ provider });
  app = await testApp(env);
  token = await tenantWithToken(env.services, 'fcv');
});
after(async () => { await app.close(); await env.close(); await provider.close(); await vault.stop(); });

test(`[${DB_LABEL}] reads fail with 503 when Vault is down, and work again when it is back`, async () => {
  const headers = { authorization: `Bearer ${token}` };
  const p = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: { resourceType: 'Patient', name: [{ family: 'Coffrefort' }] } })).body);
  assert.equal((await app.inject({ url: `/fhir/Patient/${p.id}`, headers })).statusCode, 200);
  const rows = await env.services.database.db.selectFrom('data_keys').selectAll().where('tenant_id', '=', 'fcv').execute();
  assert.ok(rows.every((r) => Buffer.from(r.wrapped).toString().startsWith('vault:v1:')), 'the database holds Vault ciphertexts only');
  const inner = provider.inner as VaultTransitProvider;
  assert.ok(inner.unwraps >= 2);
  vault.down = true;
  env.services.keyring.evictAll();
  provider.evictAll(); // the cache period is over
  try {
    const r = await app.inject({ url: `/fhir/Patient/${p.id}`, headers });
    assert.equal(r.statusCode, 503);
    assert.equal(JSON.parse(r.body).resourceType, 'OperationOutcome');
    assert.match(JSON.parse(r.body).issue[0].diagnostics, /key provider/);
    assert.ok(!r.body.includes('Coffrefort'));
    assert.equal((await app.inject({ url: '/fhir/Patient?family=Coffrefort', headers })).statusCode, 503);
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 503);
    await assert.rejects(createKeyProvider(cfg()), /Vault Transit answered 503/); // no start without Vault
  } finally {
    vault.down = false;
  }
  assert.equal((await app.inject({ url: `/fhir/Patient/${p.id}`, headers })).statusCode, 200);
});
