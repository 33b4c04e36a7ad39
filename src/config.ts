// Configuration from environment variables (documented in README). Unsafe settings refuse to start.
import { resolve, join } from 'node:path';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | null;
  keyFile: string;
  logLevel: string;
  demo: boolean;
  demoPatients: number;
  adminSocket: string;
  maxPageSize: number;
  auditBatchMax: number;
  /** Signed checkpoints of the access log are copied here, outside the database. */
  checkpointDir: string;
  witnessUrl: string | null;
  /** Accounts, sessions, MFA, mail (docs/identity.md). */
  auth: AuthConfig;
}

export interface AuthConfig {
  publicUrl: string; smtpUrl: string | null; mailFrom: string; redisUrl: string | null;
  accessTokenSeconds: number; sessionIdleMinutes: number; sessionMaxHours: number;
  argon2MemoryKib: number; argon2Time: number; lockoutFailures: number; lockoutMinutes: number; ipFailures: number;
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer between ${min} and ${max}`);
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string, dflt: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = resolve(env.CERBERE_DATA_DIR || './data');
  const databaseUrl = env.DATABASE_URL || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new ConfigError('DATABASE_URL must start with postgres:// or postgresql://');
  const witnessUrl = env.CERBERE_WITNESS_URL || null;
  if (witnessUrl && !/^https?:\/\/[^\s]+$/.test(witnessUrl)) throw new ConfigError('CERBERE_WITNESS_URL must be an http:// or https:// URL');
  return {
    port: int(env, 'PORT', 8080, 0, 65535),
    host: env.HOST || '127.0.0.1',
    dataDir,
    databaseUrl,
    keyFile: resolve(env.CERBERE_KEY_FILE || join(dataDir, 'keys', 'master.key')),
    logLevel: env.LOG_LEVEL || 'info',
    demo: bool(env, 'CERBERE_DEMO', true),
    demoPatients: int(env, 'CERBERE_DEMO_PATIENTS', 2000, 0, 1_000_000),
    adminSocket: resolve(env.CERBERE_ADMIN_SOCKET || join(dataDir, 'admin.sock')),
    maxPageSize: int(env, 'CERBERE_MAX_PAGE_SIZE', 100, 1, 1000),
    auditBatchMax: int(env, 'CERBERE_AUDIT_BATCH_MAX', 512, 1, 10000),
    checkpointDir: resolve(env.CERBERE_CHECKPOINT_DIR || join(dataDir, 'checkpoints')),
    witnessUrl,
    auth: {
      publicUrl: (env.CERBERE_PUBLIC_URL || `http://localhost:${env.PORT || 8080}`).replace(/\/+$/, ''),
      smtpUrl: env.CERBERE_SMTP_URL || null,
      mailFrom: env.CERBERE_MAIL_FROM || 'Cerbère <no-reply@localhost>',
      redisUrl: env.REDIS_URL || null,
      accessTokenSeconds: int(env, 'CERBERE_ACCESS_TOKEN_SECONDS', 600, 30, 900),
      sessionIdleMinutes: int(env, 'CERBERE_SESSION_IDLE_MINUTES', 30, 1, 24 * 60),
      sessionMaxHours: int(env, 'CERBERE_SESSION_MAX_HOURS', 12, 1, 24 * 30),
      argon2MemoryKib: int(env, 'CERBERE_ARGON2_MEMORY_KIB', 19456, 19456, 4 * 1024 * 1024),
      argon2Time: int(env, 'CERBERE_ARGON2_TIME', 2, 2, 20),
      lockoutFailures: int(env, 'CERBERE_LOCKOUT_FAILURES', 5, 3, 100),
      lockoutMinutes: int(env, 'CERBERE_LOCKOUT_MINUTES', 15, 1, 24 * 60),
      ipFailures: int(env, 'CERBERE_IP_FAILURES', 50, 5, 100_000),
    },
  };
}
