// Builds the key provider named by the configuration (CERBERE_KEY_PROVIDER=file|pkcs11|vault).
// HSM and Vault providers get an unwrap cache (bounded time, zeroed on eviction) in front of them,
// so each wrapped key costs at most one HSM/Vault call per cache period.
import type { Config } from '../core/config.ts';
import { KeyProviderError, LocalKeyFileProvider, type KeyProvider } from './key-provider.ts';
import { CachingKeyProvider } from './caching-provider.ts';

export async function createKeyProvider(config: Config): Promise<{ provider: KeyProvider; keyFileCreated: boolean }> {
  const k = config.keys;
  const ttl = k.cacheSeconds * 1000;
  if (k.provider === 'pkcs11') {
    const { Pkcs11Provider } = await import('./pkcs11-provider.ts');
    let p;
    try {
      p = Pkcs11Provider.open({ module: k.pkcs11.module, tokenLabel: k.pkcs11.token, pin: k.pkcs11.pin, keyLabel: k.pkcs11.keyLabel });
    } catch (e) {
      if (e instanceof KeyProviderError) throw e;
      throw new KeyProviderError('the PKCS#11 token cannot be opened');
    }
    return { provider: new CachingKeyProvider(p, ttl), keyFileCreated: false };
  }
  if (k.provider === 'vault') {
    const { VaultTransitProvider } = await import('./vault-provider.ts');
    const p = await VaultTransitProvider.open({ addr: k.vault.addr, token: k.vault.token, mount: k.vault.mount, key: k.vault.key, namespace: k.vault.namespace });
    return { provider: new CachingKeyProvider(p, ttl), keyFileCreated: false };
  }
  const { provider, created } = LocalKeyFileProvider.fromKeyFile(config.keyFile);
  return { provider, keyFileCreated: created };
}
