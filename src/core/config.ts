// Configuration from environment variables (documented in README). Unsafe settings refuse to start.
import { resolve, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

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
  /** PostgreSQL: group-commit inserts sent from a worker thread, integration on another (CERBERE_AUDIT_THREAD). */
  auditThread: boolean;
  /** Signed checkpoints of the access log are copied here, outside the database. */
  checkpointDir: string;
  witnessUrl: string | null;
  /** Key provider, unwrap cache, TLS/proxy facts for `cerbere doctor`, exports (issue 5). */
  keys: KeysConfig;
  /** `cerbere audit prune` deletes access events older than this (CNIL: 6 months to 3 years). */
  auditRetentionDays: number;
  /** Accounts, sessions, MFA, mail (docs/identity.md). */
  auth: AuthConfig;
  /** Patients a person (staff or patient account) may receive from searches per hour (0 = no limit). */
  searchPatientsPerHour: number;
  /** Same for API clients and tokens (0 = no limit). */
  searchPatientsPerHourClient: number;
  /** Longest break-glass access, in minutes. */
  breakGlassMaxMinutes: number;
  /** Days a care relationship from an order, specimen or appointment lasts after its date or last write. */
  careLinkDays: number;
  /** Patient-release budgets (src/access/release-budget.ts). */
  budget: { patients: number; windowHours: number; approvalAbove: number };
  /** Alert delivery channels (webhook, SMTP, syslog): the CERBERE_ALERT_* and CERBERE_SYSLOG_* variables, checked by the dispatcher. */
  alertDelivery: Record<string, string | undefined>;
  /** Host sentinel (docs/sentinel.md): on by default, its check interval, and the outbound allow-list (CIDRs). */
  sentinel: boolean;
  sentinelIntervalMs: number;
  sentinelOutboundAllow: string[];
  /** E-mail domain of canary patients' addresses: one the tenant controls (CERBERE_CANARY_DOMAIN). */
  canaryDomain: string;
  /** Key lifecycle (docs/key-lifecycle.md): keyring refresh, re-encryption rate and batch, retention timer, shredded-key list copy. */
  keyRefreshSeconds: number;
  rekeyRate: number;
  rekeyBatch: number;
  retentionIntervalMinutes: number;
  shredDir: string;
}

