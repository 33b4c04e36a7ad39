import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type InjectOptions } from 'fastify';
import {
  FhirError,
  badRequest,
  bundle,
  conflict,
  errorToOutcome,
  forbidden,
  gone,
  notFound,
  notFoundType,
  operationOutcome,
  preconditionFailed,
  serviceUnavailable,
  tooManyRequests,
  unauthorized,
  unprocessable,
} from '../../src/fhir/outcome.ts';

const SECRET = 'zzzSECRETzzz';

test('helpers build FhirErrors with the right status and issue code', () => {
  const cases: Array<[FhirError, number, string]> = [
    [badRequest('Unknown search parameter', 'Patient.foo'), 400, 'invalid'],
    [notFound('Patient', 'abc'), 404, 'not-found'],
    [gone('Patient', 'abc'), 410, 'deleted'],
    [conflict('Version conflict'), 409, 'conflict'],
    [preconditionFailed('Version mismatch'), 412, 'conflict'],
    [unauthorized(), 401, 'login'],
    [forbidden('Not allowed'), 403, 'forbidden'],
    [serviceUnavailable('Key provider unavailable'), 503, 'transient'],
    [tooManyRequests(), 429, 'throttled'],
    [notFoundType('Medication'), 404, 'not-supported'],
    [FhirError.badRequest('x', ['Bundle.entry[0].request.url']), 400, 'invalid'],
    [FhirError.notFound('Patient', 'abc'), 404, 'not-found'],
    [FhirError.gone('Patient', 'abc'), 410, 'deleted'],
    [FhirError.unprocessable([]), 422, 'invalid'],
    [FhirError.serviceUnavailable('Audit log unavailable'), 503, 'transient'],
    [FhirError.serviceUnavailable('database unavailable', new Error(SECRET)), 503, 'transient'],
  ];
  for (const [e, status, code] of cases) {
    assert.ok(e instanceof FhirError && e instanceof Error);
    assert.equal(e.status, status);
    assert.equal(e.issues.length, 1);
    assert.equal(e.issues[0].severity, 'error');
    assert.equal(e.issues[0].code, code);
    assert.equal(e.message, e.issues[0].diagnostics);
    const { status: s, outcome } = errorToOutcome(e);
    assert.equal(s, status);
    assert.equal(outcome.resourceType, 'OperationOutcome');
    assert.equal(outcome.issue[0].code, code);
    assert.ok(!JSON.stringify(outcome).includes(SECRET));
  }
  assert.equal((serviceUnavailable('x', new Error('driver')).cause as Error).message, 'driver');
  assert.equal(notFound('Patient', 'abc').issues[0].diagnostics, 'Patient/abc not found');
  assert.deepEqual(badRequest('x', 'Patient.foo').issues[0].expression, ['Patient.foo']);
  assert.equal('expression' in conflict('x').issues[0], false);
  assert.equal(notFoundType(`${SECRET} x`).issues[0].diagnostics, 'Resource type not supported');
});

test('unprocessable carries the validation issues', () => {
  const issues = [
    { severity: 'error' as const, code: 'required' as const, diagnostics: 'Missing required element', expression: ['Observation.status'] },
    { severity: 'error' as const, code: 'code-invalid' as const, diagnostics: 'Code is not in the required value set x' },
  ];
  const e = unprocessable(issues);
  assert.equal(e.status, 422);
  const { status, outcome } = errorToOutcome(e);
  assert.equal(status, 422);
  assert.deepEqual(outcome, {
    resourceType: 'OperationOutcome',
    issue: [
      { severity: 'error', code: 'required', diagnostics: 'Missing required element', expression: ['Observation.status'] },
      { severity: 'error', code: 'code-invalid', diagnostics: 'Code is not in the required value set x' },
    ],
  });
  assert.equal(unprocessable([]).issues.length, 1);
});

test('operationOutcome with no issue is an informational OK', () => {
  const oo = operationOutcome([]);
  assert.equal(oo.issue.length, 1);
  assert.equal(oo.issue[0].severity, 'information');
  assert.equal(oo.issue[0].code, 'informational');
});

