// `npm run eval:detection [-- --seed N --days D --sites S --patients P --attacks K --open-before-booking F --big --json --debug --write DIR]`
// The rerunnable evaluation of the Watch detectors: a seeded synthetic world and workload (legit
// work plus labelled attacks), fed in time order through an AccessSink (in memory: the release
// budget, then committed events with positions) into the Engine, ticked every 5 s of simulated
// time. It prints the share of legitimate accesses explained (by the actor's own work, care, own
// record or break-glass, at the access or by the booking that follows a lookup within 5 minutes; the
// role's scope never explains), recall per scenario and overall,
// false alerts per 10,000 legitimate sessions, patients exposed before cut-off, time to alert,
// and checks them against the targets. `--write DIR` saves world.json, attempts.jsonl and
// answers.json (the labels) so the same workload can be replayed against the real server.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AlertCandidate } from '../../src/core/watch-types.ts';
import { Engine, type Outcome } from '../../src/detect/engine.ts';
import { explainsPair } from '../../src/detect/explanation.ts';
import { OPEN_ACTIONS, justifies, releases, type ActorRef } from '../../src/detect/types.ts';
import { SCENARIOS, attacks } from './attacks.ts';
import { legitWorkload } from './legit.ts';
import { InMemorySink, type AccessAttempt } from './sink.ts';
import { DAY, T0, World, rng } from './world.ts';

const args = process.argv.slice(2);
const has = (f: string) => args.includes(`--${f}`);
const big = has('big');
const num = (f: string, small: number, large: number) => { const i = args.indexOf(`--${f}`); return i >= 0 ? Number(args[i + 1]) : big ? large : small; };
const str = (f: string) => { const i = args.indexOf(`--${f}`); return i >= 0 ? args[i + 1] : null; };
const opts = {
  seed: num('seed', 42, 42), days: num('days', 7, 14), sites: num('sites', 6, 12), patients: num('patients', 6000, 20000),
  physicians: num('physicians', 40, 150), attacks: num('attacks', 5, 8), openBeforeBooking: num('open-before-booking', 0, 0),
};
const started = Date.now();
const world = new World({ seed: opts.seed, sites: opts.sites, patients: opts.patients, physicians: opts.physicians });
const r = rng(opts.seed * 31 + 7);
const attempts: AccessAttempt[] = [...legitWorkload(world, r, opts.days, { openBeforeBooking: opts.openBeforeBooking }), ...attacks(world, r, opts.days, opts.attacks)]
  .filter((a) => a.at >= T0 && a.at < T0 + opts.days * DAY)
  .sort((a, b) => a.at - b.at);

const dir = str('write');
if (dir) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'world.json'), JSON.stringify({ options: opts, sites: world.sites, staff: world.staff, tokens: world.tokens, patients: world.patients, links: [...world.links] }));
  writeFileSync(join(dir, 'attempts.jsonl'), attempts.map((a) => JSON.stringify(a)).join('\n') + '\n');
}

const engine = new Engine({ care: world, isCanary: (t, p) => world.isCanary(t, p), affinity: world });
const sink = new InMemorySink(world);
const TICK = 5_000;
const meta: { label: string; instance: string | null }[] = [];
const alerts: { c: AlertCandidate; detectedAt: number }[] = [];
const merged: { c: AlertCandidate; detectedAt: number }[] = [];
const cut = new Set<string>();
// An instance's time to alert counts from its first access that lacks an explanation: a record opened
// on purpose with no explanation for that (actor, patient) pair (a relative, a coworker or a VIP in
// care at the actor's site is explained for a coworker or VIP by the site's care link), a write, a
// break-glass, an export, a refused or failed attempt; from its first attempt if it has none (a
// search row is what every lookup shows), or if it is alerted before that access.
const inst = new Map<string, { scenario: string; first: number; start: number | null; attempts: number; released: Set<string>; unexplained: Set<string>; refused: boolean }>();
const sessions = new Set<string>();
let legitPatientAccesses = 0, legitExplained = 0, legitJustified = 0, legitAtAccess = 0, legitRefused = 0, events = 0;
/** Legit accesses unexplained when made, asked again 5 minutes later (the booking a lookup is for). */
const FOLLOW_MS = 5 * 60_000;
const followUps: { due: number; actor: ActorRef; patientId: string }[] = [];
let nextTick = T0 + TICK;
const record = (o: Outcome, t: number) => { for (const c of o.raised) alerts.push({ c, detectedAt: t }); for (const c of o.merged) merged.push({ c, detectedAt: t }); };
const tickTo = (t: number) => {
  world.now = t;
  while (followUps.length && followUps[0].due <= t) { const f = followUps.shift()!; if (justifies(world.explain('', f.actor, f.patientId))) legitJustified++; }
  record(engine.tickAll(new Date(t)), t);
};
const starts = (a: AccessAttempt, e: { outcome: string; patientIds: string[] }) => e.outcome !== 'success' || ['create', 'update', 'delete', 'break-glass', 'export.request'].includes(a.action)
  || (OPEN_ACTIONS.has(a.action) && e.patientIds.some((p) => !explainsPair(world.explain('', a.actor, p), world.affinity('', a.actor, p))));

