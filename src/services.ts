// Wires the modules together once, for the server and for the CLI alike.
import { ConfigError, type Config } from './core/config.ts';
import { openDatabase, type Database } from './store/db.ts';
import type { KeyProvider } from './vault/key-provider.ts';
import { createKeyProvider } from './vault/provider-factory.ts';
import { Keyring } from './vault/keyring.ts';
import { AuditRecorder } from './audit/record/recorder.ts';
import { AppendThread } from './audit/record/append-thread.ts';
import { AuditLog } from './audit/log/log.ts';
import { Repository } from './store/repository.ts';
import { ApiTokenVerifier } from './auth/api-tokens.ts';
import { AccessDecider } from './access/decider.ts';
import type { ResourceCipher } from './vault/resource-cipher.ts';
import { AuthService } from './auth/service.ts';
import { LeafCache } from './audit/record/leaf-cache.ts';
import type { Services } from './detect/services.ts';
import { openWatch } from './detect/open-watch.ts';
import { ReleaseBudgets } from './access/release-budget.ts';

export type { Services };

export async function openServices(config: Config, opts: { cipher?: ResourceCipher; database?: Database; provider?: KeyProvider } = {}): Promise<Services> {
  let provider = opts.provider;
  let keyFileCreated = false;
  const ownProvider = !provider;
  if (!provider) ({ provider, keyFileCreated } = await createKeyProvider(config)); // file, PKCS#11 or Vault (CERBERE_KEY_PROVIDER)
  const database = opts.database ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const keyring = new Keyring(database.db, provider, undefined, config.keyRefreshSeconds * 1000);
  // One group-commit batch in flight: batches of a tenant serialize on its audit_log_head row anyway, so
  // a single batch that takes everything queued during the previous commit is faster (measured 2,124 → 2,602 req/s).
  const report = (m: string) => console.error(`cerbere: access log: ${m}`);
  // By default appends and integration run on this thread, and the recorder keeps the events it appended for
  // the integrator, which then reads none of them back: about 8 % more reads/s on 2 cores than
  // CERBERE_AUDIT_THREAD (PostgreSQL), which appends from a worker thread and integrates on another.
  const pgConnection = config.auditThread ? database.connection : undefined;
  const thread = pgConnection && new AppendThread(pgConnection, report);
  const integration = pgConnection && new AppendThread(pgConnection, report);
  const leafCache = pgConnection ? undefined : new LeafCache();
  const audit = new AuditRecorder({ batchMax: config.auditBatchMax, concurrency: 1, prepared: database.prepared, thread, leafCache });
  // The release budget is part of the one access decision; the Watch head alerts and suspends when one is spent.
  const budgets = new ReleaseBudgets(database.db, config.budget);
  const access = new AccessDecider(database.db, config, audit, budgets);
  const repo = new Repository({ db: database.db, keyring, audit, cipher: opts.cipher, prepared: database.prepared, access });
  const tokens = new ApiTokenVerifier(database.db);
  const auth = await AuthService.open(database.db, keyring, provider, audit, config.auth);
  let watch;
  try {
    watch = openWatch(database.db, config, audit, budgets, (tenantId, accountId, reason) => auth.revokeAll(tenantId, accountId, reason), report);
  } catch (e) {
    throw new ConfigError((e as Error).message); // alert delivery settings
  }
  const w = watch.watch;
  access.onBudgetSpent = (ctx, used, limit, requested) => w.budgetSpent(ctx, used, limit, requested);
  const log = new AuditLog(database.db, provider, { checkpointDir: config.checkpointDir, witnessUrl: config.witnessUrl, integrateAllElsewhere: integration && (() => integration.integrateAll()), leafCache });
  return {
    config, database, provider, keyring, audit, log, repo, tokens, auth, watch: watch.watch, keyFileCreated,
    close: async () => { await watch.close(); await log.stop(); await auth.close(); keyring.evictAll(); await repo.close(); await thread?.close(); await integration?.close(); await database.close(); if (ownProvider) await provider.close?.(); },
  };
}
