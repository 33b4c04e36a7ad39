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
  /** Key lifecycle (docs/key-lifecycle.md): keyring refresh, re-encryption rate and batch, retention timer, shredded-key list copy. */
  keyRefreshSeconds: number;
  rekeyRate: number;
  rekeyBatch: number;
  retentionIntervalMinutes: number;
  shredDir: string;
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
    keyRefreshSeconds: int(env, 'CERBERE_KEY_REFRESH_SECONDS', 30, 1, 900),
    rekeyRate: int(env, 'CERBERE_REKEY_RATE', 2000, 1, 1_000_000),
    rekeyBatch: int(env, 'CERBERE_REKEY_BATCH', 500, 1, 10_000),
    retentionIntervalMinutes: int(env, 'CERBERE_RETENTION_INTERVAL_MINUTES', 1440, 0, 525_600),
    shredDir: resolve(env.CERBERE_SHRED_DIR || join(dataDir, 'shredded')),
  };
}
