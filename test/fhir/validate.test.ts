import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SUPPORTED_TYPES,
  extractReferences,
  loadFhirDefinitions,
  validateResource,
  type ValidationIssue,
} from '../../src/fhir/validate.ts';

const patient = {
  resourceType: 'Patient',
  id: 'p-1',
  meta: { versionId: '1', lastUpdated: '2024-01-01T00:00:00Z' },
  identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '255081416802538' }],
  active: true,
  name: [{ use: 'official', family: 'Dupont', given: ['Jean', 'Marie'] }],
  telecom: [
    { system: 'phone', value: '0601020304', use: 'mobile' },
    { system: 'email', value: 'jean.dupont@example.fr' },
  ],
  gender: 'male',
  birthDate: '1955-08-14',
  address: [{ use: 'home', line: ['1 rue de la Paix'], city: 'Paris', postalCode: '75002', country: 'FR' }],
  managingOrganization: { reference: 'Organization/o1' },
};

const observation = {
  resourceType: 'Observation',
  id: 'o1',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '718-7', display: 'Hemoglobin' }] },
  subject: { reference: 'Patient/p-1' },
  effectiveDateTime: '2024-01-01T10:00:00+01:00',
  performer: [{ reference: 'Practitioner/pr1' }],
  valueQuantity: { value: 13.2, unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' },
  referenceRange: [{ low: { value: 12, unit: 'g/dL' }, high: { value: 16, unit: 'g/dL' } }],
};

const appointment = {
  resourceType: 'Appointment',
  status: 'booked',
  start: '2024-03-01T09:00:00+01:00',
  end: '2024-03-01T09:30:00+01:00',
  slot: [{ reference: 'Slot/s1' }],
  participant: [
    { actor: { reference: 'Patient/p-1' }, status: 'accepted', required: 'required' },
    { actor: { reference: 'Practitioner/pr1' }, status: 'accepted' },
  ],
};

const slot = {
  resourceType: 'Slot',
  schedule: { reference: 'Schedule/sc1' },
  status: 'free',
  start: '2024-03-01T09:00:00+01:00',
  end: '2024-03-01T09:30:00+01:00',
};

/** Deep copy with changes applied at the top level (undefined deletes). */
function variant(base: object, changes: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(base) as Record<string, unknown>;
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) {
      delete copy[k];
    } else {
      copy[k] = v;
    }
  }
  return copy;
}

function findIssue(issues: ValidationIssue[], expression: string, code?: string): ValidationIssue | undefined {
  return issues.find((i) => i.expression?.includes(expression) && (code === undefined || i.code === code));
}

function assertIssue(issues: ValidationIssue[], expression: string, code?: string): void {
  assert.ok(findIssue(issues, expression, code), `expected a ${code ?? ''} issue at ${expression}, got ${JSON.stringify(issues)}`);
}

test('valid Patient, Observation, Appointment and Slot pass', () => {
  loadFhirDefinitions();
  for (const r of [patient, observation, appointment, slot]) {
    assert.deepEqual(validateResource(r), [], r.resourceType);
    assert.deepEqual(validateResource(r, r.resourceType), [], r.resourceType);
  }
});

test('minimal valid resources of every other supported type pass', () => {
  const others = [
    { resourceType: 'Practitioner', name: [{ family: 'Martin' }], gender: 'female' },
    { resourceType: 'PractitionerRole', practitioner: { reference: 'Practitioner/pr1' }, availableTime: [{ daysOfWeek: ['mon', 'tue'] }] },
    { resourceType: 'Organization', name: 'Laboratoire Central' },
    { resourceType: 'Location', status: 'active', mode: 'instance', name: 'Salle 1' },
    {
      resourceType: 'ServiceRequest',
      status: 'active',
      intent: 'order',
      priority: 'routine',
      subject: { reference: 'Patient/p-1' },
      occurrenceTiming: { repeat: { when: ['HS', 'MORN'], frequency: 1, period: 1, periodUnit: 'd' } },
    },
    { resourceType: 'Specimen', status: 'available', subject: { reference: 'Patient/p-1' } },
    {
      resourceType: 'DiagnosticReport',
      status: 'final',
      code: { text: 'NFS' },
      subject: { reference: 'Patient/p-1' },
      result: [{ reference: 'Observation/o1' }],
    },
    { resourceType: 'Schedule', actor: [{ reference: 'Practitioner/pr1' }] },
  ];
  assert.equal(others.length + 4, SUPPORTED_TYPES.length);
  for (const r of others) {
    assert.deepEqual(validateResource(r), [], r.resourceType);
  }
});

test('wrong JSON type is a structure error at its path', () => {
  const issues = validateResource(variant(patient, { birthDate: 12 }));
  assertIssue(issues, 'Patient.birthDate', 'structure');
  assert.ok(issues.every((i) => i.severity === 'error'));
});

