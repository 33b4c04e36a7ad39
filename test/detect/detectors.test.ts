// Each detector fires on its scenario and stays quiet on ordinary work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExplanationDetector } from '../../src/detect/explanation.ts';
import { VolumeDetector } from '../../src/detect/volume.ts';
import { EnumerationDetector } from '../../src/detect/enumeration.ts';
import { ContextDetector, networkOf } from '../../src/detect/context.ts';
import { AuthenticationDetector } from '../../src/detect/authentication.ts';
import { BreakGlassDetector } from '../../src/detect/break-glass.ts';
import { BudgetDetector, CanaryDetector } from '../../src/detect/tripwire.ts';
import type { AlertCandidate, CareOracle, Detector } from '../../src/detect/types.ts';
import { T, affinity, ev, ids, oracle } from './helpers.ts';

const S = 1000, MIN = 60 * S, HOUR = 60 * MIN, DAY = 24 * HOUR;
const feed = (d: Detector, es: ReturnType<typeof ev>[]) => es.flatMap((e) => d.observe(e));
const kinds = (cs: AlertCandidate[]) => [...new Set(cs.map((c) => `${c.kind}/${c.severity}`))];

test('unexplained: a receptionist opening a household member, then many strangers, is raised; bookings are not', () => {
  const d = new ExplanationDetector(oracle, affinity);
  // Ordinary work: patients in care, 19 unexplained walk-ins in an hour (under the floor of 20).
  const quiet = feed(d, [...ids('care-', 50).map((p, i) => ev(T + i * S, 'read', [p])), ...ids('walk-', 19).map((p, i) => ev(T + i * MIN, 'read', [p]))]);
  assert.deepEqual([...quiet, ...d.tick(new Date(T + HOUR))], []);
  const fam = [...feed(d, [ev(T + 2 * HOUR, 'read', ['fam-1'])]), ...d.tick(new Date(T + 2 * HOUR + 31 * S))];
  assert.deepEqual(kinds(fam), ['unexplained/medium']);
  assert.equal(fam[0].patients, 1);
  const spree = [...feed(d, ids('x', 40).map((p, i) => ev(T + 3 * HOUR + i * 10 * S, 'read', [p]))), ...d.tick(new Date(T + 4 * HOUR))];
  assert.ok(spree.some((c) => c.kind === 'unexplained' && c.patients > 20));
});

test('unexplained: an affinity open still unexplained after the 30 s grace is raised at once; a booking within the grace explains it', () => {
  const booked = new Set<string>();
  const care: CareOracle = { explain: (t, a, p) => (booked.has(p) ? 'work' : oracle.explain(t, a, p)) };
  const d = new ExplanationDetector(care, affinity);
  assert.deepEqual(feed(d, [ev(T, 'read', ['vip-1'])]), []);
  assert.deepEqual(d.tick(new Date(T + 29 * S)), []);
  assert.deepEqual(kinds(d.tick(new Date(T + 30 * S))), ['unexplained/high'], 'a VIP: high, 30 s after the open');
  feed(d, [ev(T + HOUR, 'read', ['name-1']), ev(T + HOUR, 'search', ['cw-9'])]);
  booked.add('name-1');
  assert.deepEqual(d.tick(new Date(T + HOUR + 31 * S)), [], 'booked within the grace; a search row is no open');
});

test('unexplained: a relative in care at the own site needs the actor\'s own work; snooped again, raised again', () => {
  const worked = new Set<string>();
  const care: CareOracle = { explain: (_t, _a, p) => (worked.has(p) ? 'work' : p.startsWith('fam-') || p.startsWith('cw-') ? 'care' : null) };
  const d = new ExplanationDetector(care, affinity);
  feed(d, [ev(T, 'read', ['fam-1']), ev(T, 'read', ['cw-1'])]);
  const first = d.tick(new Date(T + 30 * S));
  assert.deepEqual(kinds(first), ['unexplained/medium'], 'the household pair only: a coworker in care at the site is explained');
  assert.match(first[0].summary, /household to them, with no work of their own/);
  feed(d, [ev(T + DAY, 'read', ['fam-1'])]);
  assert.equal(d.tick(new Date(T + DAY + 30 * S)).length, 1, 'a day later, again');
  worked.add('fam-2');
  feed(d, [ev(T + 2 * DAY, 'read', ['fam-2'])]);
  assert.deepEqual(d.tick(new Date(T + 2 * DAY + 30 * S)), [], 'their own booking explains it');
});