for (const a of attempts) {
  if (a.instance && cut.has(a.instance)) continue; // the attacker was cut off
  while (nextTick <= a.at) { tickTo(nextTick); nextTick += TICK; }
  const { event, refused } = sink.submit(a);
  events++;
  meta[event.position] = { label: a.label, instance: a.instance };
  if (a.session) sessions.add(a.session);
  if (a.instance) {
    const s = inst.get(a.instance) ?? { scenario: a.label, first: a.at, start: null, attempts: 0, released: new Set(), unexplained: new Set(), refused: false };
    inst.set(a.instance, s);
    if (s.start === null && starts(a, event)) s.start = a.at;
    s.attempts++;
    if (refused) { s.refused = true; cut.add(a.instance); }
    if (releases(event)) for (const p of event.patientIds) { s.released.add(p); if (!justifies(world.explain(event.tenantId, event.actor, p))) s.unexplained.add(p); }
  } else {
    if (refused) legitRefused++;
    if (releases(event)) {
      for (const p of event.patientIds) {
        legitPatientAccesses++;
        const x = world.explain(event.tenantId, event.actor, p);
        if (x) legitExplained++;
        if (justifies(x)) { legitJustified++; legitAtAccess++; } else followUps.push({ due: a.at + FOLLOW_MS, actor: event.actor, patientId: p });
      }
    }
  }
  record(engine.observeAll(event), a.at);
}
for (const end = T0 + opts.days * DAY + 10 * 60_000; nextTick <= end; nextTick += TICK) tickTo(nextTick);

// Attribution: an alert is true when its evidence holds an event of an attack instance. An attack
// whose evidence was merged into an alert already open on the same key counts as detected then
// (the open alert grows: the DPO sees it), but a merge never counts as a new alert.
const detected = new Map<string, number>();
const falseAlerts: AlertCandidate[] = [];
for (const { c, detectedAt } of [...alerts, ...merged]) {
  const hit = new Set(c.evidence.map((p) => meta[p]?.instance).filter((x): x is string => !!x));
  for (const i of hit) if (!detected.has(i) || detected.get(i)! > detectedAt) detected.set(i, detectedAt);
}
for (const { c } of alerts) if (!c.evidence.some((p) => meta[p]?.instance)) falseAlerts.push(c);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN; };
const perScenario = SCENARIOS.map((sc) => {
  const xs = [...inst.entries()].filter(([, s]) => s.scenario === sc);
  const hits = xs.filter(([i]) => detected.has(i));
  const tta = hits.map(([i, s]) => (detected.get(i)! - (s.start !== null && detected.get(i)! >= s.start ? s.start : s.first)) / 1000);
  const ttaFirst = hits.map(([i, s]) => (detected.get(i)! - s.first) / 1000);
  return {
    scenario: sc, instances: xs.length, detected: hits.length, recall: xs.length ? hits.length / xs.length : NaN,
    exposedMax: Math.max(0, ...xs.map(([, s]) => s.released.size)), unexplainedMax: Math.max(0, ...xs.map(([, s]) => s.unexplained.size)),
    cutOff: xs.filter(([, s]) => s.refused).length, ttaMedian: median(tta), ttaMax: tta.length ? Math.max(...tta) : NaN,
    ttaMaxFromFirstAttempt: ttaFirst.length ? Math.max(...ttaFirst) : NaN,
  };
});
const totalInst = perScenario.reduce((a, s) => a + s.instances, 0);
const totalHit = perScenario.reduce((a, s) => a + s.detected, 0);
const fastKinds = new Set(['canary-touch']);
const result = {
  options: opts, events, attempts: attempts.length, legitSessions: sessions.size, legitPatientAccesses,
  legitJustifiedShare: legitJustified / legitPatientAccesses, legitJustifiedAtAccessShare: legitAtAccess / legitPatientAccesses,
  legitExplainedWithScopeShare: legitExplained / legitPatientAccesses, legitRefused,
  overallRecall: totalHit / totalInst, falseAlerts: falseAlerts.length, falseAlertsPer10k: (falseAlerts.length / sessions.size) * 10_000,
  alerts: alerts.length, perScenario,
  falseAlertSamples: falseAlerts.slice(0, 20).map((c) => ({ kind: c.kind, severity: c.severity, summary: c.summary })),
  seconds: (Date.now() - started) / 1000,
};
const exposedWorst = Math.max(...perScenario.map((s) => s.unexplainedMax));
const targets = [
  ['legit accesses explained (without scope) ≥ 97 %', result.legitJustifiedShare >= 0.97],
  ['overall recall ≥ 95 %', result.overallRecall >= 0.95],
  ['every scenario recall > 80 %', perScenario.every((s) => !(s.recall <= 0.8))],
  ['false alerts ≤ 1 per 10,000 legit sessions', result.falseAlertsPer10k <= 1],
  ['unexplained patients exposed by any credential ≤ 200', exposedWorst <= 200],
  ['time to alert ≤ 10 s (canary, budget), ≤ 60 s (others), max', perScenario.every((s) => isNaN(s.ttaMax) || s.ttaMax <= (fastKinds.has(s.scenario) ? 10 : 60))],
] as const;

