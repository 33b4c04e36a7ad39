// Access policy as data: which role may do which interaction on which resource type.
// The repository consults it on every call; routes never decide access themselves.
export type Interaction = 'read' | 'vread' | 'search' | 'history' | 'create' | 'update' | 'delete';

const ALL: Interaction[] = ['read', 'vread', 'search', 'history', 'create', 'update', 'delete'];
const READS: Interaction[] = ['read', 'vread', 'search', 'history'];

interface RoleRule { types: '*' | string[]; interactions: Interaction[] }

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
  | 'break-glass'; // emergency access with a reason

export const CAPABILITIES: Record<string, Capability[]> = {
  dpo: ['log:read', 'audit:investigate', 'audit:prune', 'patient:erase', 'export:approve'],
  auditor: ['log:read'],
  system: ['log:read', 'audit:investigate', 'audit:prune', 'patient:erase', 'keys:manage', 'accounts:manage', 'export:bulk', 'export:approve'],
};

export function can(role: string, capability: Capability): boolean {
  return CAPABILITIES[role]?.includes(capability) ?? false;
}

export const TOKEN_ROLES = ['service', 'reader', 'dpo', 'auditor'] as const;

const LOG_TYPES = ['AuditEvent'];

export function isAllowed(role: string, interaction: Interaction, type: string): boolean {
  const rules = POLICY[role];
  if (!rules) return false;
  // '*' covers the patient-data types; the access log (AuditEvent) must be named explicitly.
  return rules.some((r) => (r.types === '*' ? !LOG_TYPES.includes(type) : r.types.includes(type)) && r.interactions.includes(interaction));
}