test('invalid primitive formats are value errors', () => {
  const issues = validateResource(variant(patient, { birthDate: '1980-02-30' }));
  assertIssue(issues, 'Patient.birthDate', 'value');
  const issues2 = validateResource(variant(patient, { name: [{ given: ['   '] }] }));
  assertIssue(issues2, 'Patient.name[0].given[0]', 'value');
});

test('unknown element is rejected', () => {
  const issues = validateResource(variant(patient, { foo: 'bar' }));
  assertIssue(issues, 'Patient.foo', 'structure');
  const nested = validateResource(variant(patient, { name: [{ family: 'Dupont', nickname: 'JD' }] }));
  assertIssue(nested, 'Patient.name[0].nickname', 'structure');
});

test('missing required elements: Observation status / code', () => {
  const noStatus = validateResource(variant(observation, { status: undefined }));
  assertIssue(noStatus, 'Observation.status', 'required');
  const noCode = validateResource(variant(observation, { code: undefined }));
  assertIssue(noCode, 'Observation.code', 'required');
});

test('missing required elements: Appointment status / participant', () => {
  const issues = validateResource(variant(appointment, { status: undefined, participant: undefined }));
  assertIssue(issues, 'Appointment.status', 'required');
  assertIssue(issues, 'Appointment.participant', 'required');
  const noParticipantStatus = validateResource(variant(appointment, { participant: [{ actor: { reference: 'Patient/p-1' } }] }));
  assertIssue(noParticipantStatus, 'Appointment.participant[0].status', 'required');
});

test('invariants are checked (Appointment without start/end must be proposed/cancelled/waitlist)', () => {
  const issues = validateResource(variant(appointment, { start: undefined, end: undefined }));
  assert.ok(issues.some((i) => i.code === 'invariant' && i.diagnostics.includes('app-3')), JSON.stringify(issues));
  assert.deepEqual(validateResource(variant(appointment, { status: 'proposed', start: undefined, end: undefined })), []);
});

test('codes outside a required value set are rejected', () => {
  const obs = validateResource(variant(observation, { status: 'foo' }));
  assertIssue(obs, 'Observation.status', 'code-invalid');
  const pat = validateResource(variant(patient, { gender: 'zzzSECRETzzz' }));
  assertIssue(pat, 'Patient.gender', 'code-invalid');
  const tel = validateResource(variant(patient, { telecom: [{ system: 'pigeon', value: '1' }] }));
  assertIssue(tel, 'Patient.telecom[0].system', 'code-invalid');
  const loc = validateResource({ resourceType: 'Location', hoursOfOperation: [{ daysOfWeek: ['mon', 'someday'] }] });
  assertIssue(loc, 'Location.hoursOfOperation[0].daysOfWeek[1]', 'code-invalid');
  const slotIssues = validateResource(variant(slot, { status: 'open' }));
  assertIssue(slotIssues, 'Slot.status', 'code-invalid');
  const timing = validateResource({
    resourceType: 'ServiceRequest',
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/p-1' },
    occurrenceTiming: { repeat: { when: ['NEVER'] } },
  });
  assert.ok(timing.some((i) => i.code === 'code-invalid'), JSON.stringify(timing));
});

test('required bindings on CodeableConcept are checked too (contained Condition)', () => {
  const withCondition = (code: string): Record<string, unknown> =>
    variant(observation, {
      contained: [
        {
          resourceType: 'Condition',
          id: 'c',
          subject: { reference: 'Patient/p-1' },
          clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code }] },
        },
      ],
      focus: [{ reference: '#c' }],
    });
  assert.deepEqual(validateResource(withCondition('active')), []);
  assertIssue(validateResource(withCondition('zzzSECRETzzz')), 'Observation.contained[0].clinicalStatus', 'code-invalid');
});

test('a diagnostics that would repeat a submitted string is replaced by a generic text', () => {
  // app-3's description, submitted as a value: the invariant's diagnostics now contains a submitted string
  const description = 'Only proposed or cancelled appointments can be missing start/end dates';
  const issues = validateResource(variant(appointment, { start: undefined, end: undefined, comment: description }));
  assert.ok(issues.length >= 1);
  assert.ok(issues.every((i) => !i.diagnostics.includes(description)), JSON.stringify(issues));
  assertIssue(issues, 'Appointment', 'invariant');
});

