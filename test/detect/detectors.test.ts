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
import type { AlertCandidate, Detector } from '../../src/detect/types.ts';
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

test('unexplained: two VIPs at once; one VIP only if no care follows within 5 minutes', () => {
  const d = new ExplanationDetector(oracle, affinity);
  const two = feed(d, [ev(T, 'read', ['vip-1']), ev(T + 30 * S, 'read', ['vip-2'])]);
  assert.deepEqual(kinds(two), ['unexplained/high']);
  const d2 = new ExplanationDetector(oracle, affinity);
  feed(d2, [ev(T, 'read', ['vip-3'])]);
  assert.deepEqual(d2.tick(new Date(T + 4 * MIN)), []);
  assert.deepEqual(kinds(d2.tick(new Date(T + 5 * MIN + S))), ['unexplained/high']);
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

test('break-glass: the third in a day is raised, one emergency is not; an oversized export is', () => {
  const d = new BreakGlassDetector(affinity);
  const tech = { role: 'lab_technician', id: 'tech' };
  assert.deepEqual(feed(d, [ev(T, 'break-glass', ['p1'], tech, { purpose: 'ETREAT' }), ev(T + MIN, 'read', ['p1'], tech, { purpose: 'ETREAT' })]), []);
  const abuse = feed(d, [ev(T + HOUR, 'break-glass', ['p2'], tech, { purpose: 'ETREAT' }), ev(T + 2 * HOUR, 'break-glass', ['p3'], tech, { purpose: 'ETREAT' })]);
  assert.deepEqual(kinds(abuse), ['break-glass/high']);
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
