// `npm run bench:login [-- --accounts N --seconds S --rate R --one-address --argon2-concurrency C]`
// 1. Login with password + TOTP over HTTP (POST /auth/login then /auth/login/mfa, argon2id included):
//    p50/p95 over N staff accounts, one login each (a TOTP code is accepted once per account).
// 2. Patient reads per second (autocannon, API token) alone, then while R logins per second are tried
//    with the production limits, from many client addresses: the server trusts the bench as its reverse
//    proxy (CERBERE_TRUST_PROXY=127.0.0.1) and each attempt carries another X-Forwarded-For address.
//    Attempts mix full logins (right password, then a TOTP code), wrong passwords on existing accounts
//    (below the lockout threshold) and unknown e-mails: each one costs a real argon2id verification.
//    --one-address: every attempt from one address (the per-IP limit then answers most with 429).
//    --argon2-concurrency C: CERBERE_ARGON2_CONCURRENCY of the server (default: cores - 1; 4 = libuv's whole pool).
//    Answers: 200/401 = a real argon2id verification, 429 = per-IP or account limit, 503 = argon2 queue full (shed).
// The server runs in a child process (PGlite in bench/out/login, or schema cerbere_bench_login on
// DATABASE_URL, CERBERE_BENCH_SCHEMA to choose another), as in production.
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import autocannon from 'autocannon';
import pg from 'pg';
import { loadConfig } from '../src/core/config.ts';
import { openDatabase } from '../src/store/db.ts';
import { openServices, type Services } from '../src/services.ts';
import { buildApp } from '../src/server/app.ts';
import { createTenant, addSite } from '../src/store/tenants.ts';
import { createApiToken } from '../src/auth/api-tokens.ts';
import { seedTenant } from '../src/seed/seed.ts';
import { totpNow } from '../src/auth/totp.ts';

const OUT = resolve('bench/out/login');
const URL_DB = process.env.DATABASE_URL || null;
const SCHEMA = process.env.CERBERE_BENCH_SCHEMA || 'cerbere_bench_login';
const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const PORT = 18_431;
const PASSWORD = 'Banc d\'essai de connexion 2026';
const ONE_ADDRESS = args.includes('--one-address');
// Client addresses: the three documentation ranges (RFC 5737), 768 addresses used in turn.
const address = (i: number) => `${['192.0.2', '198.51.100', '203.0.113'][Math.floor(i / 256) % 3]}.${i % 256}`;

async function services(): Promise<Services> {
  const database = await openDatabase({ databaseUrl: URL_DB, dataDir: OUT, schema: URL_DB ? SCHEMA : undefined, poolSize: 10 });
  const config = loadConfig({ CERBERE_DATA_DIR: OUT, CERBERE_KEY_FILE: join(OUT, 'bench.key'), CERBERE_DEMO: 'false', LOG_LEVEL: 'warn',
    CERBERE_PUBLIC_URL: `http://127.0.0.1:${PORT}`, CERBERE_TRUST_PROXY: '127.0.0.1',
    CERBERE_ARGON2_CONCURRENCY: String(flag('argon2-concurrency', 0)) });
  return openServices(config, { database });
}


type User = { email: string; secret: string };

async function setup(accounts: number): Promise<{ token: string; ids: string[]; users: User[] }> {
  if (URL_DB) {
    const c = new pg.Client({ connectionString: URL_DB });
    await c.connect();
    await c.query(`drop schema if exists ${SCHEMA} cascade`);
    await c.end();
  }
  rmSync(OUT, { recursive: true, force: true }); // embedded database, key file and checkpoint copies of the last run
  mkdirSync(OUT, { recursive: true });
  const svc = await services();
  await createTenant(svc.database.db, svc.keyring, 'bench', 'Bench lab');
  await addSite(svc.database.db, 'bench', 'vannes', 'Vannes');
  await seedTenant(svc, 'bench', { patients: 2000, seed: 2026, ordersPerPatient: 0, batchSize: 1000 }, { line: () => {}, progress: () => {} });
  const ids = (await svc.database.db.selectFrom('resources').select('id').where('tenant_id', '=', 'bench').where('resource_type', '=', 'Patient').limit(2000).execute()).map((r) => r.id);
  const token = (await createApiToken(svc.database.db, 'bench', 'service', 'bench')).token;
  const users: User[] = [];
  const one = async (i: number) => {
    const email = `staff${i}@bench.example`;
    const a = await svc.auth.createAccount('bench', { kind: 'staff', email, role: 'reader', siteIds: ['vannes'] }, { kind: 'system', id: 'bench', role: 'system' });
    const { enrolTicket } = await svc.auth.acceptInvitation(a.invitation, PASSWORD);
    const { secret } = await svc.auth.startTotpEnrolment(enrolTicket);
    // The previous step's code, so that this step's code is still free for a login (retried once across a step boundary).
    await svc.auth.confirmTotpEnrolment(enrolTicket, totpNow(secret, Math.floor(Date.now() / 1000) - 30))
      .catch(() => svc.auth.confirmTotpEnrolment(enrolTicket, totpNow(secret, Math.floor(Date.now() / 1000) - 30)));
    users[i] = { email, secret };
  };
  for (let i = 0; i < accounts; i += 4) await Promise.all([0, 1, 2, 3].filter((k) => i + k < accounts).map((k) => one(i + k)));
  await svc.close();
  return { token, ids, users };
}

