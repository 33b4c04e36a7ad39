// Access policy as data: which role may do which interaction on which resource type, within which
// scope, with which elements masked. The repository consults it on every call (through
// src/access/decider.ts); routes never decide access themselves.
export type Interaction = 'read' | 'vread' | 'search' | 'history' | 'create' | 'update' | 'delete';

export const INTERACTIONS: Interaction[] = ['read', 'vread', 'search', 'history', 'create', 'update', 'delete'];
const ALL = INTERACTIONS;
const READS: Interaction[] = ['read', 'vread', 'search', 'history'];

/**
 * Which patients a rule reaches, for resources in a patient compartment (Patient, ServiceRequest,
 * Specimen, Observation, DiagnosticReport, Appointment). Other types (directory, schedules) are
 * always tenant-wide.
 * - tenant: every patient of the tenant;
 * - site: patients with an order, specimen or appointment at one of the actor's sites;
 * - care: as site, or a treating-physician link to the actor's Practitioner (generalPractitioner,
 *   ServiceRequest requester/performer, Appointment participant);
 * - own: the actor's own Patient and the resources whose patient is them (patient portal).
 * Outside its scope an actor may still reach a patient under an active break-glass.
 */
export type Scope = 'tenant' | 'site' | 'care' | 'own';

export interface RoleRule {
  types: '*' | string[];
  interactions: Interaction[];
  scope?: Scope;
  /** Top-level elements removed from released resources (labelled REDACTED in meta.security). */
  mask?: string[];
  /** Allowed values of `status` when this rule permits a write (current and new version). */
  statuses?: string[];
}

/** Types in a patient compartment (scoped rules apply to them); the rest is tenant-wide. */
export const COMPARTMENT_TYPES = ['Patient', 'ServiceRequest', 'Specimen', 'Observation', 'DiagnosticReport', 'Appointment'];
const DIRECTORY = ['Practitioner', 'PractitionerRole', 'Organization', 'Location'];
const SCHEDULING = ['Schedule', 'Slot'];
/** Elements of a Patient that are not identity or contact: clinical extensions (blood group, history…). */
const PATIENT_CLINICAL = ['extension', 'modifierExtension'];
/** Elements of an Appointment that describe why (clinical), not when and where. */
const APPOINTMENT_CLINICAL = ['reasonCode', 'reasonReference', 'supportingInformation', 'comment', 'patientInstruction'];
/** Result statuses a technician may set; final/amended/corrected are the biologist's validation. */
const UNVALIDATED = ['registered', 'preliminary', 'partial', 'cancelled', 'entered-in-error'];

export const POLICY: Record<string, RoleRule[]> = {
  // API client acting for the lab system (LIS): full FHIR access within its tenant.
  service: [{ types: '*', interactions: ALL }],
  // Read-only API client (e.g. a results viewer integration).
  reader: [{ types: '*', interactions: READS }],
  // Internal jobs (seeding, migrations): full access, always audited.
  system: [{ types: '*', interactions: ALL }],
  // Data-protection officer: the access log and incidents, no clinical data by default.
  dpo: [{ types: ['AuditEvent'], interactions: ['read', 'search'] }],
  // External or internal auditor: the access log and its proofs only.
  auditor: [{ types: ['AuditEvent'], interactions: ['read', 'search'] }],
  // Front desk: identity, contact and appointments of any patient of the tenant; no clinical data.
  receptionist: [
    { types: ['Patient'], interactions: ['read', 'vread', 'search', 'history', 'create', 'update'], scope: 'tenant', mask: PATIENT_CLINICAL },
    { types: ['Appointment'], interactions: ALL, scope: 'tenant', mask: APPOINTMENT_CLINICAL },
    { types: SCHEDULING, interactions: ALL },
    { types: DIRECTORY, interactions: READS },
  ],
  // Bench work: specimens and unvalidated results of the patients seen at their site.
  lab_technician: [
    { types: ['Patient', 'ServiceRequest', 'DiagnosticReport'], interactions: READS, scope: 'site' },
    { types: ['Specimen'], interactions: ['read', 'vread', 'search', 'history', 'create', 'update'], scope: 'site' },
    { types: ['Observation'], interactions: ['read', 'vread', 'search', 'history', 'create', 'update'], scope: 'site', statuses: UNVALIDATED },
    { types: [...DIRECTORY, ...SCHEDULING], interactions: READS },
  ],
  // Medical biologist: validates results (any status) of the patients in their care.
  biologist: [
    { types: ['Patient', 'ServiceRequest', 'Specimen'], interactions: READS, scope: 'care' },
    { types: ['Observation', 'DiagnosticReport'], interactions: ['read', 'vread', 'search', 'history', 'create', 'update'], scope: 'care' },
    { types: [...DIRECTORY, ...SCHEDULING], interactions: READS },
  ],
  // Physician: the patients they treat; orders tests and books appointments for them.
  physician: [
    { types: ['Patient', 'Specimen', 'Observation', 'DiagnosticReport'], interactions: READS, scope: 'care' },
    { types: ['ServiceRequest', 'Appointment'], interactions: ['read', 'vread', 'search', 'history', 'create', 'update'], scope: 'care' },
    { types: [...DIRECTORY, ...SCHEDULING], interactions: READS },
  ],
  // Tenant administrator: accounts (capability) and the directory; no patient data at all.
  tenant_admin: [
    { types: DIRECTORY, interactions: ALL },
    { types: SCHEDULING, interactions: READS },
  ],
  // Patient portal: their own compartment, read-only except booking their own appointments.
  patient: [
    { types: ['Patient', 'ServiceRequest', 'Specimen', 'Observation', 'DiagnosticReport'], interactions: ['read', 'vread', 'search'], scope: 'own' },
    { types: ['Appointment'], interactions: ['read', 'vread', 'search', 'create', 'update'], scope: 'own', mask: ['comment'] },
    { types: [...DIRECTORY, ...SCHEDULING], interactions: ['read', 'search'] },
  ],
};

