// Passwords: argon2id known-answer test, OWASP minimum parameters, re-hash detection, length and
// breached-list policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashRaw, parseOptions, Algorithm } from '@node-rs/argon2';
import { argon2Busy, setArgon2Concurrency, setLoginCheckBudget, takeLoginCheck, breachedList, checkPasswordPolicy, hashPassword, isBreached, MIN_ARGON2, needsRehash, PasswordPolicyError, verifyPassword } from '../../src/auth/passwords.ts';
import { loadConfig } from '../../src/core/config.ts';

test('argon2id known answer (reference implementation test vector; RFC 9106 needs associated data, which @node-rs/argon2 does not expose)', async () => {
  // phc-winner-argon2 src/test.c, Argon2id v1.3: "password", "somesalt", t=2, m=2^16 KiB, p=1.
  const raw = await hashRaw('password', { algorithm: Algorithm.Argon2id, timeCost: 2, memoryCost: 65536, parallelism: 1, salt: Buffer.from('somesalt'), outputLen: 32 });
  assert.equal(raw.toString('hex'), '09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7');
});

test('hashes use argon2id with at least OWASP parameters; stronger configuration triggers re-hash', async () => {
  const cfg = loadConfig({}).auth;
  assert.ok(cfg.argon2MemoryKib >= 19456 && cfg.argon2Time >= 2);
  assert.throws(() => loadConfig({ CERBERE_ARGON2_MEMORY_KIB: '8192' }), /between/);
  const h = await hashPassword('correct horse battery staple', MIN_ARGON2);
  const o = parseOptions(h);
  assert.equal(o.algorithm, Algorithm.Argon2id);
  assert.ok(o.memoryCost >= 19456 && o.timeCost >= 2 && o.parallelism === 1);
  assert.ok(h.startsWith('$argon2id$'));
  assert.equal(await verifyPassword(h, 'correct horse battery staple'), true);
  assert.equal(await verifyPassword(h, 'correct horse battery stapl'), false);
  assert.equal(await verifyPassword('not a hash', 'x'), false);
  assert.equal(needsRehash(h, MIN_ARGON2), false);
  assert.equal(needsRehash(h, { ...MIN_ARGON2, memoryCost: 47104 }), true);
  assert.equal(needsRehash(h, { ...MIN_ARGON2, timeCost: 3 }), true);
});

test('policy: at least 12 characters, not in the breached list (≥ 100,000 entries, checked offline)', () => {
  const l = breachedList();
  assert.ok(l.size >= 100_000, `list has ${l.size} entries`);
  assert.ok(l.kept > 10_000);
  for (const p of ['qwerty123456', 'QWERTY123456', '1q2w3e4r5t6y', 'iloveyou1234', 'password1234']) {
    assert.equal(isBreached(p), true, p);
    assert.throws(() => checkPasswordPolicy(p), PasswordPolicyError);
  }
  assert.throws(() => checkPasswordPolicy('Sh0rt!'), /at least 12/);
  assert.throws(() => checkPasswordPolicy(undefined), PasswordPolicyError);
  assert.throws(() => checkPasswordPolicy('x'.repeat(300)), /at most/);
  checkPasswordPolicy('Marée-haute à Vannes 1987');
  // Messages never echo the password.
  try { checkPasswordPolicy('qwerty123456'); } catch (e) { assert.doesNotMatch((e as Error).message, /qwerty/); }
});

test('argon2 computations are bounded (cores - 1 by default); a full queue reports busy so logins are shed instead of queued', async () => {
  setArgon2Concurrency(1);
  try {
    const p = { memoryCost: 19456, timeCost: 2, parallelism: 1 };
    const all = Array.from({ length: 66 }, (_, i) => hashPassword(`mot de passe ${i}`, p));
    assert.equal(argon2Busy(), true, '65 waiting behind one running');
    await Promise.all(all);
    assert.equal(argon2Busy(), false);
  } finally {
    setArgon2Concurrency(0);
  }
});

test('login password checks have a per-second budget (burst of two seconds), then logins are shed', async () => {
  setLoginCheckBudget(2);
  try {
    const taken = Array.from({ length: 6 }, () => takeLoginCheck());
    assert.deepEqual(taken, [true, true, true, true, false, false], 'burst of 4, then spent');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(takeLoginCheck(), true, 'refilled at 2 per second');
  } finally {
    setLoginCheckBudget(1000);
  }
});
