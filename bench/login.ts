// `npm run bench:login [-- --accounts N --seconds S --rate R]`
// 1. Login with password + TOTP over HTTP (POST /auth/login then /auth/login/mfa, argon2id included):
//    p50/p95 over N staff accounts, one login each (a TOTP code is accepted once per account).
// 2. Patient reads per second (autocannon, API token) alone, then while R login attempts per second
//    are tried (unknown e-mails and wrong passwords) from one address with the production limits,
//    or with --worst with the limits raised so that every attempt costs a full argon2id verification.
// The server runs in a child process (PGlite in bench/out/login, or schema cerbere_bench_login on
// DATABASE_URL), as in production.
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import os from 'node:os';
import autocannon from 'autocannon';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/store/db.ts';
import { openServices, type Services } from '../src/services.ts';
import { buildApp } from '../src/server/app.ts';
import { createTenant, addSite } from '../src/store/tenants.ts';
import { createApiToken } from '../src/auth/api-tokens.ts';
import { seedTenant } from '../src/seed/seed.ts';
import { totpNow } from '../src/auth/totp.ts';

const OUT = resolve('bench/out/login');
const URL_DB = process.env.DATABASE_URL || null;
const SCHEMA = 'cerbere_bench_login';
const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const PORT = 18_431;
const PASSWORD = 'Banc d\'essai de connexion 2026';
// --worst: per-IP and per-account limits raised so that every attempt costs a full argon2id
// verification (an attack spread over many addresses); default: production limits (one address).
const WORST = args.includes('--worst');

async function services(): Promise<Services> {
  const database = await openDatabase({ databaseUrl: URL_DB, dataDir: OUT, schema: URL_DB ? SCHEMA : undefined, poolSize: 10 });
  const config = loadConfig({ CERBERE_DATA_DIR: OUT, CERBERE_KEY_FILE: join(OUT, 'bench.key'), CERBERE_DEMO: 'false', LOG_LEVEL: 'warn',
    CERBERE_PUBLIC_URL: `http://127.0.0.1:${PORT}`, ...(WORST ? { CERBERE_IP_FAILURES: '100000', CERBERE_LOCKOUT_FAILURES: '100' } : {}) });
  return openServices(config, { database });
}


async function setup(accounts: number): Promise<{ token: string; ids: string[]; users: { email: string; secret: string }[] }> {
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
  const users = [];
  for (let i = 0; i < accounts; i++) {
    const email = `staff${i}@bench.example`;
    const a = await svc.auth.createAccount('bench', { kind: 'staff', email, role: 'reader', siteIds: ['vannes'] }, { kind: 'system', id: 'bench', role: 'system' });
    const { enrolTicket } = await svc.auth.acceptInvitation(a.invitation, PASSWORD);
    const { secret } = await svc.auth.startTotpEnrolment(enrolTicket);
    await svc.auth.confirmTotpEnrolment(enrolTicket, totpNow(secret, Math.floor(Date.now() / 1000) - 30));
    users.push({ email, secret });
  }
  await svc.close();
  return { token, ids, users };
}