test('unknown errors are a 500 "Internal error" without message or stack', () => {
  const leaky = new Error(`duplicate key value violates unique constraint: (nir)=(255081416802538) ${SECRET}`);
  for (const e of [leaky, new TypeError(SECRET), SECRET, { message: SECRET }, null, undefined, 42, { statusCode: 500, message: SECRET }, { statusCode: 503, message: SECRET }]) {
    const { status, outcome } = errorToOutcome(e);
    assert.equal(status, 500);
    assert.deepEqual(outcome, {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'exception', diagnostics: 'Internal error' }],
    });
  }
});

test('client errors from Fastify-like objects keep their status with a generic text', () => {
  const parse = Object.assign(new SyntaxError(`Unexpected token ${SECRET} in JSON at position 3`), { statusCode: 400 });
  const media = Object.assign(new Error(`Unsupported Media Type: application/${SECRET}`), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 });
  const large = Object.assign(new Error('Request body is too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
  const rate = Object.assign(new Error(`Rate limit exceeded for ${SECRET}`), { statusCode: 429 });
  const odd = Object.assign(new Error(SECRET), { statusCode: 418 });
  const expected: Array<[unknown, number, string]> = [
    [parse, 400, 'invalid'],
    [media, 415, 'not-supported'],
    [large, 413, 'too-long'],
    [rate, 429, 'throttled'],
    [odd, 418, 'invalid'],
  ];
  for (const [e, status, code] of expected) {
    const r = errorToOutcome(e);
    assert.equal(r.status, status);
    assert.equal(r.outcome.issue[0].code, code);
    assert.ok(!JSON.stringify(r.outcome).includes(SECRET));
    assert.ok(!JSON.stringify(r.outcome).includes('at position'));
  }
});

test('real Fastify errors (bad JSON, wrong media type, body too large) map through errorToOutcome', async () => {
  const app = Fastify({ bodyLimit: 1024 });
  app.setErrorHandler((e, _req, reply) => {
    const { status, outcome } = errorToOutcome(e);
    return reply.code(status).type('application/fhir+json').send(outcome);
  });
  app.post('/fhir/Patient', async () => {
    throw new Error(`db said: ${SECRET}`);
  });
  app.get('/fhir/Patient/:id', async (req) => {
    throw notFound('Patient', (req.params as { id: string }).id);
  });
  try {
    const cases: Array<[InjectOptions, number]> = [
      [{ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/json' }, payload: `{"name": ${SECRET}` }, 400],
      [{ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': `application/${SECRET}` }, payload: SECRET }, 415],
      [{ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ s: SECRET.repeat(200) }) }, 413],
      [{ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ s: SECRET }) }, 500],
      [{ method: 'GET', url: '/fhir/Patient/abc' }, 404],
    ];
    for (const [req, status] of cases) {
      const res = await app.inject(req);
      assert.equal(res.statusCode, status, res.body);
      const body = res.json();
      assert.equal(body.resourceType, 'OperationOutcome');
      assert.ok(!res.body.includes(SECRET), res.body);
    }
  } finally {
    await app.close();
  }
});

test('bundle builds a Bundle in FHIR order and omits an empty entry array', () => {
  const empty = bundle('searchset', [], { total: 0, link: [{ relation: 'self', url: 'https://example.org/fhir/Patient' }] });
  assert.deepEqual(empty, {
    resourceType: 'Bundle',
    type: 'searchset',
    total: 0,
    link: [{ relation: 'self', url: 'https://example.org/fhir/Patient' }],
  });
  assert.equal('entry' in empty, false);

  const b = bundle(
    'transaction-response',
    [{ response: { status: '201 Created', location: 'Patient/1/_history/1' } }],
    { id: 'b1', timestamp: '2024-01-01T00:00:00Z' },
  );
  assert.deepEqual(Object.keys(b), ['resourceType', 'id', 'type', 'timestamp', 'entry']);
  assert.equal(b.entry?.length, 1);

  const h = bundle('history', [{ fullUrl: 'https://example.org/fhir/Patient/1', resource: { resourceType: 'Patient', id: '1' } }]);
  assert.equal(h.type, 'history');
  assert.equal(bundle('batch-response', []).type, 'batch-response');
});
