// cerbere doctor: finds what is unsafe in a deployment and says how to fix it; non-zero exit on a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { testEnv, tenantWithToken, PG_URL, DB_LABEL } from '../helpers.ts';
import { LocalKeyFileProvider } from '../../src/vault/key-provider.ts';
import { CachingKeyProvider } from '../../src/vault/caching-provider.ts';
import { VaultTransitProvider } from '../../src/vault/vault-provider.ts';
import { runDoctor, parseNpmAudit, type Check } from '../../src/cli/doctor.ts';
import { runCommand } from '../../src/cli/commands.ts';
import { loadConfig } from '../../src/core/config.ts';
import { FakeVault } from '../vault/fake-vault.ts';

const clean = async () => ({ status: 'ok' as const, counts: { info: 0, low: 0, moderate: 0, high: 0, critical: 0 } });
const find = (cs: Check[], name: string) => cs.filter((c) => c.name === name);

test('npm audit output: vulnerabilities counted, offline is "could not check"', () => {
  assert.equal(parseNpmAudit(JSON.stringify({ metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0 } } })).status, 'ok');
  const v = parseNpmAudit(JSON.stringify({ metadata: { vulnerabilities: { info: 0, low: 1, moderate: 0, high: 2, critical: 0 } } }));
  assert.equal(v.status, 'vulnerable');
  assert.equal(v.counts!.high, 2);
  assert.equal(parseNpmAudit(JSON.stringify({ error: { code: 'ENOTFOUND', summary: 'request to https://registry.npmjs.org failed' } })).status, 'unknown');
  assert.equal(parseNpmAudit('').status, 'unknown');
});

test(`[${DB_LABEL}] doctor: key file mode, demo tenant in production, TLS, retention; exit non-zero with fixes`, async () => {
  const env = await testEnv();
  try {
    const config = env.services.config;
    const { provider } = LocalKeyFileProvider.fromKeyFile(config.keyFile);
    void provider;
    chmodSync(config.keyFile, 0o644);
    await tenantWithToken(env.services, 'demo');
    let cs = await runDoctor(env.services, { audit: clean });
    assert.equal(find(cs, 'key file')[0].status, 'fail');
    assert.match(find(cs, 'key file')[0].fix!, /chmod 600/);
    assert.equal(find(cs, 'key provider')[0].status, 'ok');
    assert.equal(find(cs, 'demo credentials')[0].status, 'warn', 'active demo token');
    assert.equal(find(cs, 'retention')[0].status, 'fail');
    assert.equal(find(cs, 'dependencies')[0].status, 'ok');
    chmodSync(config.keyFile, 0o600);
    config.keys.production = true;
    cs = await runDoctor(env.services, { audit: async () => ({ status: 'vulnerable', counts: { info: 0, low: 0, moderate: 0, high: 1, critical: 0 } }) });
    assert.equal(find(cs, 'key file')[0].status, 'ok');
    assert.equal(find(cs, 'demo tenant')[0].status, 'fail');
    assert.equal(find(cs, 'TLS')[0].status, 'fail');
    assert.equal(find(cs, 'dependencies')[0].status, 'fail');
    config.keys.publicUrl = 'https://labo.example.fr';
    cs = await runDoctor(env.services, { audit: clean });
    assert.equal(find(cs, 'TLS')[0].status, 'ok');
    const out: string[] = [];
    const code = await runCommand(env.services, ['doctor', '--skip-audit'], { line: (s) => out.push(s), progress: () => {} });
    assert.notEqual(code, 0);
    const text = out.join('\n');
    assert.match(text, /FAIL {2}demo tenant/);
    assert.match(text, /\? +dependencies: could not check/);
    assert.match(text, /fix: /);
    assert.match(out.at(-1)!, /^cerbere: \d+ check\(s\) failed/);
  } finally {
    await env.close();
  }
});

test(`[${DB_LABEL}] doctor: Vault down is a failing check`, async () => {
  const vault = new FakeVault();
  await vault.start();
  const provider = new CachingKeyProvider(await VaultTransitProvider.open({ addr: vault.url, token: vault.token, mount: 'transit', key: 'doc' }));
  const env = await testEnv({ provider });
  try {
    env.services.config.keys = loadConfig({ CERBERE_KEY_PROVIDER: 'vault', CERBERE_VAULT_ADDR: vault.url, CERBERE_VAULT_TOKEN: vault.token }).keys;
    assert.equal(find(await runDoctor(env.services, { audit: clean }), 'key provider')[0].status, 'ok');
    vault.down = true;
    const ch = find(await runDoctor(env.services, { audit: clean }), 'key provider')[0];
    assert.equal(ch.status, 'fail');
    assert.ok(!JSON.stringify(ch).includes(vault.token), 'no secret in the report');
  } finally {
    await env.close();
    await provider.close();
    await vault.stop();
  }
});

test('doctor: a PostgreSQL server that accepts connections without a password fails the check', { skip: !PG_URL && 'needs DATABASE_URL' }, async () => {
  const env = await testEnv();
  try {
    env.services.config.databaseUrl = PG_URL;
    const ch = find(await runDoctor(env.services, { audit: clean }), 'database password');
    const main = ch.find((c) => c.status !== 'warn') ?? ch[0];
    assert.ok(['fail', 'ok', 'unknown'].includes(main.status));
    if (!new URL(PG_URL!).password) assert.equal(main.status, 'fail', 'the CI PostgreSQL trusts local connections');
  } finally {
    await env.close();
  }
});