test('unsupported resourceType, missing resourceType, type mismatch, non-object body', () => {
  const med = validateResource({ resourceType: 'Medication', id: 'm1' });
  assert.equal(med.length, 1);
  assert.equal(med[0].code, 'not-supported');
  assert.deepEqual(med[0].expression, ['resourceType']);
  assert.equal(validateResource({ resourceType: 'NotAType' })[0].code, 'not-supported');
  assert.equal(validateResource({ id: 'x' })[0].code, 'structure');
  const mismatch = validateResource(patient, 'Observation');
  assert.equal(mismatch.length, 1);
  assert.equal(mismatch[0].code, 'invalid');
  for (const bad of [null, 'Patient', 42, [patient]]) {
    assert.equal(validateResource(bad).length, 1);
  }
});

test('id must match the FHIR id format (resource and contained)', () => {
  assertIssue(validateResource(variant(patient, { id: 'a b' })), 'Patient.id', 'value');
  assertIssue(validateResource(variant(patient, { id: 'x'.repeat(65) })), 'Patient.id', 'value');
  assert.deepEqual(validateResource(variant(patient, { id: 'A-z.09' })), []);
  const contained = variant(patient, {
    contained: [{ resourceType: 'Organization', id: 'bad id', name: 'X' }],
    managingOrganization: { reference: '#bad id' },
  });
  assertIssue(validateResource(contained), 'Patient.contained[0].id', 'value');
});

test('contained resources are validated by the structural validator', () => {
  const ok = variant(patient, {
    contained: [{ resourceType: 'Organization', id: 'org', name: 'Cabinet' }],
    managingOrganization: { reference: '#org' },
  });
  assert.deepEqual(validateResource(ok), []);
  const bad = variant(patient, {
    contained: [{ resourceType: 'Organization', id: 'org', name: 'Cabinet', colour: 'blue' }],
    managingOrganization: { reference: '#org' },
  });
  assertIssue(validateResource(bad), 'Patient.contained[0].colour', 'structure');
});

test('references: wrong target type is an error; urn:uuid, absolute and contained are accepted', () => {
  const wrong = validateResource(variant(observation, { subject: { reference: 'Medication/m1' } }));
  assertIssue(wrong, 'Observation.subject', 'structure');
  for (const reference of ['urn:uuid:0b8f0e3c-1234-4d6e-9abc-0123456789ab', 'https://fhir.example.org/fhir/Patient/p-1', 'Patient/p-1/_history/2']) {
    assert.deepEqual(validateResource(variant(observation, { subject: { reference } })), [], reference);
  }
});

test('two types for one choice element is an error', () => {
  const issues = validateResource(variant(observation, { valueString: 'x' }));
  assert.ok(issues.some((i) => i.code === 'structure' && i.diagnostics.includes('choice')), JSON.stringify(issues));
});

test('diagnostics never contain submitted values', () => {
  const SECRET = 'zzzSECRETzzz';
  const nasty = {
    resourceType: 'Patient',
    id: `${SECRET}!`,
    gender: SECRET,
    birthDate: `${SECRET}-01`,
    active: SECRET,
    name: [{ family: 42, given: [`  ${SECRET}`, 7], use: SECRET, text: { value: SECRET } }],
    identifier: [{ system: `urn:${SECRET} x`, value: 255081416802538 }],
    telecom: [{ system: SECRET, value: `${SECRET}@example.org`, use: SECRET, rank: SECRET }],
    address: [{ line: SECRET, postalCode: [SECRET] }],
    generalPractitioner: [{ reference: `${SECRET}/1` }, { reference: `Medication/${SECRET}` }, { reference: `Nope${SECRET}/1` }],
    managingOrganization: [{ reference: `Organization/${SECRET}` }],
    [`${SECRET} key`]: SECRET,
    ZzzSECRETzzz: 1,
    _gender: { extension: [{ url: SECRET, valueString: SECRET, valueInteger: SECRET }] },
    contact: [{ gender: SECRET, name: { family: SECRET, [`${SECRET}!`]: SECRET } }],
    contained: [{ resourceType: SECRET, id: SECRET }],
    deceasedBoolean: SECRET,
    deceasedDateTime: SECRET,
    multipleBirthInteger: SECRET,
    communication: [{ language: { coding: [{ system: SECRET, code: `${SECRET} ${SECRET}` }] } }],
  };
  const issues = validateResource(nasty);
  assert.ok(issues.length >= 20, JSON.stringify(issues));
  assert.ok(issues.every((i) => !('expression' in i) || i.expression?.length === 1));
  assertIssue(issues, 'Patient.gender', 'code-invalid');
  const text = JSON.stringify(issues);
  assert.ok(!text.includes('SECRET'), text);
  assert.ok(!text.includes('255081416802538'), text);

  // and with an unsupported or mismatched type
  assert.ok(!JSON.stringify(validateResource({ resourceType: SECRET })).includes('SECRET'));
  assert.ok(!JSON.stringify(validateResource(patient, SECRET)).includes('SECRET'));
});

