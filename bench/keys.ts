// npm run bench:keys — cost of key unwraps: cached (in front of any provider), SoftHSM2 (PKCS#11),
// Vault Transit over HTTP (local fake), and backup throughput is in the tests. Prints one line each.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CachingKeyProvider } from '../src/vault/caching-provider.ts';
import { LocalKeyFileProvider, type KeyProvider } from '../src/vault/key-provider.ts';
import { VaultTransitProvider } from '../src/vault/vault-provider.ts';
import { FakeVault } from '../test/vault/fake-vault.ts';

async function measure(label: string, p: KeyProvider, n: number): Promise<void> {
  const w = await p.wrap(randomBytes(32), 'bench');
  for (let i = 0; i < Math.min(50, n); i++) (await p.unwrap(w, 'bench')).fill(0);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) (await p.unwrap(w, 'bench')).fill(0);
  const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
  console.log(`${label.padEnd(34)} ${us.toFixed(2).padStart(9)} µs per unwrap (${n} unwraps)`);
}

const file = new LocalKeyFileProvider(randomBytes(32));
await measure('key file (AES-GCM in memory)', file, 20_000);
await measure('cache in front of the key file', new CachingKeyProvider(file), 20_000);

const dir = mkdtempSync(join(tmpdir(), 'cerbere-bench-hsm-'));
const r = spawnSync('sh', ['scripts/setup-softhsm.sh', dir, 'bench', '1234'], { encoding: 'utf8' });
if (r.status === 0) {
  const env = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
  process.env.SOFTHSM2_CONF = env.SOFTHSM2_CONF;
  const { Pkcs11Provider } = await import('../src/vault/pkcs11-provider.ts');
  const hsm = Pkcs11Provider.open({ module: env.CERBERE_PKCS11_MODULE, tokenLabel: 'bench', pin: '1234', keyLabel: 'bench' });
  await measure('SoftHSM2 C_Decrypt (AES-GCM)', hsm, 5_000);
  const cached = new CachingKeyProvider(hsm);
  await measure('cache in front of SoftHSM2', cached, 20_000);
  console.log(`  SoftHSM2 calls for ${20_050} cached unwraps of one key: ${hsm.unwraps - 5_050}`);
  await cached.close();
} else {
  console.log('SoftHSM2 unavailable: PKCS#11 figures skipped');
}

const vault = new FakeVault();
await vault.start();
const v = await VaultTransitProvider.open({ addr: vault.url, token: vault.token, mount: 'transit', key: 'bench' });
await measure('Vault Transit decrypt (local fake)', v, 1_000);
await measure('cache in front of Vault', new CachingKeyProvider(v), 20_000);
await vault.stop();
process.exit(0);
