// Client address behind a reverse proxy: X-Forwarded-For is believed only from the configured proxy
// addresses (CERBERE_TRUST_PROXY); the per-IP failure limit still locks one address (and only it).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { testEnv, type TestEnv } from '../helpers.ts';
import { createTenant } from '../../src/store/tenants.ts';
import { buildApp } from '../../src/server/app.ts';
import { loadConfig, ConfigError } from '../../src/core/config.ts';

const envs: TestEnv[] = [];
after(async () => { for (const e of envs) await e.close(); });

// Limits: 5 failures per address (the minimum) and per identifier; every attempt uses a new e-mail so
// that only the address counter can lock.
async function app(trust?: string): Promise<FastifyInstance> {
  const env = await testEnv({ env: { CERBERE_IP_FAILURES: '5', ...(trust ? { CERBERE_TRUST_PROXY: trust } : {}) } });
  envs.push(env);
  await createTenant(env.services.database.db, env.services.keyring, 'lab', 'Laboratoire');
  return buildApp(env.services, { logLevel: false });
}
let n = 0;
const attempt = (a: FastifyInstance, xff?: string, remoteAddress = '127.0.0.1') => a.inject({
  method: 'POST', url: '/auth/login', remoteAddress,
  headers: { 'content-type': 'application/json', ...(xff ? { 'x-forwarded-for': xff } : {}) },
  payload: { tenant: 'lab', email: `nobody${n++}@example.fr`, password: 'not the right one' },
}).then((r) => r.statusCode);

test('config: CERBERE_TRUST_PROXY is a list of addresses; true and garbage are refused', () => {
  const load = (v: string) => loadConfig({ CERBERE_DATA_DIR: '/tmp/x', CERBERE_TRUST_PROXY: v }).keys.trustProxy;
  assert.deepEqual(load(''), []);
  assert.deepEqual(load('false'), []);
  assert.deepEqual(load('127.0.0.1, 10.0.0.0/8,::1,loopback'), ['127.0.0.1', '10.0.0.0/8', '::1', 'loopback']);
  for (const bad of ['true', 'yes', 'proxy.example', '10.0.0.0/33', '1.2.3.4/8/1']) assert.throws(() => load(bad), ConfigError, bad);
});

test('without a trusted proxy, X-Forwarded-For is ignored: one socket address is locked whatever the header says', async () => {
  const a = await app();
  const codes = [];
  for (let i = 0; i < 7; i++) codes.push(await attempt(a, `198.51.100.${i}`));
  assert.deepEqual(codes.slice(0, 5), [401, 401, 401, 401, 401]);
  assert.deepEqual(codes.slice(5), [429, 429]);
});

test('behind the trusted proxy: one client address is locked after the limit, other addresses still reach the password check', async () => {
  const a = await app('127.0.0.1');
  const one = [];
  for (let i = 0; i < 7; i++) one.push(await attempt(a, '203.0.113.7'));
  assert.deepEqual(one, [401, 401, 401, 401, 401, 429, 429], 'per-IP throttling still works for a single address');
  const others = [];
  for (let i = 0; i < 7; i++) others.push(await attempt(a, `203.0.113.${100 + i}`));
  assert.deepEqual(others, Array(7).fill(401), 'distinct client addresses are counted apart');
  // The proxy appends the real peer: a client-supplied left part does not help (the rightmost untrusted address counts).
  assert.equal(await attempt(a, '192.0.2.1, 203.0.113.7'), 429);
});

test('a request that does not come from the configured proxy cannot choose its address', async () => {
  const a = await app('10.0.0.1');
  const codes = [];
  for (let i = 0; i < 6; i++) codes.push(await attempt(a, `198.51.100.${i}`, '192.0.2.50'));
  assert.deepEqual(codes, [401, 401, 401, 401, 401, 429]);
});
