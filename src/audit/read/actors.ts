// Who an access event's actor is, for people reading the log (a patient's "who accessed my record"
// view): (tenant, actor kind, actor id) → display name and role label. Events hold internal ids only;
// names are looked up at reading time, through resolvers registered per actor kind. API tokens
// resolve to their label; staff accounts plug in their own resolver (registerActorResolver('user', …)).
import type { Kysely } from 'kysely';
import type { DB } from '../../core/schema.ts';

export interface ActorRef { kind: string; id: string; role: string }
export interface ActorInfo { display: string; roleLabel: string }

/** Display names for the given ids of one kind in one tenant; ids it does not know are left out. */
export type ActorResolver = (db: Kysely<DB>, tenantId: string, ids: string[]) => Promise<Map<string, string>>;

/** French labels of roles, as a patient reads them. */
export const ROLE_LABELS: Record<string, string> = {
  service: 'Logiciel du laboratoire',
  reader: 'Application de consultation',
  system: 'Cerbère (traitement automatique)',
  dpo: 'Délégué à la protection des données',
  auditor: 'Auditeur',
  patient: 'Patient',
  practitioner: 'Professionnel de santé',
  biologist: 'Biologiste',
  technician: 'Technicien de laboratoire',
  secretary: 'Secrétariat médical',
  nurse: 'Infirmier·ère',
  admin: 'Administrateur',
};

export const roleLabel = (role: string): string => ROLE_LABELS[role] ?? role;

const resolvers = new Map<string, ActorResolver>();

export function registerActorResolver(kind: string, resolver: ActorResolver): void {
  resolvers.set(kind, resolver);
}

registerActorResolver('token', async (db, tenantId, ids) => {
  const rows = await db.selectFrom('api_tokens').select(['token_id', 'label']).where('tenant_id', '=', tenantId).where('token_id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.token_id, r.label]));
});
registerActorResolver('system', async (_db, _tenantId, ids) => new Map(ids.map((id) => [id, 'Cerbère'])));

const refKey = (kind: string, id: string) => `${kind}\u0000${id}`;

/** Resolves every distinct actor once. Unknown actors show as their kind and a shortened id, never blank. */
export async function resolveActors(db: Kysely<DB>, tenantId: string, actors: readonly ActorRef[]): Promise<(a: ActorRef) => ActorInfo> {
  const byKind = new Map<string, Set<string>>();
  for (const a of actors) {
    if (!byKind.has(a.kind)) byKind.set(a.kind, new Set());
    byKind.get(a.kind)!.add(a.id);
  }
  const names = new Map<string, string>();
  for (const [kind, ids] of byKind) {
    const r = resolvers.get(kind);
    if (!r || !ids.size) continue;
    for (const [id, name] of await r(db, tenantId, [...ids])) names.set(refKey(kind, id), name);
  }
  return (a) => ({
    display: names.get(refKey(a.kind, a.id)) ?? fallback(a),
    roleLabel: roleLabel(a.role),
  });
}

function fallback(a: ActorRef): string {
  const kind = { token: 'Application', user: 'Utilisateur', patient: 'Patient', client: 'Application', system: 'Cerbère' }[a.kind] ?? 'Acteur';
  return `${kind} ${a.id.slice(0, 8)}`;
}