async function startServer(): Promise<ChildProcess> {
  const child = fork(new URL(import.meta.url).pathname, ['--serve'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  await new Promise<void>((res, rej) => { child.once('message', () => res()); child.once('exit', (c) => rej(new Error(`server exited ${c}`))); });
  return child;
}

const base = `http://127.0.0.1:${PORT}`;
const postJson = (path: string, body: object) => fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };

/** Server CPU time (all threads: event loop and argon2 worker threads), in ms. */
function serverCpu(server: ChildProcess): Promise<number> {
  return new Promise((res) => { server.once('message', (m: any) => res(m.cpuMs)); server.send('cpu'); });
}

/** Fires `rate` failed logins per second for `seconds`; answers attempts made and their answers. */
async function attack(users: { email: string }[], rate: number, seconds: number, lat: number[], statuses: Record<number, number>, offset: number): Promise<number> {
  let tried = 0;
  const pending: Promise<void>[] = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    for (let k = 0; k < rate / 10; k++) {
      const i = offset + tried++;
      const t0 = performance.now();
      pending.push(postJson('/auth/login', { tenant: 'bench', email: i % 2 ? `nobody${i}@bench.example` : users[i % users.length].email, password: `wrong password ${i}` })
        .then(async (r) => { await r.arrayBuffer(); statuses[r.status] = (statuses[r.status] ?? 0) + 1; lat.push(performance.now() - t0); }, () => {}));
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await Promise.all(pending);
  return tried;
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
  const ACCOUNTS = flag('accounts', 60);
  const SECONDS = flag('seconds', 10);
  const RATE = flag('rate', 50);
  console.log(`bench:login on ${URL_DB ? 'PostgreSQL' : 'PGlite'}, ${os.cpus().length} cores, ${WORST ? 'worst case (limits raised)' : 'production limits'}; setting up ${ACCOUNTS} staff accounts…`);
  const { token, ids, users } = await setup(ACCOUNTS);
  const server = await startServer();
  try {
    // Warm up (code paths, keys, the breached list is not involved in login).
    await postJson('/auth/login', { tenant: 'bench', email: 'warm@bench.example', password: 'x'.repeat(12) });
    const lat: number[] = [];
    const now = Math.floor(Date.now() / 1000);
    const c0 = await serverCpu(server);
    for (const u of users) {
      const t0 = performance.now();
      const l = await postJson('/auth/login', { tenant: 'bench', email: u.email, password: PASSWORD });
      const { mfa_ticket } = await l.json() as { mfa_ticket: string };
      const m = await postJson('/auth/login/mfa', { ticket: mfa_ticket, code: totpNow(u.secret, now), mode: 'token' });
      if (m.status !== 200) throw new Error(`login failed: ${m.status}`);
      await m.json();
      lat.push(performance.now() - t0);
    }
    const loginCpu = ((await serverCpu(server)) - c0) / lat.length;
    console.log(`login password + TOTP (${lat.length} logins, sequential): p50 ${pct(lat, 50).toFixed(1)} ms, p95 ${pct(lat, 95).toFixed(1)} ms, server CPU ${loginCpu.toFixed(1)} ms per login`);

    const alone = await reads(token, ids, SECONDS);
    console.log(`Patient reads alone: ${alone.toFixed(0)} req/s`);
    // CPU cost of one failed login attempt on the server (all threads), attempts alone.
    const cpu0 = await serverCpu(server);
    const soloLat: number[] = [];
    const soloStatus: Record<number, number> = {};
    const solo = await attack(users, RATE, Math.min(SECONDS, 5), soloLat, soloStatus, 0);
    const cpuPer = ((await serverCpu(server)) - cpu0) / solo;
    console.log(`failed login attempts alone: ${solo} at ${RATE}/s, answers ${JSON.stringify(soloStatus)}, server CPU ${cpuPer.toFixed(1)} ms per attempt (${((cpuPer * RATE) / (os.cpus().length * 10)).toFixed(0)}% of the machine at ${RATE}/s), p50 ${pct(soloLat, 50).toFixed(1)} ms`);
    const attemptLat: number[] = [];
    const statuses: Record<number, number> = {};
    const [during, tried] = await Promise.all([reads(token, ids, SECONDS), attack(users, RATE, SECONDS, attemptLat, statuses, 1_000_000)]);
    console.log(`Patient reads while ${RATE} logins/s are tried: ${during.toFixed(0)} req/s = ${((during / alone) * 100).toFixed(0)}% (target ≥ 80%); ${tried} attempts, answers ${JSON.stringify(statuses)}, attempt p50 ${pct(attemptLat, 50).toFixed(1)} ms`);
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
  process.send?.({ ready: true });
  process.on('message', async (m) => {
    if (m === 'stop') { await app.close(); await svc.close(); process.exit(0); }
    if (m === 'cpu') { const c = process.cpuUsage(); process.send?.({ cpuMs: (c.user + c.system) / 1000 }); }
  });
} else {
  await main();
}