test('volume: a stolen service token taking 2,000 patients is critical within seconds; its worklist is not', () => {
  const d = new VolumeDetector();
  const who = { kind: 'token', id: 'tok-1', role: 'service', tokenId: 'tok-1', siteId: 'site-a' };
  const quiet = feed(d, Array.from({ length: 80 }, (_, i) => ev(T + i * 10 * MIN, 'search', ids('care-', 30, i * 5), who)));
  assert.deepEqual(quiet, []);
  const burst = feed(d, Array.from({ length: 20 }, (_, i) => ev(T + 1 * DAY + i * S, 'search', ids('p', 100, i * 100), who)));
  assert.ok(burst.length > 0);
  assert.ok(burst.some((c) => c.severity === 'critical'));
  assert.ok(burst[0].at.getTime() <= T + DAY + 2 * S, 'raised by the second page');
});

test('enumeration: blind reads at one a second and unknown ids are raised; searched-then-read is not', () => {
  const who = { kind: 'token', id: 'tok-1', role: 'service', tokenId: 'tok-1' };
  const d = new EnumerationDetector(oracle);
  const work = feed(d, ids('w', 60).flatMap((p, i) => [ev(T + i * MIN, 'search', [p], who), ev(T + i * MIN + S, 'read', [p], who)]));
  assert.deepEqual(work, []);
  const slow = feed(d, ids('leak', 30).map((p, i) => ev(T + 2 * HOUR + i * S, 'read', [p], who)));
  assert.ok(slow.length > 0 && slow[0].at.getTime() <= T + 2 * HOUR + 16 * S);
  const probe = feed(new EnumerationDetector(oracle), Array.from({ length: 20 }, (_, i) => ev(T + i * S, 'read', [], who, { outcome: 'failure', resourceRefs: [`Patient/x${i}`] })));
  assert.deepEqual(kinds(probe), ['enumeration/high']);
});

test('context: a token from a new network is raised once learnt; a physician from home in the day is not', () => {
  assert.equal(networkOf('10.1.2.3'), '10.1.2.0/24');
  assert.equal(networkOf('2001:db8:1:2:3::9'), '2001:db8:1:2::/64');
  const d = new ContextDetector();
  const tok = { kind: 'token', id: 'tok-1', role: 'service', tokenId: 'tok-1', ip: '10.200.1.10' };
  const doc = { kind: 'user', id: 'doc', role: 'physician', ip: '100.64.1.5' };
  const learn = feed(d, Array.from({ length: 60 }, (_, i) => [ev(T + i * HOUR, 'read', ['care-1'], tok), ev(T + (i % 3) * DAY + (i % 9) * HOUR, 'read', ['care-1'], doc)]).flat());
  assert.deepEqual(learn, []);
  assert.deepEqual(feed(d, [ev(T + 4 * DAY + 3 * HOUR, 'read', ['care-2'], { ...doc, ip: '100.99.3.3' })]), [], 'new network at a usual hour');
  const stolen = feed(d, [ev(T + 4 * DAY + 18 * HOUR, 'read', ['care-3'], { ...tok, ip: '185.1.2.3' })]);
  assert.deepEqual(kinds(stolen), ['context/high']);
});

