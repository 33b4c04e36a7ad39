// `npm run bench:attack -- [URL]`: the issue-18 trial against a running server (default http://localhost:8080,
// tenant demo): a new `service` token, a new `reader` token and a staff session (receptionist, TOTP) each try
// to take every patient of the tenant — searches paged through, then reads by id — and a slow scraper reads
// one patient per second. For each: patients obtained before the cut-off, whether and when an alert naming
// the credential appeared (seen by a DPO token through /watch/alerts), and the answer that stopped it.
// Uses the CLI through the server's admin socket, and HTTP only; loopback only. Bounded in time.
import { spawnSync } from 'node:child_process';
import { totpNow } from '../src/auth/totp.ts';

const BASE = (process.argv.slice(2).find((a) => a.startsWith('http')) ?? 'http://localhost:8080').replace(/\/$/, '');
if (!/^http:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(BASE)) { console.error('bench:attack: loopback URLs only'); process.exit(2); }
const TENANT = 'demo';
const SLOW_SECONDS = Number(process.env.ATTACK_SLOW_SECONDS ?? 120);

function cli(...args: string[]): string[] {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cerbere ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout.trim().split('\n');
}
const newToken = (role: string, label: string) => cli('token', 'create', '--tenant', TENANT, '--role', role, '--label', label).at(-1)!;
const idOf = (token: string) => token.split('_')[2];

async function http(path: string, auth: string, init: { method?: string; body?: unknown } = {}) {
  const r = await fetch(BASE + path, { method: init.method ?? 'GET', headers: { authorization: `Bearer ${auth}`, ...(init.body ? { 'content-type': 'application/json' } : {}) }, body: init.body ? JSON.stringify(init.body) : undefined });
  const text = await r.text();
  let json: any = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, json };
}
const post = (path: string, body: unknown) => fetch(BASE + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: (await r.json().catch(() => null)) as any }));

/** A receptionist account through the invitation, TOTP enrolment and login: its bearer access token. */
async function staffSession(): Promise<{ token: string; accountId: string }> {
  const email = `accueil.${Date.now()}@example.fr`;
  const out = cli('user', 'create', '--tenant', TENANT, '--email', email, '--role', 'receptionist');
  const accountId = /account (\S+) created/.exec(out.join('\n'))![1];
  const acc = await post('/auth/invitation/accept', { token: out.at(-1), password: 'Marée-haute à Vannes 1987' });
  const en = await post('/auth/mfa/totp/enrol', { ticket: acc.json.enrol_ticket });
  await post('/auth/mfa/totp/confirm', { ticket: acc.json.enrol_ticket, code: totpNow(en.json.secret) });
  await new Promise((r) => setTimeout(r, 31_000)); // a TOTP code is accepted once: wait for the next step
  const l = await post('/auth/login', { tenant: TENANT, email, password: 'Marée-haute à Vannes 1987' });
  const m = await post('/auth/login/mfa', { ticket: l.json.mfa_ticket, code: totpNow(en.json.secret), mode: 'token' });
  if (!m.json?.access_token) throw new Error(`staff login failed: ${JSON.stringify(m.json)}`);
  return { token: m.json.access_token, accountId };
}

interface Outcome { who: string; patients: number; stoppedBy: string; firstAccess: number; alertAfter: number | null; alertKinds: string }

