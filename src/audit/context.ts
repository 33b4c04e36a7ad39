// Who is accessing, from where, and why: carried by every repository call and written to each event.
export interface Actor {
  kind: 'token' | 'user' | 'system';
  id: string;
  role: string;
  siteId?: string | null;
}

export interface AccessContext {
  tenantId: string;
  actor: Actor;
  purpose: string;
  client?: { tokenId?: string | null; ip?: string | null };
}

export function systemContext(tenantId: string, purpose = 'system'): AccessContext {
  return { tenantId, actor: { kind: 'system', id: 'cerbere', role: 'system' }, purpose };
}
