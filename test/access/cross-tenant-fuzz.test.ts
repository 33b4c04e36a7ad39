// Cross-tenant fuzz: thousands of randomised requests from tenant A's principals (API tokens and
// staff/patient principals of every clinical role) aimed at tenant B's ids and values — reads,
// vreads, history, searches (ids, references, values, _include, _total, _summary), batch and
// transaction Bundles, writes and break-glass. Each request that names a B id or value is paired
// with the same request naming a fresh id or value that exists nowhere: both answers must be
// identical once volatile fields are normalised (status, error shape, counts), and no answer may
// contain any B id or B value. Seed: FUZZ_SEED; size: FUZZ_N (pairs, default 1000).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { testEnv, testApp, tenantWithToken, type TestEnv, DB_LABEL } from '../helpers.ts';
import { createApiToken } from '../../src/auth/api-tokens.ts';
import { systemContext, type AccessContext } from '../../src/core/context.ts';
import { contextFor, seedFixture, TYPES, type Fixture } from './fixtures.ts';

const N = Number(process.env.FUZZ_N ?? 1000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

let env: TestEnv;
let app: FastifyInstance;
let a: Fixture;
let b: Fixture;
const bIds: string[] = [];
const bTypeOf = new Map<string, string>();
const bValues: string[] = [];
const bNir = '255081416802538';
const principals = new Map<string, AccessContext>();
const auth: Record<string, string> = {};

before(async () => {
  env = await testEnv();
  (env.services.repo.access as any).limits.searchPatientsPerHour = 0; // volume caps are tested elsewhere
  a = await seedFixture(env.services, 'fuzz-a');
  b = await seedFixture(env.services, 'fuzz-b');
  const sysB = systemContext(b.tenant);
  for (let i = 0; i < 5; i++) {
    const marker = `Zzbeta${i}secret`;
    bValues.push(marker.toLowerCase());
    const p = (await env.services.repo.create(sysB, { resourceType: 'Patient', name: [{ family: marker, given: ['Betaprenom'] }],
      identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.10', value: i === 0 ? bNir : `18507${i}A004001` }], telecom: [{ system: 'email', value: `beta${i}@secret.example` }] })).resource;
    bIds.push(p.id);
    const o = (await env.services.repo.create(sysB, { resourceType: 'Observation', status: 'final', code: { text: 'betacode' }, subject: { reference: `Patient/${p.id}` }, valueString: `betavalue${i}` })).resource;
    bIds.push(o.id);
  }
  bValues.push('betaprenom', 'betavalue', 'betacode', 'secret.example');
  bIds.push(...Object.values(b.ids));
  for (const [type, id] of Object.entries(b.ids)) bTypeOf.set(id, type);
  for (let i = 0; i < 10; i++) bTypeOf.set(bIds[i], i % 2 === 0 ? 'Patient' : 'Observation');
  app = await testApp(env);
  auth.service = await tenantWithToken(env.services, 'fuzz-auth'); // tenant only used to authenticate test principals
  auth.aService = (await createApiToken(env.services.database.db, a.tenant, 'service', 'fuzz')).token;
  auth.aReader = (await createApiToken(env.services.database.db, a.tenant, 'reader', 'fuzz')).token;
  for (const role of ['physician', 'receptionist', 'lab_technician', 'biologist', 'patient', 'tenant_admin']) principals.set(role, contextFor(a, role, { id: `fuzz-${role}` }));
  app.addHook('preHandler', async (req) => {
    const who = req.headers['x-test-principal'];
    if (typeof who === 'string' && req.access && principals.has(who)) req.access = principals.get(who)!;
  });
});
after(async () => { await app.close(); await env.close(); });

// Small deterministic PRNG (mulberry32).
function rng(seed: number) {
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

interface Req { method: 'GET' | 'POST' | 'DELETE'; url: string; payload?: any; form?: string }

/** A request naming `x` (an id or a value) built from a random template. */
function template(r: () => number, pick: <T>(xs: T[]) => T, typeHint: string | undefined): { kind: string; build: (x: string) => Req; value?: boolean } {
  // Mostly the type of the targeted B id (a copied id with its type), sometimes any type.
  const T = typeHint && r() < 0.8 ? typeHint : pick(TYPES);
  const compartment = pick(['Observation', 'ServiceRequest', 'Specimen', 'DiagnosticReport']);
  const templates: { kind: string; build: (x: string) => Req; value?: boolean }[] = [
    { kind: 'read', build: (x) => ({ method: 'GET', url: `/fhir/${T}/${x}` }) },
    { kind: 'vread', build: (x) => ({ method: 'GET', url: `/fhir/${T}/${x}/_history/${1 + Math.floor(r() * 2)}` }) },
    { kind: 'history', build: (x) => ({ method: 'GET', url: `/fhir/${T}/${x}/_history` }) },
    { kind: 'search _id', build: (x) => ({ method: 'GET', url: `/fhir/${T}?_id=${x}&_total=accurate` }) },
    { kind: 'search _id,A', build: (x) => ({ method: 'GET', url: `/fhir/${T}?_id=${x},${a.ids[T]}&_total=accurate` }) },
    { kind: 'search subject', build: (x) => ({ method: 'GET', url: `/fhir/${compartment}?${pick(['subject', 'patient'])}=Patient/${x}&_total=accurate` }) },
    { kind: 'search bare ref', build: (x) => ({ method: 'GET', url: `/fhir/${compartment}?subject=${x}&_include=${compartment}:subject` }) },
    { kind: 'search gp', build: (x) => ({ method: 'GET', url: `/fhir/Patient?general-practitioner=Practitioner/${x}&_total=accurate` }) },
    { kind: 'summary', build: (x) => ({ method: 'GET', url: `/fhir/${T}?_id=${x}&_summary=count` }) },
    { kind: '_search form', build: (x) => ({ method: 'POST', url: `/fhir/${T}/_search`, form: `_id=${x}&_total=accurate` }) },
    { kind: 'batch', build: (x) => ({ method: 'POST', url: '/fhir', payload: { resourceType: 'Bundle', type: 'batch', entry: [
      { request: { method: 'GET', url: `${T}/${x}` } }, { request: { method: 'GET', url: `${compartment}?subject=Patient/${x}&_total=accurate` } },
      { request: { method: 'GET', url: `${T}/${x}/_history/1` } }, { request: { method: 'DELETE', url: `${T}/${x}` } }] } }) },
    { kind: 'transaction ref', build: (x) => ({ method: 'POST', url: '/fhir', payload: { resourceType: 'Bundle', type: 'transaction', entry: [
      { request: { method: 'POST', url: 'Observation' }, resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${x}` } } }] } }) },
    { kind: 'create ref', build: (x) => ({ method: 'POST', url: '/fhir/Specimen', payload: { resourceType: 'Specimen', subject: { reference: `Patient/${x}` } } }) },
    { kind: 'versioned ref', build: (x) => ({ method: 'POST', url: '/fhir/Appointment', payload: { resourceType: 'Appointment', status: 'proposed', participant: [{ actor: { reference: `Patient/${x}/_history/1` }, status: 'accepted' }] } }) },
    { kind: 'break-glass', build: (x) => ({ method: 'POST', url: `/fhir/Patient/${x}/$break-glass`, payload: { reason: 'urgence vitale, patient inconscient' } }) },
    { kind: 'delete', build: (x) => ({ method: 'DELETE', url: `/fhir/${T}/${x}` }) },
    { kind: 'search family', value: true, build: (x) => ({ method: 'GET', url: `/fhir/Patient?family=${x}&_total=accurate` }) },
    { kind: 'search name+include', value: true, build: (x) => ({ method: 'GET', url: `/fhir/Patient?name=${x}&_include=Patient:general-practitioner&_total=accurate` }) },
    { kind: 'search email', value: true, build: (x) => ({ method: 'POST', url: '/fhir/Patient/_search', form: `email=${x}@secret.example&_total=accurate` }) },
  ];
  return pick(templates);
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
function normalise(body: string, x: string): string {
  return body.split(x).join('<X>')
    .replace(UUID, 'U')
    .replace(/\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2})/g, 'T')
    .replace(/_page=[A-Za-z0-9_-]+/g, '_page=P')
    .replace(/W\/\\?"\d+\\?"/g, 'W/"n"');
}

test(`[${DB_LABEL}] cross-tenant fuzz: ${N} paired requests from tenant A never reveal tenant B (seed ${SEED})`, async () => {
  const r = rng(SEED);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const who = ['aService', 'aReader', ...principals.keys()];
  const leaks: string[] = [];
  const diffs: string[] = [];
  const statuses = new Map<string, number>();
  for (let i = 0; i < N; i++) {
    const target = r() < 0.5 ? pick(bIds.slice(0, 10).filter((_, k) => k % 2 === 0).concat(b.patient)) : pick(bIds);
    const t = template(r, pick, bTypeOf.get(target));
    const p = pick(who);
    const headers: Record<string, string> = principals.has(p) ? { authorization: `Bearer ${auth.aService}`, 'x-test-principal': p } : { authorization: `Bearer ${auth[p]}` };
    const real = t.value ? pick(bValues.slice(0, 5)) : target;
    const fake = t.value ? `Zzfake${Math.floor(r() * 1e9)}x` : randomUUID();
    const send = async (x: string) => {
      const q = t.build(x);
      const res = await app.inject({ method: q.method, url: q.url, payload: q.form ?? q.payload,
        headers: { ...headers, ...(q.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) } });
      return { status: res.statusCode, body: res.body };
    };
    const [rb, rf] = [await send(real), await send(fake)];
    statuses.set(`${t.kind} ${rb.status}`, (statuses.get(`${t.kind} ${rb.status}`) ?? 0) + 1);
    const lower = rb.body.toLowerCase();
    for (const id of bIds) if (id !== real && rb.body.includes(id)) leaks.push(`#${i} ${p} ${t.kind}: B id in answer`);
    for (const v of bValues) if (lower.includes(v) && !(t.value && v === real.toLowerCase())) leaks.push(`#${i} ${p} ${t.kind}: B value in answer`);
    if (rb.status !== rf.status || normalise(rb.body, real) !== normalise(rf.body, fake)) {
      diffs.push(`#${i} ${p} ${t.kind}: ${rb.status} vs ${rf.status}\n  ${normalise(rb.body, real).slice(0, 300)}\n  ${normalise(rf.body, fake).slice(0, 300)}`);
    }
    if (leaks.length + diffs.length > 10) break;
  }
  assert.deepEqual(leaks, [], leaks.join('\n'));
  assert.deepEqual(diffs, [], diffs.join('\n'));
  // The fuzz did exercise both successes and refusals.
  const codes = new Set([...statuses.keys()].map((k) => k.split(' ').pop()));
  assert.ok(codes.has('200') && codes.has('404') && codes.has('403') && codes.has('400'), [...codes].join(','));
});

test(`[${DB_LABEL}] after the fuzz (deletes, update-as-create), every B resource is unchanged`, async () => {
  const sysB = systemContext(b.tenant);
  const h = { authorization: `Bearer ${auth.aService}` };
  // Writes aimed at B ids: PUT creates a separate A resource, DELETE deletes nothing of B.
  for (const id of bIds.slice(0, 10)) {
    await app.inject({ method: 'PUT', url: `/fhir/Organization/${id}`, headers: h, payload: { resourceType: 'Organization', id, name: 'A' } });
    await app.inject({ method: 'DELETE', url: `/fhir/Patient/${id}`, headers: h });
  }
  for (const type of TYPES) {
    const r = await env.services.repo.read(sysB, type, b.ids[type]);
    assert.equal(r.versionId, 1, `${type} of B untouched`);
  }
  for (const id of bIds.slice(0, 10)) {
    const type = id === bIds[0] || bIds.indexOf(id) % 2 === 0 ? 'Patient' : 'Observation';
    assert.equal((await env.services.repo.read(sysB, type, id)).versionId, 1);
  }
});