async function startServer(): Promise<ChildProcess> {
  const child = fork(new URL(import.meta.url).pathname, ['--serve', ...args], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  await new Promise<void>((res, rej) => { child.once('message', () => res()); child.once('exit', (c) => rej(new Error(`server exited ${c}`))); });
  return child;
}

const base = `http://127.0.0.1:${PORT}`;
const postJson = (path: string, body: object, ip?: string) => fetch(base + path, {
  method: 'POST', headers: { 'content-type': 'application/json', ...(ip ? { 'x-forwarded-for': ip } : {}) }, body: JSON.stringify(body),
});
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN; };

/** Asks the server: CPU time (all threads: event loop and argon2 worker threads) in ms, event-loop delay since the last ask. */
function serverStats(server: ChildProcess): Promise<{ cpuMs: number; loopP50: number; loopP99: number; loopMax: number }> {
  return new Promise((res) => { server.once('message', (m: any) => res(m)); server.send('stats'); });
}

type Klass = 'login' | 'wrong-password' | 'unknown-email';
interface Tally { statuses: Record<Klass, Record<number, number>>; lat: Record<Klass, number[]> }
const tally = (): Tally => ({ statuses: { 'login': {}, 'wrong-password': {}, 'unknown-email': {} }, lat: { 'login': [], 'wrong-password': [], 'unknown-email': [] } });

/**
 * Fires `rate` login attempts per second for `seconds`, 2 in 5 full logins (each account of `pool` once,
 * TOTP included), 2 in 5 wrong passwords (each account at most once: below the lockout threshold), 1 in
 * 5 unknown e-mails; each from the next client address. Answers the attempts made.
 */
async function attack(pool: User[], cursor: { login: number; wrong: number; n: number }, rate: number, seconds: number, t: Tally): Promise<number> {
  let tried = 0;
  const pending: Promise<void>[] = [];
  const end = Date.now() + seconds * 1000;
  const one = async (i: number) => {
    const ip = ONE_ADDRESS ? '198.51.100.1' : address(i);
    const k: Klass = i % 5 < 2 ? 'login' : i % 5 < 4 ? 'wrong-password' : 'unknown-email';
    const t0 = performance.now();
    let status: number;
    if (k === 'login') {
      const u = pool[cursor.login++ % pool.length];
      const l = await postJson('/auth/login', { tenant: 'bench', email: u.email, password: PASSWORD }, ip);
      const body = await l.json() as { mfa_ticket?: string };
      status = l.status;
      if (l.status === 200) {
        const m = await postJson('/auth/login/mfa', { ticket: body.mfa_ticket, code: totpNow(u.secret, Math.floor(Date.now() / 1000)), mode: 'token' }, ip);
        await m.arrayBuffer();
        status = m.status;
      }
    } else {
      const email = k === 'wrong-password' ? pool[cursor.wrong++ % pool.length].email : `nobody${i}@bench.example`;
      const r = await postJson('/auth/login', { tenant: 'bench', email, password: `wrong password ${i}` }, ip);
      await r.arrayBuffer();
      status = r.status;
    }
    t.statuses[k][status] = (t.statuses[k][status] ?? 0) + 1;
    t.lat[k].push(performance.now() - t0);
  };
  const start = Date.now();
  while (Date.now() < end) {
    // Catch up with the schedule (a late timer on a busy client does not lower the rate).
    const due = Math.min(Math.floor(((Date.now() - start) / 1000) * rate) + 1, rate * seconds);
    while (tried < due) { tried++; pending.push(one(cursor.n++).catch(() => {})); }
    await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(pending);
  return tried;
}

function report(t: Tally): string {
  return (Object.keys(t.statuses) as Klass[]).map((k) => `${k} ${JSON.stringify(t.statuses[k])} p50 ${pct(t.lat[k], 50).toFixed(0)} ms`).join('; ');
}

async function reads(token: string, ids: string[], seconds: number): Promise<number> {
  let i = 0;
  const r = await autocannon({
    url: base, connections: 10, duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req: any) => ({ ...req, path: `/fhir/Patient/${ids[i++ % ids.length]}`, headers: { authorization: `Bearer ${token}` } }) }],
  });
  if (r.non2xx) console.log(`  (non-2xx reads: ${r.non2xx})`);
  return r.requests.average;
}

