// The engine: de-duplication per (tenant, kind, credential), escalation, and no patient id in any summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, scrub } from '../../src/detect/engine.ts';
import type { AlertCandidate } from '../../src/detect/types.ts';
import { T, affinity, ev, ids, oracle } from './helpers.ts';

const S = 1000;

test('an extraction is one alert per kind and credential, escalated once, merged afterwards', () => {
  const engine = new Engine({ care: oracle, isCanary: (_t, p) => p === 'p1999', affinity });
  const who = { kind: 'token', id: 'tok-1', role: 'service', tokenId: 'tok-1', ip: '185.1.1.1' };
  const raised: AlertCandidate[] = [];
  let merged = 0;
  for (let i = 0; i < 20; i++) {
    const o = engine.observeAll(ev(T + i * S, 'search', ids('p', 100, i * 100), who));
    raised.push(...o.raised);
    merged += o.merged.length;
  }
  const volume = raised.filter((c) => c.kind === 'volume');
  assert.deepEqual(volume.map((c) => c.severity), ['high', 'critical'], 'raised high, escalated to critical, then merged');
  assert.ok(merged > 10);
  assert.equal(new Set(volume.map((c) => c.dedupKey)).size, 1);
  assert.equal(volume[0].dedupKey, 't1|volume|token:tok-1');
  assert.ok(raised.some((c) => c.kind === 'canary' && c.severity === 'critical'));
});

test('no patient id appears in any summary, whatever fires', () => {
  const engine = new Engine({ care: oracle, isCanary: (_t, p) => p.startsWith('canary'), affinity });
  const all: AlertCandidate[] = [];
  const tok = { kind: 'token', id: 'tok-2', role: 'reader', tokenId: 'tok-2' };
  const patients = [...ids('p', 400), 'fam-1', 'vip-1', 'vip-2', 'cw-1', 'name-1', 'name-2', 'canary-1'];
  patients.forEach((p, i) => all.push(...engine.observe(ev(T + i * 500, 'read', [p], p.startsWith('p') ? tok : {}))));
  all.push(...engine.observe(ev(T + 300 * S, 'export.request', ids('p', 1200), { role: 'biologist', id: 'bio' }, { detail: 'export=e1 patients=1200' })));
  all.push(...engine.tick(new Date(T + 3_600_000)));
  const kinds = new Set(all.map((c) => c.kind));
  for (const k of ['canary', 'unexplained', 'volume', 'enumeration', 'export']) assert.ok(kinds.has(k), `fires ${k}`);
  for (const c of all) for (const p of patients) assert.ok(!c.summary.includes(p), `summary "${c.summary}" names ${p}`);
  assert.equal(scrub({ ...all[0], summary: 'about p12 and p120' }, ['p12']).summary, 'about [patient] and [patient]0');
});

test('a quiet period re-raises an unchanged alert; tenants are kept apart', () => {
  const engine = new Engine({ care: oracle, isCanary: (_t, p) => p === 'canary-1', renotifyMs: 60_000 });
  const a = engine.observe(ev(T, 'read', ['canary-1']));
  const b = engine.observe(ev(T + 10 * S, 'read', ['canary-1']));
  const c = engine.observe(ev(T + 200 * S, 'read', ['canary-1']));
  const other = engine.observe({ ...ev(T + 201 * S, 'read', ['canary-1']), tenantId: 't2' });
  assert.equal(a.length, 1);
  assert.equal(b.length, 0);
  assert.equal(c.length, 1);
  assert.equal(other.length, 1);
  assert.notEqual(other[0].dedupKey, c[0].dedupKey);
});
