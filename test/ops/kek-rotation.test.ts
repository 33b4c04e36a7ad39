// KEK rotation re-wraps every data key without touching the data: reads still work, the old wrapped
// keys are gone from the database, and the provider column names the new KEK version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEnv, tenantWithToken, testApp, DB_LABEL, type TestEnv } from '../helpers.ts';
import { LocalKeyFileProvider, type KeyProvider } from '../../src/vault/key-provider.ts';
import { CachingKeyProvider } from '../../src/vault/caching-provider.ts';
import { VaultTransitProvider } from '../../src/vault/vault-provider.ts';
import { runCommand } from '../../src/cli/commands.ts';
import { FakeVault } from '../vault/fake-vault.ts';

async function scenario(env: TestEnv, provider: KeyProvider, tenant: string) {
  const app = await testApp(env);
  const db = env.services.database.db;
  try {
    const token = await tenantWithToken(env.services, tenant);
    await tenantWithToken(env.services, tenant + '-b');
    const headers = { authorization: `Bearer ${token}` };
    const p = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: { resourceType: 'Patient', name: [{ family: 'Rotation' }], birthDate: '1980-05-06' } })).body);
    await env.services.log.signers.get(tenant); // a log-sign key too
    const bodyBefore = (await db.selectFrom('resources').select('body').where('tenant_id', '=', tenant).where('id', '=', p.id).executeTakeFirstOrThrow()).body;
    const old = await db.selectFrom('data_keys').selectAll().execute();
    const oldId = provider.id;
    const out: string[] = [];
    const code = await runCommand(env.services, ['keys', 'rotate-kek'], { line: (s) => out.push(s), progress: () => {} });
    assert.equal(code, 0, out.join('\n'));
    assert.match(out.join('\n'), /re-wrapped/);
    assert.notEqual(provider.id, oldId);
    const now = await db.selectFrom('data_keys').selectAll().execute();
    assert.equal(now.length, old.length);
    for (const r of now) assert.equal(r.provider, provider.id);
    const oldBlobs = new Set(old.map((r) => Buffer.from(r.wrapped).toString('base64')));
    for (const r of now) assert.ok(!oldBlobs.has(Buffer.from(r.wrapped).toString('base64')), 'old wrapped key gone from the database');
    const bodyAfter = (await db.selectFrom('resources').select('body').where('tenant_id', '=', tenant).where('id', '=', p.id).executeTakeFirstOrThrow()).body;
    assert.deepEqual(Buffer.from(bodyAfter!), Buffer.from(bodyBefore!), 'the data was not touched');
    env.services.keyring.evictAll();
    if (provider instanceof CachingKeyProvider) provider.evictAll();
    const r = await app.inject({ url: `/fhir/Patient/${p.id}`, headers });
    assert.equal(r.statusCode, 200);
    assert.match(r.body, /Rotation/);
    assert.equal(JSON.parse((await app.inject({ url: '/fhir/Patient?birthdate=1980-05-06', headers })).body).total ?? 1, 1);
    const ev = await db.selectFrom('audit_events').select(['action', 'detail']).where('tenant_id', '=', tenant).where('action', '=', 'keys.rotate-kek').execute();
    assert.equal(ev.length, 1);
    // --tenant: re-wraps only what is not yet under the current version (nothing left here).
    const again: string[] = [];
    assert.equal(await runCommand(env.services, ['keys', 'rotate-kek', '--tenant', tenant], { line: (s) => again.push(s), progress: () => {} }), 0);
    assert.match(again.join(''), /: 0 wrapped key/);
  } finally {
    await app.close();
  }
}

test(`[${DB_LABEL}] rotate-kek with the key file: new version file kept alongside, data still reads`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cerbere-kek-'));
  const keyFile = join(dir, 'master.key');
  const { provider } = LocalKeyFileProvider.fromKeyFile(keyFile);
  const env = await testEnv({ provider });
  try {
    await scenario(env, provider, 'rot-file');
    assert.ok(existsSync(keyFile) && existsSync(keyFile + '.v2'));
    assert.equal(statSync(keyFile + '.v2').mode & 0o777, 0o600);
    // A fresh process loads both versions and reads the re-wrapped keys.
    const reopened = LocalKeyFileProvider.fromKeyFile(keyFile).provider;
    assert.equal(reopened.id, provider.id);
    const row = await env.services.database.db.selectFrom('data_keys').selectAll().where('tenant_id', '=', 'rot-file').where('purpose', '=', 'enc').executeTakeFirstOrThrow();
    assert.equal((await reopened.unwrap(Buffer.from(row.wrapped), `cerbere/v1/data-key|rot-file|enc|${row.version}`)).length, 32);
  } finally {
    await env.close();
  }
});

test(`[${DB_LABEL}] rotate-kek with Vault Transit uses rewrap (keys never leave Vault)`, async () => {
  const vault = new FakeVault();
  await vault.start();
  const provider = new CachingKeyProvider(await VaultTransitProvider.open({ addr: vault.url, token: vault.token, mount: 'transit', key: 'rot' }));
  const env = await testEnv({ provider });
  try {
    await scenario(env, provider, 'rot-vault');
    assert.equal(provider.id, 'vault:transit/rot:v2');
    assert.ok(vault.requests.some((r) => r.startsWith('POST /v1/transit/rewrap/rot')));
    const rows = await env.services.database.db.selectFrom('data_keys').select('wrapped').execute();
    assert.ok(rows.every((r) => Buffer.from(r.wrapped).toString().startsWith('vault:v2:')));
  } finally {
    await env.close();
    await provider.close();
    await vault.stop();
  }
});
