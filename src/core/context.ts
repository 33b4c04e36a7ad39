// Who is accessing, from where, and why: carried by every repository call and written to each event.
// Ground types: this folder imports nothing of the project (docs/architecture.md).

/**
 * What kind of principal acts. Open: a new kind (an HL7 interface engine, a waiting-room display, a
 * scheduled job) is a new string, given a role in the policy like any other; the built-in ones are:
 * token (API token), client (OAuth client), user (staff account), patient (portal account),
 * system (internal job).
 */
export type BuiltinActorKind = 'token' | 'client' | 'user' | 'patient' | 'system';
export type ActorKind = BuiltinActorKind | 'interface' | 'display' | 'job' | (string & {});

export interface Actor {
  kind: ActorKind;
  /** Internal id of the principal (token id, account id) — never a name or e-mail. */
  id: string;
  role: string;
  /** Site the request is made from (staff working at several sites choose one). */
  siteId?: string | null;
  /** Every site the actor belongs to. */
  siteIds?: string[];
  /** Staff: the Practitioner resource that represents them (care relationships). */
  practitionerId?: string | null;
  /** Patient principal: their own Patient resource id (compartment). */
  patientId?: string | null;
}

export interface BreakGlass { id: string; reason: string; expiresAt: Date }

export interface AccessContext {
  tenantId: string;
  actor: Actor;
  /** Purpose of use (src/core/purposes.ts). */
  purpose: string;
  client?: { tokenId?: string | null; ip?: string | null; userAgent?: string | null; sessionId?: string | null };
  /** Emergency access granted with a reason, time-limited, always recorded and flagged for review. */
  breakGlass?: BreakGlass | null;
}

export function systemContext(tenantId: string, purpose = 'system'): AccessContext {
  return { tenantId, actor: { kind: 'system', id: 'cerbere', role: 'system' }, purpose };
}