if (dir) writeFileSync(join(dir, 'answers.json'), JSON.stringify({ options: opts, instances: [...inst.entries()].map(([id, s]) => ({ id, scenario: s.scenario, firstAt: new Date(s.first).toISOString(), attempts: s.attempts })), result }, null, 1));
if (has('json')) {
  console.log(JSON.stringify({ ...result, targets: targets.map(([name, ok]) => ({ name, ok })) }, null, 1));
} else {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  console.log(`detection evaluation: seed ${opts.seed}, ${opts.days} days, ${opts.sites} sites, ${opts.patients} patients, ${attempts.length} attempts, ${events} events, ${result.legitSessions} legit sessions (${result.seconds.toFixed(1)} s)`);
  console.log(`legit patient accesses explained by own work, care, own record or break-glass: ${pct(result.legitJustifiedShare)} (at the access: ${pct(result.legitJustifiedAtAccessShare)}; counting the role's scope: ${pct(result.legitExplainedWithScopeShare)}); legit requests refused by the budget: ${legitRefused}`);
  console.log(`alerts: ${alerts.length}; false: ${falseAlerts.length} = ${result.falseAlertsPer10k.toFixed(2)} per 10,000 legit sessions`);
  console.log(`overall recall: ${pct(result.overallRecall)} (${totalHit}/${totalInst})`);
  console.log('scenario                   recall        exposed (unexplained)  cut-off  time to alert s after the first unexplained access (median / max; max after the first attempt)');
  for (const s of perScenario) {
    console.log(`${s.scenario.padEnd(26)} ${`${s.detected}/${s.instances}`.padStart(5)} ${pct(s.recall).padStart(8)}   ${String(s.exposedMax).padStart(6)} (${String(s.unexplainedMax).padStart(4)})        ${String(s.cutOff).padStart(3)}      ${isNaN(s.ttaMedian) ? '-' : s.ttaMedian.toFixed(0)} / ${isNaN(s.ttaMax) ? '-' : s.ttaMax.toFixed(0)}; ${isNaN(s.ttaMaxFromFirstAttempt) ? '-' : s.ttaMaxFromFirstAttempt.toFixed(0)}`);
  }
  for (const f of result.falseAlertSamples) console.log(`  false: [${f.kind}/${f.severity}] ${f.summary}`);
  if (has('debug')) for (const [i, s] of inst) if (!detected.has(i)) console.log(`  missed: ${i} attempts=${s.attempts} released=${s.released.size} refused=${s.refused}`);
  for (const [name, ok] of targets) console.log(`${ok ? 'MET   ' : 'MISSED'} ${name}`);
}