test('auth: stuffing across accounts from one address, MFA failures; a typo is not', () => {
  const d = new AuthenticationDetector();
  assert.deepEqual(feed(d, [ev(T, 'auth.login', [], {}, { outcome: 'failure' }), ev(T + 20 * S, 'auth.login', [], {}, { outcome: 'failure' })]), []);
  const stuffing = feed(d, Array.from({ length: 8 }, (_, i) => ev(T + HOUR + i * 2 * S, 'auth.login', [], { id: `u-${i}`, ip: '185.9.9.9' }, { outcome: 'failure' })));
  assert.deepEqual(kinds(stuffing), ['auth/high']);
  assert.equal(stuffing[0].dedupKey, 't1|auth|ip:185.9.9.9');
  const mfa = feed(d, Array.from({ length: 3 }, (_, i) => ev(T + 2 * HOUR + i * S, 'auth.mfa', [], { id: 'u-9' }, { outcome: 'failure' })));
  assert.deepEqual(kinds(mfa), ['auth/high']);
});

test('break-glass: the third in a day, a repeated reason, no emergency context are raised; one emergency is not; an oversized export is', () => {
  const d = new BreakGlassDetector(affinity);
  const tech = { role: 'lab_technician', id: 'tech' };
  assert.deepEqual(feed(d, [ev(T, 'break-glass', ['p1'], tech, { purpose: 'ETREAT' }), ev(T + MIN, 'read', ['p1'], tech, { purpose: 'ETREAT' })]), []);
  const abuse = feed(d, [ev(T + HOUR, 'break-glass', ['p2'], tech, { purpose: 'ETREAT' }), ev(T + 2 * HOUR, 'break-glass', ['p3'], tech, { purpose: 'ETREAT' })]);
  assert.deepEqual(kinds(abuse), ['break-glass/high']);
  const bg = (at: number, p: string, reason: string) => ev(at, 'break-glass', [p], { role: 'biologist', id: 'b2' }, { purpose: 'ETREAT', detail: `break-glass=bg;minutes=60;reason=${reason}` });
  const orderedAt = new Map([['q1', T + 5 * DAY - HOUR], ['q2', T + 6 * DAY - HOUR], ['q3', T + 6 * DAY], ['q4', T]]);
  const ctx = new BreakGlassDetector(null, { explain: () => null, lastActivity: (_t, p) => orderedAt.get(p) ?? null });
  assert.deepEqual(feed(ctx, [bg(T + 5 * DAY, 'q1', '0badc0de'), bg(T + 6 * DAY, 'q2', '12345678')]), [], 'two emergencies, two reasons');
  assert.deepEqual(kinds(feed(ctx, [bg(T + 6 * DAY + HOUR, 'q3', '12345678')])), ['break-glass/medium'], 'a pasted reason');
  assert.deepEqual(kinds(feed(ctx, [bg(T + 7 * DAY, 'q4', 'feedface')])), ['break-glass/high'], 'its last care event a week ago');
  const bio = { role: 'biologist', id: 'bio' };
  const exp = (n: number, at: number) => ev(at, 'export.request', ids('care-', n), bio, { detail: `export=e patients=${n} approval=x` });
  assert.deepEqual(feed(d, [exp(40, T), exp(80, T + DAY)]), []);
  assert.deepEqual(kinds(feed(d, [exp(600, T + 2 * DAY)])), ['export/high']);
  assert.deepEqual(kinds(feed(d, [exp(1500, T + 3 * DAY)])), ['export/critical']);
});

test('canary and budget tripwires are critical at once, whatever the outcome', () => {
  const c = new CanaryDetector((_t, p) => p === 'canary-1');
  assert.deepEqual(c.observe(ev(T, 'search', ids('care-', 50))), []);
  assert.deepEqual(kinds(c.observe(ev(T, 'read', [], {}, { outcome: 'failure', resourceRefs: ['Patient/canary-1'] }))), ['canary/critical']);
  const b = new BudgetDetector();
  assert.deepEqual(b.observe(ev(T, 'read', ['p1'])), []);
  const cut = b.observe(ev(T, 'search', [], { kind: 'token', id: 'tok-1', role: 'service', tokenId: 'tok-1' }, { outcome: 'denied', detail: 'budget=spent used=190 limit=200' }));
  assert.deepEqual(kinds(cut), ['budget/critical']);
});