export interface AuthConfig {
  publicUrl: string; smtpUrl: string | null; mailFrom: string; redisUrl: string | null;
  accessTokenSeconds: number; sessionIdleMinutes: number; sessionMaxHours: number;
  argon2MemoryKib: number; argon2Time: number; argon2Concurrency: number; lockoutFailures: number; lockoutMinutes: number; ipFailures: number;
  /** Nice value of the argon2 threads (0–19): logins yield the CPU to request serving. */
  argon2Nice: number;
  /** Login password checks per second in this process (0: 6 per core); beyond, logins answer 503 busy. */
  loginChecksPerSecond: number;
}

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer between ${min} and ${max}`);
  return n;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** CERBERE_TRUST_PROXY: a comma-separated list of proxy addresses; `true` is refused (it would trust any sender's X-Forwarded-For). */
function proxies(raw: string | undefined): string[] {
  if (raw === undefined || /^\s*(|0|false|no|off)\s*$/i.test(raw)) return [];
  if (/^\s*(1|true|yes|on)\s*$/i.test(raw)) throw new ConfigError('CERBERE_TRUST_PROXY must list the reverse proxy addresses (e.g. 127.0.0.1 or 10.0.0.0/8), not true: any client could otherwise choose its address with X-Forwarded-For');
  const list = raw.split(',').map((x) => x.trim()).filter(Boolean);
  for (const a of list) {
    const [ip, bits, extra] = a.split('/');
    const v = isIP(ip);
    const ok = PROXY_NAMES.has(a) || (v > 0 && extra === undefined && (bits === undefined || (/^[0-9]{1,3}$/.test(bits) && Number(bits) <= (v === 4 ? 32 : 128))));
    if (!ok) throw new ConfigError('CERBERE_TRUST_PROXY must be a comma-separated list of IP addresses, CIDR ranges, loopback, linklocal or uniquelocal');
  }
  return list;
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
    auditThread: bool(env, 'CERBERE_AUDIT_THREAD', false),
    checkpointDir: resolve(env.CERBERE_CHECKPOINT_DIR || join(dataDir, 'checkpoints')),
    witnessUrl,
    keys: loadKeysConfig(env),
    auditRetentionDays: int(env, 'CERBERE_AUDIT_RETENTION_DAYS', 365, 1, 36500),
    keyRefreshSeconds: int(env, 'CERBERE_KEY_REFRESH_SECONDS', 30, 1, 900),
    rekeyRate: int(env, 'CERBERE_REKEY_RATE', 2000, 1, 1_000_000),
    rekeyBatch: int(env, 'CERBERE_REKEY_BATCH', 500, 1, 10_000),
    retentionIntervalMinutes: int(env, 'CERBERE_RETENTION_INTERVAL_MINUTES', 1440, 0, 525_600),
    shredDir: resolve(env.CERBERE_SHRED_DIR || join(dataDir, 'shredded')),
    searchPatientsPerHour: int(env, 'CERBERE_SEARCH_PATIENTS_PER_HOUR', 1000, 0, 100_000_000),
    searchPatientsPerHourClient: int(env, 'CERBERE_SEARCH_PATIENTS_PER_HOUR_CLIENT', 0, 0, 100_000_000),
    breakGlassMaxMinutes: int(env, 'CERBERE_BREAK_GLASS_MAX_MINUTES', 30, 1, 240),
    careLinkDays: int(env, 'CERBERE_CARE_LINK_DAYS', 90, 1, 3650),
    alertDelivery: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('CERBERE_ALERT_') || k.startsWith('CERBERE_SYSLOG_'))),
    sentinel: (env.CERBERE_SENTINEL ?? 'true') !== 'false',
    sentinelIntervalMs: int(env, 'CERBERE_SENTINEL_INTERVAL_SECONDS', 15, 5, 3600) * 1000,
    sentinelOutboundAllow: (env.CERBERE_SENTINEL_OUTBOUND_ALLOW ?? '').split(',').map((x) => x.trim()).filter(Boolean),
    canaryDomain: /^[a-z0-9.-]{3,100}$/i.test(env.CERBERE_CANARY_DOMAIN ?? '') ? env.CERBERE_CANARY_DOMAIN!.toLowerCase() : 'canari.cerbere.invalid',
    budget: {
      patients: int(env, 'CERBERE_BUDGET_PATIENTS', 200, 1, 100_000_000),
      windowHours: int(env, 'CERBERE_BUDGET_WINDOW_HOURS', 24, 1, 24 * 365),
      approvalAbove: int(env, 'CERBERE_BUDGET_APPROVAL_ABOVE', 5000, 0, 100_000_000),
    },
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
      argon2Concurrency: int(env, 'CERBERE_ARGON2_CONCURRENCY', 0, 0, 256),
      argon2Nice: int(env, 'CERBERE_ARGON2_NICE', 10, 0, 19),
      loginChecksPerSecond: int(env, 'CERBERE_LOGIN_CHECKS_PER_SECOND', 0, 0, 100_000),
      lockoutFailures: int(env, 'CERBERE_LOCKOUT_FAILURES', 5, 3, 100),
      lockoutMinutes: int(env, 'CERBERE_LOCKOUT_MINUTES', 15, 1, 24 * 60),
      ipFailures: int(env, 'CERBERE_IP_FAILURES', 50, 5, 100_000),
    },
  };
}

// ---- Key providers, backups and exports (issue 5) ----
export interface KeysConfig {
  provider: 'file' | 'pkcs11' | 'vault';
  /** Unwrapped data keys stay in memory at most this long, then are zeroed. */
  cacheSeconds: number;
  pkcs11: { module: string; token: string; pin: string; keyLabel: string };
  vault: { addr: string; token: string; mount: string; key: string; namespace: string | null };
  /** Public https:// URL of the deployment (TLS terminated in front of Cerbère). */
  publicUrl: string | null;
  /**
   * Addresses (IP, CIDR, or proxy-addr's `loopback`/`linklocal`/`uniquelocal`) of the reverse proxies in
   * front: only a request coming from one of them has its client address taken from X-Forwarded-For
   * (per-IP throttling, audit events); empty = the socket address. Non-empty also tells doctor that a
   * TLS-terminating proxy is in front.
   */
  trustProxy: string[];
  production: boolean;
  /** Exports of more patients than this need a second person's approval. */
  exportApprovalThreshold: number;
  exportMaxDays: number;
}

function secret(env: NodeJS.ProcessEnv, name: string): string {
  const file = env[`${name}_FILE`];
  if (file) {
    try { return readFileSync(file, 'utf8').trim(); } catch { throw new ConfigError(`${name}_FILE cannot be read`); }
  }
  return env[name] ?? '';
}

export function loadKeysConfig(env: NodeJS.ProcessEnv): KeysConfig {
  const provider = (env.CERBERE_KEY_PROVIDER || 'file') as KeysConfig['provider'];
  if (!['file', 'pkcs11', 'vault'].includes(provider)) throw new ConfigError('CERBERE_KEY_PROVIDER must be file, pkcs11 or vault');
  const pkcs11 = {
    module: env.CERBERE_PKCS11_MODULE || '/usr/lib/softhsm/libsofthsm2.so',
    token: env.CERBERE_PKCS11_TOKEN || 'cerbere',
    pin: provider === 'pkcs11' ? secret(env, 'CERBERE_PKCS11_PIN') : '',
    keyLabel: env.CERBERE_PKCS11_KEY_LABEL || 'cerbere-kek',
  };
  if (provider === 'pkcs11' && !pkcs11.pin) throw new ConfigError('CERBERE_PKCS11_PIN or CERBERE_PKCS11_PIN_FILE is required with CERBERE_KEY_PROVIDER=pkcs11');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(pkcs11.keyLabel)) throw new ConfigError('CERBERE_PKCS11_KEY_LABEL must be 1-64 characters of A-Z a-z 0-9 _ -');
  const vault = {
    addr: env.CERBERE_VAULT_ADDR || env.VAULT_ADDR || '',
    token: provider === 'vault' ? (secret(env, 'CERBERE_VAULT_TOKEN') || env.VAULT_TOKEN || '') : '',
    mount: env.CERBERE_VAULT_TRANSIT_MOUNT || 'transit',
    key: env.CERBERE_VAULT_KEY || 'cerbere',
    namespace: env.CERBERE_VAULT_NAMESPACE || null,
  };
  if (provider === 'vault') {
    if (!/^https?:\/\/[^\s/]+/.test(vault.addr)) throw new ConfigError('CERBERE_VAULT_ADDR must be an http:// or https:// URL with CERBERE_KEY_PROVIDER=vault');
    if (!vault.token) throw new ConfigError('CERBERE_VAULT_TOKEN or CERBERE_VAULT_TOKEN_FILE is required with CERBERE_KEY_PROVIDER=vault');
  }
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(vault.mount) || !/^[A-Za-z0-9_-]+$/.test(vault.key)) throw new ConfigError('CERBERE_VAULT_TRANSIT_MOUNT / CERBERE_VAULT_KEY: letters, digits, _ and - only');
  const publicUrl = env.CERBERE_PUBLIC_URL || null;
  if (publicUrl && !/^https?:\/\/[^\s]+$/.test(publicUrl)) throw new ConfigError('CERBERE_PUBLIC_URL must be an http:// or https:// URL');
  return {
    provider,
    cacheSeconds: int(env, 'CERBERE_KEY_CACHE_SECONDS', 900, 1, 86_400),
    pkcs11,
    vault,
    publicUrl,
    trustProxy: proxies(env.CERBERE_TRUST_PROXY),
    production: (env.NODE_ENV || '') === 'production',
    exportApprovalThreshold: int(env, 'CERBERE_EXPORT_APPROVAL_THRESHOLD', 50, 0, 10_000_000),
    exportMaxDays: int(env, 'CERBERE_EXPORT_MAX_DAYS', 30, 1, 365),
  };
}