/** Searches paged through, then reads by id of every id seen, until refused. */
async function extract(who: string, auth: string, actorId: string, dpo: string, delayMs = 0, maxSeconds = 300): Promise<Outcome> {
  const got = new Set<string>();
  const ids: string[] = [];
  const t0 = Date.now();
  let stoppedBy = 'nothing (end of data)';
  const watcher = watchFor(actorId, dpo, t0, maxSeconds + 90);
  // Searches paged through by their `next` links, as a FHIR client does.
  for (let path: string | null = '/fhir/Patient?_count=100'; path && !delayMs && Date.now() - t0 < maxSeconds * 1000;) {
    const r = await http(path, auth);
    if (r.status !== 200) { stoppedBy = `search ${r.status} ${r.json?.issue?.[0]?.diagnostics ?? ''}`; break; }
    for (const e of r.json.entry ?? []) { got.add(e.resource.id); ids.push(e.resource.id); }
    const next = (r.json.link ?? []).find((l: any) => l.relation === 'next')?.url;
    path = next ? new URL(next).pathname + new URL(next).search : null;
  }
  for (const id of delayMs ? await idsFromLog(dpo) : ids) {
    if (Date.now() - t0 > maxSeconds * 1000) { stoppedBy = stoppedBy.startsWith('search') ? stoppedBy : `time limit (${maxSeconds} s)`; break; }
    const r = await http(`/fhir/Patient/${id}`, auth);
    if (r.status !== 200) { stoppedBy = `read ${r.status} ${r.json?.issue?.[0]?.diagnostics ?? ''}`; break; }
    got.add(id);
    if (delayMs) await new Promise((res) => setTimeout(res, delayMs));
  }
  const alert = await watcher;
  return { who, patients: got.size, stoppedBy: stoppedBy.slice(0, 90), firstAccess: t0, alertAfter: alert ? (alert.at - t0) / 1000 : null, alertKinds: alert?.kinds ?? '' };
}

/** Ids a slow scraper "knows" (guessed or leaked): taken here from a search by the DPO-less service path. */
let knownIds: string[] = [];
async function idsFromLog(_dpo: string): Promise<string[]> { return knownIds; }

/** Polls /watch/alerts until one names the actor; resolves with when it was first seen. */
async function watchFor(actorId: string, dpo: string, t0: number, seconds: number): Promise<{ at: number; kinds: string } | null> {
  while (Date.now() - t0 < seconds * 1000) {
    const r = await http('/watch/alerts?state=all', dpo);
    const mine = (r.json?.alerts ?? []).filter((a: any) => a.actor?.id === actorId || a.tokenId === actorId);
    if (mine.length) return { at: Date.now(), kinds: [...new Set(mine.map((a: any) => `${a.kind}/${a.severity}`))].join(' ') };
    await new Promise((res) => setTimeout(res, 1000));
  }
  return null;
}

const dpo = newToken('dpo', 'DPO (attack trial)');
const seeder = newToken('service', 'id collector (attack trial)');
cli('budget', 'set', '--tenant', TENANT, '--token', idOf(seeder), '--limit', '5000', '--reason', 'attack trial: collects the ids a slow scraper would know');
for (let off = 0; knownIds.length < 400; off += 100) {
  const r = await http(`/fhir/Patient?_count=100&_offset=${off}`, seeder);
  if (r.status !== 200 || !r.json.entry?.length) break;
  knownIds.push(...r.json.entry.map((e: any) => e.resource.id));
}
knownIds = knownIds.reverse();
const results: Outcome[] = [];
const service = newToken('service', 'stolen service token (attack trial)');
results.push(await extract('service token, fast', service, idOf(service), dpo));
const reader = newToken('reader', 'stolen reader token (attack trial)');
results.push(await extract('reader token, fast', reader, idOf(reader), dpo));
const staff = await staffSession();
results.push(await extract('staff session (receptionist), fast', staff.token, staff.accountId, dpo));
const slow = newToken('reader', 'slow scraper (attack trial)');
results.push(await extract('reader token, 1 patient/s', slow, idOf(slow), dpo, 1000, SLOW_SECONDS));
console.log(`attack trial on ${BASE} (tenant ${TENANT}), ${new Date().toISOString()}`);
console.log('credential                              patients  alert after  alert kinds                      stopped by');
for (const r of results) {
  console.log(`${r.who.padEnd(40)}${String(r.patients).padStart(8)}  ${(r.alertAfter === null ? 'none' : `${r.alertAfter.toFixed(1)} s`).padStart(11)}  ${r.alertKinds.padEnd(32)} ${r.stoppedBy}`);
}
const worst = Math.max(...results.map((r) => r.patients));
console.log(`most patients obtained by one credential: ${worst} (target ≤ 200); alerts: ${results.filter((r) => r.alertAfter !== null).length}/${results.length}`);
process.exit(worst <= 200 && results.every((r) => r.alertAfter !== null) ? 0 : 1);
