// The modules a workflow, a route or a command works with, wired once by src/services.ts (openServices).
// The type lives here, below server/ and cli/, so they and the workflows import it without reaching upward.
import type { Config } from '../core/config.ts';
import type { Database } from '../store/db.ts';
import type { KeyProvider } from '../vault/key-provider.ts';
import type { Keyring } from '../vault/keyring.ts';
import type { AuditRecorder } from '../audit/record/recorder.ts';
import type { AuditLog } from '../audit/log/log.ts';
import type { Repository } from '../store/repository.ts';
import type { ApiTokenVerifier } from '../auth/api-tokens.ts';
import type { AuthService } from '../auth/service.ts';

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
  /** Accounts, passwords, MFA, sessions, OAuth clients (src/auth/service.ts). */
  auth: AuthService;
  keyFileCreated: boolean;
  close(): Promise<void>;
}
