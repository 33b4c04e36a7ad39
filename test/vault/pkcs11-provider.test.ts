// PKCS#11 provider against SoftHSM2 (Debian package softhsm2, installed by scripts/setup-softhsm.sh
// if missing). Skips with a notice only when SoftHSM2 cannot be installed on this machine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/core/config.ts';
import { createKeyProvider } from '../../src/vault/provider-factory.ts';
import { Pkcs11Provider, loadPkcs11js } from '../../src/vault/pkcs11-provider.ts';
import { CachingKeyProvider } from '../../src/vault/caching-provider.ts';
import { KeyProviderError } from '../../src/vault/key-provider.ts';
import { runCommand } from '../../src/cli/commands.ts';
import { testEnv, tenantWithToken, testApp, DB_LABEL } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'cerbere-softhsm-'));
const PIN = '246810';
let skip: string | false = false;
let env: Record<string, string> = {};

before(() => {
  const r = spawnSync('sh', ['scripts/setup-softhsm.sh', dir, 'cerbere-test', PIN], { encoding: 'utf8' });
  if (r.status !== 0) {
    skip = `SoftHSM2 unavailable (${(r.stderr || '').trim().split('\n').pop()})`;
    console.log(`# NOTICE: PKCS#11 tests skipped: ${skip}`);
    return;
  }
  env = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
  process.env.SOFTHSM2_CONF = env.SOFTHSM2_CONF;
  try { loadPkcs11js(); } catch (e) { skip = (e as Error).message; console.log(`# NOTICE: PKCS#11 tests skipped: ${skip}`); }
});
after(() => rmSync(dir, { recursive: true, force: true }));

const open = (keyLabel = 'kek') => Pkcs11Provider.open({ module: env.CERBERE_PKCS11_MODULE, tokenLabel: 'cerbere-test', pin: PIN, keyLabel });

test('PKCS#11: wraps inside the HSM, binds the context, key never extractable', async (t) => {
  if (skip) return t.skip(skip);
  const p = open('kek-basic');
  try {
    const dk = Buffer.alloc(32, 9);
    const w = await p.wrap(dk, 'cerbere/v1/data-key|t|enc|1');
    assert.ok(!w.includes(dk), 'wrapped blob does not contain the key');
    assert.deepEqual(await p.unwrap(w, 'cerbere/v1/data-key|t|enc|1'), dk);
    await assert.rejects(p.unwrap(w, 'cerbere/v1/data-key|other|enc|1'), KeyProviderError);
    const flipped = Buffer.from(w); flipped[flipped.length - 1] ^= 1;
    await assert.rejects(p.unwrap(flipped, 'cerbere/v1/data-key|t|enc|1'), KeyProviderError);
    // The KEK object is sensitive and not extractable: the token refuses to give its value.
    const pk = loadPkcs11js();
    const priv = p as unknown as { lib: InstanceType<typeof pk.PKCS11>; session: Buffer; keys: Map<number, Buffer> };
    const h = priv.keys.get(1)!;
    const attrs = priv.lib.C_GetAttributeValue(priv.session, h, [{ type: pk.CKA_EXTRACTABLE }, { type: pk.CKA_SENSITIVE }]);
    assert.equal(attrs[0].value?.toString('hex'), '00');
    assert.equal(attrs[1].value?.toString('hex'), '01');
    assert.throws(() => priv.lib.C_GetAttributeValue(priv.session, h, [{ type: pk.CKA_VALUE }]));
    // Rotation: a new key object; old wraps still open, new wraps use v2.
    const id1 = p.id;
    await p.rotate();
    assert.notEqual(p.id, id1);
    assert.deepEqual(await p.unwrap(w, 'cerbere/v1/data-key|t|enc|1'), dk);
    const w2 = await p.wrap(dk, 'c');
    assert.equal(w2.readUInt32BE(2), 2);
    // A second process (here: provider) finds the same versions on the token.
    const again = open('kek-basic');
    assert.equal(again.id, p.id);
    assert.deepEqual(await again.unwrap(w2, 'c'), dk);
    await again.close();
  } finally {
    await p.close();
  }
});

test(`[${DB_LABEL}] PKCS#11 provider from configuration serves the FHIR API; one HSM unwrap per key per cache period`, async (t) => {
  if (skip) return t.skip(skip);
  const config = loadConfig({ CERBERE_DEMO: 'false', CERBERE_KEY_PROVIDER: 'pkcs11', CERBERE_PKCS11_MODULE: env.CERBERE_PKCS11_MODULE, CERBERE_PKCS11_TOKEN: 'cerbere-test', CERBERE_PKCS11_PIN: PIN, CERBERE_PKCS11_KEY_LABEL: 'kek-api' });
  const { provider } = await createKeyProvider(config);
  if (!(provider instanceof CachingKeyProvider)) throw new Error('expected a cached provider');
  const inner = provider.inner as Pkcs11Provider;
  const e = await testEnv({ provider });
  const app = await testApp(e);
  try {
    const token = await tenantWithToken(e.services, 'hsm');
    const headers = { authorization: `Bearer ${token}` };
    const p = JSON.parse((await app.inject({ method: 'POST', url: '/fhir/Patient', headers, payload: { resourceType: 'Patient', name: [{ family: 'Matériel' }] } })).body);
    const rows = await e.services.database.db.selectFrom('data_keys').selectAll().where('tenant_id', '=', 'hsm').execute();
    assert.ok(rows.every((r) => r.provider.startsWith('pkcs11:')));
    const before = inner.unwraps;
    for (let i = 0; i < 5; i++) {
      e.services.keyring.evictAll(); // the keyring reloads, the provider's cache answers
      const r = await app.inject({ url: `/fhir/Patient/${p.id}`, headers });
      assert.equal(r.statusCode, 200);
      assert.match(r.body, /Matériel/);
    }
    assert.ok(inner.unwraps - before <= 2, `at most one HSM unwrap per data key (enc, idx), got ${inner.unwraps - before}`);
    // KEK rotation: a new key object in the token, every data key re-wrapped, old blobs gone, data reads.
    const old = new Set(rows.map((r) => Buffer.from(r.wrapped).toString('base64')));
    const out: string[] = [];
    assert.equal(await runCommand(e.services, ['keys', 'rotate-kek'], { line: (s) => out.push(s), progress: () => {} }), 0, out.join());
    const after = await e.services.database.db.selectFrom('data_keys').selectAll().where('tenant_id', '=', 'hsm').execute();
    assert.ok(after.every((r) => r.provider === 'pkcs11:cerbere-test/kek-api-v2' && !old.has(Buffer.from(r.wrapped).toString('base64'))));
    e.services.keyring.evictAll();
    provider.evictAll();
    assert.match((await app.inject({ url: `/fhir/Patient/${p.id}`, headers })).body, /Matériel/);
  } finally {
    await app.close();
    await e.close();
    await provider.close?.();
  }
});
