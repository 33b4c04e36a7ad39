// Failure counters shared by every server: in PostgreSQL (auth_throttle) by default, in Redis when
// REDIS_URL is set. A key counts failures in a window; past `backoffAfter` failures each new one
// imposes a growing wait (2, 4, 8 … s), and at `lockAfter` the key is locked for `lockMs`.
import { sql, type Kysely } from 'kysely';
import type { Redis } from 'ioredis';
import type { DB } from '../core/schema.ts';

export interface ThrottleRule { lockAfter: number; lockMs: number; backoffAfter: number; windowMs: number }
export interface ThrottleState { failures: number; lockedUntil: number | null }

export interface ThrottleStore {
  readonly kind: 'postgres' | 'redis';
  /** Current state; lockedUntil is null or a past time when the key may try. */
  get(tenantId: string, key: string): Promise<ThrottleState>;
  /** Counts one failure and returns the new state (lock decided by the rule). */
  fail(tenantId: string, key: string, rule: ThrottleRule): Promise<ThrottleState & { locked: boolean }>;
  reset(tenantId: string, key: string): Promise<void>;
  close(): Promise<void>;
}

export function lockFor(failures: number, rule: ThrottleRule): number {
  if (failures >= rule.lockAfter) return rule.lockMs;
  if (failures >= rule.backoffAfter) return Math.min(2 ** (failures - rule.backoffAfter + 1), 60) * 1000;
  return 0;
}

export class PgThrottle implements ThrottleStore {
  readonly kind = 'postgres' as const;
  constructor(private readonly db: Kysely<DB>) {}
  async get(tenantId: string, key: string): Promise<ThrottleState> {
    const r = await this.db.selectFrom('auth_throttle').select(['failures', 'locked_until']).where('tenant_id', '=', tenantId).where('key', '=', key).executeTakeFirst();
    return { failures: r?.failures ?? 0, lockedUntil: r?.locked_until ? new Date(r.locked_until).getTime() : null };
  }
  async fail(tenantId: string, key: string, rule: ThrottleRule) {
    // One statement: concurrent failures on several servers are all counted (row lock of the upsert).
    const win = `${Math.round(rule.windowMs / 1000)} seconds`;
    const r = await sql<{ failures: number }>`insert into auth_throttle (tenant_id, key, failures, window_start)
      values (${tenantId}, ${key}, 1, now())
      on conflict (tenant_id, key) do update set
        failures = case when auth_throttle.window_start < now() - ${win}::interval then 1 else auth_throttle.failures + 1 end,
        window_start = case when auth_throttle.window_start < now() - ${win}::interval then now() else auth_throttle.window_start end
      returning failures`.execute(this.db);
    const failures = r.rows[0].failures;
    // Now and then, forget counters whose window and lock are over (unknown identifiers pile up otherwise).
    if (Math.random() < 0.01) {
      await sql`delete from auth_throttle where tenant_id = ${tenantId} and window_start < now() - ${win}::interval
        and (locked_until is null or locked_until < now())`.execute(this.db);
    }
    const ms = lockFor(failures, rule);
    let lockedUntil: number | null = null;
    if (ms > 0) {
      lockedUntil = Date.now() + ms;
      await this.db.updateTable('auth_throttle').set({ locked_until: new Date(lockedUntil) }).where('tenant_id', '=', tenantId).where('key', '=', key).execute();
    }
    return { failures, lockedUntil, locked: failures >= rule.lockAfter };
  }
  async reset(tenantId: string, key: string) {
    await this.db.deleteFrom('auth_throttle').where('tenant_id', '=', tenantId).where('key', '=', key).execute();
  }
  async close() {}
}

export class RedisThrottle implements ThrottleStore {
  readonly kind = 'redis' as const;
  constructor(private readonly redis: Redis, private readonly prefix = 'cerbere:throttle:') {}
  private k(tenantId: string, key: string) { return `${this.prefix}${tenantId}:${key}`; }
  async get(tenantId: string, key: string): Promise<ThrottleState> {
    const [f, l] = await this.redis.hmget(this.k(tenantId, key), 'f', 'l');
    return { failures: Number(f ?? 0), lockedUntil: l ? Number(l) : null };
  }
  async fail(tenantId: string, key: string, rule: ThrottleRule) {
    const k = this.k(tenantId, key);
    const res = await this.redis.multi().hincrby(k, 'f', 1).pexpire(k, Math.max(rule.windowMs, rule.lockMs), 'NX').exec();
    const failures = Number(res?.[0]?.[1] ?? 1);
    const ms = lockFor(failures, rule);
    let lockedUntil: number | null = null;
    if (ms > 0) {
      lockedUntil = Date.now() + ms;
      await this.redis.multi().hset(k, 'l', String(lockedUntil)).pexpire(k, Math.max(rule.windowMs, ms)).exec();
    }
    return { failures, lockedUntil, locked: failures >= rule.lockAfter };
  }
  async reset(tenantId: string, key: string) { await this.redis.del(this.k(tenantId, key)); }
  async close() { this.redis.disconnect(); }
}

export async function openThrottle(db: Kysely<DB>, redisUrl: string | null): Promise<ThrottleStore> {
  if (!redisUrl) return new PgThrottle(db);
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  await redis.connect();
  return new RedisThrottle(redis);
}