test('unknown element names: in the expression only when they look like element names, never in diagnostics', () => {
  const issues = validateResource(variant(patient, { zzzUnknownKey: 1, 'Jean Dupont': 2, Dupont: 3 }));
  // the two keys that are not element names are both reported at `Patient` (identical issues are merged)
  assert.equal(issues.length, 2, JSON.stringify(issues));
  assert.ok(issues.every((i) => i.code === 'structure' && !i.diagnostics.includes('zzz') && !i.diagnostics.includes('Dupont')));
  assertIssue(issues, 'Patient.zzzUnknownKey', 'structure');
  assertIssue(issues, 'Patient', 'structure');
  assert.ok(!JSON.stringify(issues).includes('Dupont'));
});

test('contained resource of unknown or missing type is reported without aborting validation', () => {
  const issues = validateResource(
    variant(patient, { contained: [{ resourceType: 'zzzSECRETzzz', id: 'x' }, { id: 'y' }], gender: 'nope', birthDate: 1 }),
  );
  assertIssue(issues, 'Patient.contained[0]', 'structure');
  assertIssue(issues, 'Patient.contained[1]', 'structure');
  assertIssue(issues, 'Patient.gender', 'code-invalid');
  assertIssue(issues, 'Patient.birthDate', 'structure');
  assert.ok(!JSON.stringify(issues).includes('SECRET'));
});

test('extractReferences finds every Reference.reference, wherever it is', () => {
  const r = {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'x' },
    subject: { reference: 'Patient/p-1', display: 'Jean' },
    performer: [{ reference: '#pr' }, { display: 'no reference' }, { reference: 'https://other.example/fhir/Practitioner/9' }],
    basedOn: [{ reference: 'urn:uuid:0b8f0e3c-1234-4d6e-9abc-0123456789ab' }],
    extension: [
      { url: 'http://example.org/e', valueReference: { reference: 'Organization/o9' } },
      { url: 'http://example.org/f', valueExpression: { language: 'text/fhirpath', reference: 'http://example.org/expr' } },
    ],
    _status: { extension: [{ url: 'http://example.org/g', valueReference: { reference: 'Location/l3' } }] },
    contained: [
      { resourceType: 'Practitioner', id: 'pr', extension: [{ url: 'http://example.org/h', valueReference: { reference: 'Organization/c' } }] },
    ],
    hasMember: [{ reference: 'Observation?code=718-7' }],
  };
  const refs = extractReferences(r);
  const byPath = Object.fromEntries(refs.map((x) => [x.path, x.reference]));
  assert.deepEqual(byPath, {
    'Observation.subject': 'Patient/p-1',
    'Observation.performer[0]': '#pr',
    'Observation.performer[2]': 'https://other.example/fhir/Practitioner/9',
    'Observation.basedOn[0]': 'urn:uuid:0b8f0e3c-1234-4d6e-9abc-0123456789ab',
    'Observation.extension[0].valueReference': 'Organization/o9',
    'Observation._status.extension[0].valueReference': 'Location/l3',
    'Observation.contained[0].extension[0].valueReference': 'Organization/c',
    'Observation.hasMember[0]': 'Observation?code=718-7',
  });
  assert.equal(refs.length, 8);
  assert.deepEqual(extractReferences(patient), [{ path: 'Patient.managingOrganization', reference: 'Organization/o1' }]);
  assert.deepEqual(extractReferences(null), []);
  assert.deepEqual(extractReferences({ resourceType: 'Organization', name: 'x' }), []);
});

test('validation cost per Patient / Observation', (t) => {
  const n = 2000;
  for (const r of [patient, observation]) {
    for (let i = 0; i < 200; i++) validateResource(r);
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) validateResource(r);
    const us = Number(process.hrtime.bigint() - start) / 1000 / n;
    t.diagnostic(`${r.resourceType}: ${us.toFixed(0)} µs per validation`);
    // Loose bound (≈ 160–180 µs measured on the dev machine): only catches an order-of-magnitude regression.
    assert.ok(us < 5000, `${r.resourceType} validation took ${us} µs`);
  }
});

test('nesting beyond 64 levels is refused with a clear issue, whatever the depth', () => {
  const nested = (levels: number) => {
    let ext: any = { url: 'http://example.org/leaf', valueString: 'x' };
    for (let i = 0; i < levels; i++) ext = { url: 'http://example.org/n', extension: [ext] };
    return { ...patient, extension: [ext] };
  };
  assert.deepEqual(validateResource(nested(20)), []); // 42 levels of objects and arrays
  for (const levels of [40, 5_000]) {
    const issues = validateResource(nested(levels));
    assert.equal(issues.length, 1);
    assert.equal(issues[0].code, 'too-costly');
    assert.match(issues[0].diagnostics, /nested deeper than 64 levels/);
  }
});