async function main() {
  const ACCOUNTS = flag('accounts', 40);
  const SECONDS = flag('seconds', 10);
  const RATE = flag('rate', 50);
  const SOLO = Math.min(SECONDS, 5);
  // Accounts of the attack: one full login each, so 2/5 of the attempts of both attack phases (+10%).
  const POOL = Math.ceil(RATE * (SOLO + SECONDS) * 0.4 * 1.1);
  console.log(`bench:login on ${URL_DB ? 'PostgreSQL' : 'PGlite'}, ${os.cpus().length} cores, production limits, argon2 concurrency ${flag('argon2-concurrency', 0) || `${os.availableParallelism() - 1 || 1} (cores - 1)`}, ${ONE_ADDRESS ? 'one client address' : 'client addresses from X-Forwarded-For (trusted proxy 127.0.0.1)'}; setting up ${ACCOUNTS} + ${POOL} staff accounts…`);
  const { token, ids, users } = await setup(ACCOUNTS + POOL);
  const seq = users.slice(0, ACCOUNTS);
  const pool = users.slice(ACCOUNTS);
  const server = await startServer();
  try {
    // Warm up (code paths, keys, the breached list is not involved in login).
    await postJson('/auth/login', { tenant: 'bench', email: 'warm@bench.example', password: 'x'.repeat(12) }, '192.0.2.255');
    const lat: number[] = [];
    const now = Math.floor(Date.now() / 1000);
    const c0 = await serverStats(server);
    for (const [j, u] of seq.entries()) {
      const ip = `10.0.0.${j % 256}`;
      // Paced at 10 logins/s, under the server's login budget (CERBERE_LOGIN_CHECKS_PER_SECOND): this measures latency.
      if (lat.length) await new Promise((r) => setTimeout(r, Math.max(0, 100 - lat[lat.length - 1])));
      const t0 = performance.now();
      const l = await postJson('/auth/login', { tenant: 'bench', email: u.email, password: PASSWORD }, ip);
      const { mfa_ticket } = await l.json() as { mfa_ticket: string };
      const m = await postJson('/auth/login/mfa', { ticket: mfa_ticket, code: totpNow(u.secret, now), mode: 'token' }, ip);
      if (m.status !== 200) throw new Error(`login failed: ${m.status}`);
      await m.json();
      lat.push(performance.now() - t0);
    }
    const c1 = await serverStats(server);
    console.log(`login password + TOTP (${lat.length} logins, sequential): p50 ${pct(lat, 50).toFixed(1)} ms, p95 ${pct(lat, 95).toFixed(1)} ms, server CPU ${((c1.cpuMs - c0.cpuMs) / lat.length).toFixed(1)} ms per login`);

    await serverStats(server);
    const alone = await reads(token, ids, SECONDS);
    const a1 = await serverStats(server);
    console.log(`Patient reads alone: ${alone.toFixed(0)} req/s (event-loop delay p99 ${a1.loopP99.toFixed(1)} ms, max ${a1.loopMax.toFixed(1)} ms)`);
    const cursor = { login: 0, wrong: 0, n: 0 };
    // CPU cost of one attempt on the server (all threads), attempts alone.
    const s0 = await serverStats(server);
    const solo = tally();
    const soloN = await attack(pool, cursor, RATE, SOLO, solo);
    const s1 = await serverStats(server);
    const cpuPer = (s1.cpuMs - s0.cpuMs) / soloN;
    console.log(`login attempts alone: ${soloN} at ${RATE}/s, server CPU ${cpuPer.toFixed(1)} ms per attempt (${((cpuPer * RATE) / (os.cpus().length * 10)).toFixed(0)}% of the machine), event-loop delay p99 ${s1.loopP99.toFixed(1)} ms, max ${s1.loopMax.toFixed(1)} ms`);
    console.log(`  answers: ${report(solo)}`);
    const during = tally();
    const [rate, tried] = await Promise.all([reads(token, ids, SECONDS), attack(pool, cursor, RATE, SECONDS, during)]);
    const d1 = await serverStats(server);
    console.log(`Patient reads while ${RATE} logins/s are tried: ${rate.toFixed(0)} req/s = ${((rate / alone) * 100).toFixed(0)}% (target ≥ 80%); ${tried} attempts, event-loop delay p99 ${d1.loopP99.toFixed(1)} ms, max ${d1.loopMax.toFixed(1)} ms`);
    console.log(`  answers: ${report(during)}`);
  } finally {
    server.send('stop');
    await new Promise((r) => server.once('exit', r));
  }
}

if (args.includes('--serve')) {
  const svc = await services();
  const app = await buildApp(svc, { logLevel: false });
  svc.log.start();
  await app.listen({ port: PORT, host: '127.0.0.1' });
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  process.send?.({ ready: true });
  process.on('message', async (m) => {
    if (m === 'stop') { await app.close(); await svc.close(); process.exit(0); }
    if (m === 'stats') {
      const c = process.cpuUsage();
      process.send?.({ cpuMs: (c.user + c.system) / 1000, loopP50: loop.percentile(50) / 1e6, loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6 });
      loop.reset();
    }
  });
} else {
  await main();
}
