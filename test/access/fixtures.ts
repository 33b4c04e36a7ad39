// Shared setup of the authorization tests: a tenant with one patient and one resource of every
// type, all related to one practitioner and one site, and access contexts for every role.
import type { AccessContext } from '../../src/core/context.ts';
import { systemContext } from '../../src/core/context.ts';
import type { Services } from '../../src/services.ts';
import { createTenant } from '../../src/store/tenants.ts';
import { SITE_TAG_SYSTEM } from '../../src/access/care-links.ts';

export const CLINICAL_EXT = { url: 'http://example.org/fhir/StructureDefinition/blood-group', valueString: 'O+' };

export interface Fixture {
  tenant: string;
  site: string;
  practitioner: string;
  patient: string;
  ids: Record<string, string>;
}

const siteTag = (site: string) => ({ tag: [{ system: SITE_TAG_SYSTEM, code: site }] });

/** A valid resource of each type about `patient` (for creates). */
export function template(type: string, f: { patient: string; practitioner: string; site?: string; schedule?: string }): any {
  const subject = { reference: `Patient/${f.patient}` };
  const meta = f.site ? siteTag(f.site) : undefined;
  switch (type) {
    case 'Patient': return { resourceType: 'Patient', name: [{ family: 'Nouveau', given: ['Jean'] }], extension: [CLINICAL_EXT], generalPractitioner: [{ reference: `Practitioner/${f.practitioner}` }] };
    case 'Practitioner': return { resourceType: 'Practitioner', name: [{ family: 'Médecin' }] };
    case 'PractitionerRole': return { resourceType: 'PractitionerRole', practitioner: { reference: `Practitioner/${f.practitioner}` } };
    case 'Organization': return { resourceType: 'Organization', name: 'Laboratoire' };
    case 'Location': return { resourceType: 'Location', name: 'Site de Vannes' };
    case 'ServiceRequest': return { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject, requester: { reference: `Practitioner/${f.practitioner}` }, ...(meta ? { meta } : {}) };
    case 'Specimen': return { resourceType: 'Specimen', subject, ...(meta ? { meta } : {}) };
    case 'Observation': return { resourceType: 'Observation', status: 'preliminary', code: { text: 'glycémie' }, subject, valueString: '5.4' };
    case 'DiagnosticReport': return { resourceType: 'DiagnosticReport', status: 'preliminary', code: { text: 'bilan' }, subject };
    case 'Appointment': return {
      resourceType: 'Appointment', status: 'booked', start: '2026-12-01T09:00:00Z', end: '2026-12-01T09:15:00Z', reasonCode: [{ text: 'suivi diabète' }], comment: 'à jeun',
      participant: [{ actor: subject, status: 'accepted' }, { actor: { reference: `Practitioner/${f.practitioner}` }, status: 'accepted' }], ...(meta ? { meta } : {}),
    };
    case 'Schedule': return { resourceType: 'Schedule', actor: [{ reference: `Practitioner/${f.practitioner}` }] };
    case 'Slot': return { resourceType: 'Slot', schedule: { reference: `Schedule/${f.schedule}` }, status: 'free', start: '2026-12-01T09:00:00Z', end: '2026-12-01T09:15:00Z' };
    default: throw new Error(type);
  }
}

export const TYPES = ['Patient', 'Practitioner', 'PractitionerRole', 'Organization', 'Location', 'ServiceRequest', 'Specimen', 'Observation', 'DiagnosticReport', 'Appointment', 'Schedule', 'Slot'];

/** Creates the tenant and one resource of each type; the patient is linked to `site` and `practitioner`. */
export async function seedFixture(svc: Services, tenant: string, site = 'site-a'): Promise<Fixture> {
  await createTenant(svc.database.db, svc.keyring, tenant, `Tenant ${tenant}`);
  const sys = systemContext(tenant);
  const repo = svc.repo;
  const practitioner = (await repo.create(sys, template('Practitioner', { patient: 'x', practitioner: 'x' }))).resource.id;
  const patient = (await repo.create(sys, template('Patient', { patient: 'x', practitioner }))).resource.id;
  const ids: Record<string, string> = { Patient: patient, Practitioner: practitioner };
  const f = { patient, practitioner, site };
  ids.Schedule = (await repo.create(sys, template('Schedule', f))).resource.id;
  for (const type of TYPES) {
    if (ids[type]) continue;
    ids[type] = (await repo.create(sys, template(type, { ...f, schedule: ids.Schedule }))).resource.id;
  }
  return { tenant, site, practitioner, patient, ids };
}

/** A staff or patient context of `role` related to the fixture (its site, its practitioner, its patient). */
export function contextFor(f: Fixture, role: string, over: Partial<AccessContext['actor']> = {}): AccessContext {
  return {
    tenantId: f.tenant,
    actor: {
      kind: role === 'patient' ? 'patient' : ['service', 'reader'].includes(role) ? 'token' : 'user',
      id: `u-${role}`, role, siteId: f.site, siteIds: [f.site], practitionerId: f.practitioner, patientId: f.patient, ...over,
    },
    purpose: 'TREAT',
  };
}
