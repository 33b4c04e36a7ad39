// The authorization matrix, generated from the policy table: every role × resource type ×
// interaction is tried against a patient the actor is related to, and must be allowed exactly when
// POLICY says so; masked elements must be absent (and labelled REDACTED) wherever a rule masks them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testEnv, type TestEnv, DB_LABEL } from '../helpers.ts';
import { INTERACTIONS, POLICY, ROLES, ruleFor, type Interaction } from '../../src/access/policy.ts';
import { REDACTED } from '../../src/access/decider.ts';
import { systemContext } from '../../src/core/context.ts';
import { FhirError } from '../../src/fhir/outcome.ts';
import { parseSearch } from '../../src/fhir/search-query.ts';
import { contextFor, seedFixture, template, TYPES, type Fixture } from './fixtures.ts';

let env: TestEnv;
let f: Fixture;

before(async () => {
  env = await testEnv();
  f = await seedFixture(env.services, 'matrix');
});
after(async () => { await env.close(); });

/** Runs one interaction; returns the released resources (reads) or [] (writes). */
async function attempt(role: string, type: string, interaction: Interaction): Promise<any[]> {
  const repo = env.services.repo;
  const ctx = contextFor(f, role);
  const sys = systemContext(f.tenant);
  const id = f.ids[type];
  switch (interaction) {
    case 'read': return [JSON.parse((await repo.read(ctx, type, id)).json)];
    case 'vread': return [JSON.parse((await repo.vread(ctx, type, id, 1)).json)];
    case 'search': {
      const r = await repo.search(ctx, parseSearch(type, [['_id', id]], { maxCount: 100 }));
      assert.equal(r.matches.length, 1, `${role} search ${type} found its related resource`);
      return r.matches;
    }
    case 'history': return (await repo.history(ctx, type, id, { count: 10 })).map((e) => e.resource).filter(Boolean);
    case 'create': await repo.create(ctx, template(type, { patient: f.patient, practitioner: f.practitioner, schedule: f.ids.Schedule })); return [];
    case 'update': {
      const cur = JSON.parse((await repo.read(sys, type, id)).json);
      await repo.update(ctx, type, id, cur);
      return [];
    }
    case 'delete': {
      const copy = (await repo.create(sys, template(type, { patient: f.patient, practitioner: f.practitioner, site: f.site, schedule: f.ids.Schedule }))).resource.id;
      await repo.delete(ctx, type, copy);
      return [];
    }
  }
}

for (const role of ROLES) {
  test(`[${DB_LABEL}] matrix: ${role} × ${TYPES.length} types × ${INTERACTIONS.length} interactions follows POLICY`, async () => {
    const wrong: string[] = [];
    for (const type of TYPES) {
      for (const interaction of INTERACTIONS) {
        const rule = ruleFor(role, interaction, type);
        let released: any[] = [];
        let status = 200;
        try { released = await attempt(role, type, interaction); } catch (e) {
          if (!(e instanceof FhirError)) throw e;
          status = e.status;
        }
        if (rule && status !== 200) wrong.push(`${type} ${interaction}: expected allowed, got ${status}`);
        if (!rule && status !== 403) wrong.push(`${type} ${interaction}: expected 403, got ${status}`);
        for (const r of released) {
          if (rule?.mask?.length) {
            for (const k of rule.mask) if (r[k] !== undefined) wrong.push(`${type} ${interaction}: ${k} not masked`);
            if (!r.meta?.security?.some((s: any) => s.code === REDACTED.code)) wrong.push(`${type} ${interaction}: no REDACTED label`);
          } else if (r.meta?.security?.some((s: any) => s.code === REDACTED.code)) {
            wrong.push(`${type} ${interaction}: REDACTED without a mask`);
          }
        }
      }
    }
    assert.deepEqual(wrong, [], `${role}: ${wrong.length} cells differ from POLICY`);
  });
}

test(`[${DB_LABEL}] masked elements are kept on update by a role that cannot see them`, async () => {
  const repo = env.services.repo;
  const rec = contextFor(f, 'receptionist');
  const seen = JSON.parse((await repo.read(rec, 'Patient', f.patient)).json);
  assert.equal(seen.extension, undefined);
  await repo.update(rec, 'Patient', f.patient, { ...seen, telecom: [{ system: 'phone', value: '0601020304' }], extension: [{ url: 'http://example.org/x', valueString: 'forged' }] });
  const stored = JSON.parse((await repo.read(systemContext(f.tenant), 'Patient', f.patient)).json);
  assert.equal(stored.extension[0].valueString, 'O+', 'clinical extension preserved, the forged one ignored');
  assert.equal(stored.telecom[0].value, '0601020304');
  assert.equal(stored.meta.security, undefined, 'the REDACTED label is not stored');
});

test(`[${DB_LABEL}] a technician cannot validate a result; a biologist can`, async () => {
  const repo = env.services.repo;
  const sys = systemContext(f.tenant);
  const obs = JSON.parse((await repo.read(sys, 'Observation', f.ids.Observation)).json);
  await assert.rejects(repo.update(contextFor(f, 'lab_technician'), 'Observation', obs.id, { ...obs, status: 'final' }), (e: any) => e.status === 403);
  await repo.update(contextFor(f, 'biologist'), 'Observation', obs.id, { ...obs, status: 'final' });
  const validated = JSON.parse((await repo.read(sys, 'Observation', obs.id)).json);
  assert.equal(validated.status, 'final');
  // Once validated, the technician can no longer change it.
  await assert.rejects(repo.update(contextFor(f, 'lab_technician'), 'Observation', obs.id, { ...validated, status: 'preliminary' }), (e: any) => e.status === 403);
});

test('every role of the policy table is covered and every rule names known interactions', () => {
  for (const [role, rules] of Object.entries(POLICY)) {
    for (const r of rules) for (const i of r.interactions) assert.ok(INTERACTIONS.includes(i), `${role}: ${i}`);
  }
  assert.ok(ROLES.includes('receptionist') && ROLES.includes('patient') && ROLES.includes('physician'));
});
