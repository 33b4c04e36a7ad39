// Wires the modules together once, for the server and for the CLI alike.
import type { Config } from './config.ts';
import { openDatabase, type Database } from './store/db.ts';
import { loadOrCreateKeyFile, LocalKeyFileProvider, type KeyProvider } from './vault/key-provider.ts';
import { Keyring } from './vault/keyring.ts';
import { AuditRecorder } from './audit/recorder.ts';
import { AuditLog } from './audit/log.ts';
import { Repository } from './store/repository.ts';
import { ApiTokenVerifier } from './auth/api-tokens.ts';
import type { ResourceCipher } from './store/cipher.ts';

export interface Services {
  config: Config;
  database: Database;
  provider: KeyProvider;
  keyring: Keyring;
  audit: AuditRecorder;
  /** Merkle log integrator and checkpoint signer; the server starts it, tests and the CLI call it directly. */
  log: AuditLog;
  repo: Repository;
  tokens: ApiTokenVerifier;
  keyFileCreated: boolean;
  close(): Promise<void>;
}

export async function openServices(config: Config, opts: { cipher?: ResourceCipher; database?: Database; provider?: KeyProvider } = {}): Promise<Services> {
  let provider = opts.provider;
  let keyFileCreated = false;
  if (!provider) {
    const kf = loadOrCreateKeyFile(config.keyFile);
    keyFileCreated = kf.created;
    provider = new LocalKeyFileProvider(kf.kek);
    kf.kek.fill(0);
  }
  const database = opts.database ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const keyring = new Keyring(database.db, provider, undefined, config.keyRefreshSeconds * 1000);
  const audit = new AuditRecorder(database.db, { batchMax: config.auditBatchMax, concurrency: database.kind === 'postgres' ? 3 : 1 });
  const repo = new Repository({ db: database.db, keyring, audit, cipher: opts.cipher });
  const tokens = new ApiTokenVerifier(database.db);
  const log = new AuditLog(database.db, provider, { checkpointDir: config.checkpointDir, witnessUrl: config.witnessUrl });
  return {
    config, database, provider, keyring, audit, log, repo, tokens, keyFileCreated,
    close: async () => { await log.stop(); keyring.evictAll(); await repo.close(); await database.close(); },
  };
}
