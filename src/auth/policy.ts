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
};

export const TOKEN_ROLES = ['service', 'reader'] as const;

export function isAllowed(role: string, interaction: Interaction, type: string): boolean {
  const rules = POLICY[role];
  if (!rules) return false;
  return rules.some((r) => (r.types === '*' || r.types.includes(type)) && r.interactions.includes(interaction));
}