/** Operations outside FHIR CRUD, granted per role (also data, not code paths). */
export type Capability =
  | 'log:read' // tlog-tiles, checkpoints, inclusion and consistency proofs
  | 'audit:investigate' // blast radius, AuditEvent over every patient
  | 'audit:prune' // retention pruning of the access log
  | 'patient:erase' // GDPR Art. 17 crypto-shredding
  | 'keys:manage' // rotation, re-encryption
  | 'accounts:manage' // staff accounts of the tenant
  | 'export:bulk' // request an export above the configured size
  | 'export:approve' // second person approving a bulk export
  | 'break-glass' // emergency access with a reason
  | 'break-glass:review' // list and close break-glass accesses (DPO)
  | 'security:watch' // alerts: list, acknowledge, close; suspend a credential (DPO's security page)
  | 'security:restore' // lift a credential's suspension, set release budgets (administrators)
  | 'search:unlimited'; // not subject to the per-account hourly volume of patients found by search

export const CAPABILITIES: Record<string, Capability[]> = {
  dpo: ['log:read', 'audit:investigate', 'audit:prune', 'patient:erase', 'export:approve', 'break-glass:review', 'security:watch', 'security:restore'],
  auditor: ['log:read'],
  system: ['log:read', 'audit:investigate', 'audit:prune', 'patient:erase', 'keys:manage', 'accounts:manage', 'export:bulk', 'export:approve', 'break-glass:review', 'security:watch', 'security:restore', 'search:unlimited'],
  // Integration clients have their own volume limit (CERBERE_SEARCH_PATIENTS_PER_HOUR_CLIENT).
  tenant_admin: ['accounts:manage', 'security:watch', 'security:restore'],
  physician: ['break-glass'],
  biologist: ['break-glass'],
  lab_technician: ['break-glass'],
};

export function can(role: string, capability: Capability): boolean {
  return CAPABILITIES[role]?.includes(capability) ?? false;
}

export const TOKEN_ROLES = ['service', 'reader', 'dpo', 'auditor'] as const;

const LOG_TYPES = ['AuditEvent'];

/** Every role of the policy table (for the matrix test and the documentation). */
export const ROLES = Object.keys(POLICY);

/** The rule that grants this interaction on this type to this role, or null (denied). */
export function ruleFor(role: string, interaction: Interaction, type: string): RoleRule | null {
  const rules = POLICY[role];
  if (!rules) return null;
  // '*' covers the patient-data types; the access log (AuditEvent) must be named explicitly.
  return rules.find((r) => (r.types === '*' ? !LOG_TYPES.includes(type) : r.types.includes(type)) && r.interactions.includes(interaction)) ?? null;
}

export function isAllowed(role: string, interaction: Interaction, type: string): boolean {
  return ruleFor(role, interaction, type) !== null;
}

/** Scope of a granted rule for a type: non-compartment types are always tenant-wide. */
export function scopeOf(rule: RoleRule, type: string): Scope {
  return COMPARTMENT_TYPES.includes(type) ? rule.scope ?? 'tenant' : 'tenant';
}
