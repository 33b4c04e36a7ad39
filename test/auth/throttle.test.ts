// Throttling shared across server instances: two AuthService instances over one database (PostgreSQL
// or PGlite backend) or one Redis (when it answers at 127.0.0.1:6379) see each other's failures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { testEnv, type TestEnv } from '../helpers.ts';
import { createTenant } from '../../src/store/tenants.ts';
import { AuthService, AuthError } from '../../src/auth/service.ts';
import { PgThrottle, RedisThrottle, lockFor, type ThrottleStore } from '../../src/auth/throttle.ts';

const REDIS_URL = process.env.REDIS_TEST_URL || 'redis://127.0.0.1:6379';
let env: TestEnv;
let redisUp = false;

before(async () => {
  env = await testEnv();
  await createTenant(env.services.database.db, env.services.keyring, 'lab', 'Laboratoire');
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  try { await r.connect(); await r.ping(); redisUp = true; } catch { /* skipped below */ }
  r.disconnect();
});
after(async () => { await env.close(); });

const RULE = { lockAfter: 5, lockMs: 15 * 60_000, backoffAfter: 3, windowMs: 15 * 60_000 };

test('backoff then lockout schedule', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((f) => lockFor(f, RULE)), [0, 0, 2000, 4000, RULE.lockMs, RULE.lockMs]);
});

async function sharedCounting(a: ThrottleStore, b: ThrottleStore) {
  const key = 'acct:' + randomBytes(4).toString('hex');
  for (let i = 0; i < 4; i++) await (i % 2 ? a : b).fail('lab', key, RULE);
  const s = await a.fail('lab', key, RULE);
  assert.equal(s.failures, 5);
  assert.equal(s.locked, true);
  const seen = await b.get('lab', key);
  assert.equal(seen.failures, 5);
  assert.ok(seen.lockedUntil! > Date.now() + 14 * 60_000, 'the other instance sees the lock');
  await b.reset('lab', key);
  assert.equal((await a.get('lab', key)).failures, 0);
}

test('PostgreSQL/PGlite backend: two instances share counters and locks', async () => {
  await sharedCounting(new PgThrottle(env.services.database.db), new PgThrottle(env.services.database.db));
});

test('Redis backend: two instances (two connections) share counters and locks', async (t) => {
  if (!redisUp) { t.skip(`no Redis at ${REDIS_URL}`); return; }
  const prefix = `cerbere-test:${randomBytes(4).toString('hex')}:`;
  const a = new RedisThrottle(new Redis(REDIS_URL), prefix);
  const b = new RedisThrottle(new Redis(REDIS_URL), prefix);
  try { await sharedCounting(a, b); } finally { await a.close(); await b.close(); }
});

test('Redis backend end to end: failed logins spread over two servers lock the account on both', async (t) => {
  if (!redisUp) { t.skip(`no Redis at ${REDIS_URL}`); return; }
  const prefix = `cerbere-test:${randomBytes(4).toString('hex')}:`;
  const s = env.services;
  const open = async () => AuthService.open(s.database.db, s.keyring, s.provider, s.audit, { ...s.config.auth, redisUrl: REDIS_URL }, { throttle: new RedisThrottle(new Redis(REDIS_URL), prefix) });
  const one = await open();
  const two = await open();
  try {
    const codes: string[] = [];
    for (let i = 0; i < 12 && codes.filter((c) => c === 'invalid_credentials').length < 5; i++) {
      try { await (i % 2 ? one : two).login('lab', 'someone@example.fr', 'wrong password ' + i, { ip: '192.0.2.1' }); } catch (e) {
        codes.push((e as AuthError).code);
        // Backoff lock: simulate the wait on the shared store.
        if ((e as AuthError).code === 'too_many_attempts') {
          const r = new Redis(REDIS_URL);
          const keys = await r.keys(`${prefix}lab:acct:*`);
          for (const k of keys) await r.hset(k, 'l', String(Date.now() - 1));
          r.disconnect();
        }
      }
    }
    assert.equal(codes.filter((c) => c === 'invalid_credentials').length, 5);
    for (const srv of [one, two]) await assert.rejects(srv.login('lab', 'someone@example.fr', 'x'.repeat(12)), (e: AuthError) => e.code === 'too_many_attempts');
  } finally { await one.close(); await two.close(); }
});
