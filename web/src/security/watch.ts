// Client of the watch API (contract: shared-prompts/watch-api.md): alerts of the session's tenant and
// of the host, and credential suspension. Counts only: the API never returns patient names or ids.
import { api } from '../api.ts';

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type AlertState = 'open' | 'acknowledged' | 'closed';
export type CredentialState = 'active' | 'suspended' | 'revoked';
export type CredentialKind = 'token' | 'client' | 'user' | 'patient';
export interface Actor { kind: string; id: string; label?: string }

export interface Alert {
  id: string; tenantId: string | null; kind: string; severity: Severity; state: AlertState; actor: Actor | null;
  tokenId: string | null; firstAt: string; lastAt: string; patients: number; summary: string; credentialState?: CredentialState;
}
export interface TimelineEvent {
  position: number; at: string; action: string; outcome: 'success' | 'denied' | 'failure';
  patients: number; ip: string | null; purpose: string; tokenId: string | null;
}
export interface AlertDetail extends Alert {
  evidence: number[];
  history: { state: AlertState; by: Actor; at: string; note?: string }[];
  timeline: TimelineEvent[];
}
export interface Credential {
  kind: CredentialKind; id: string; label: string; role: string; state: CredentialState;
  suspendedAt: string | null; reason: string | null; alertId: string | null; budget: { used: number; limit: number } | null;
}
/** What the suspend and restore calls name. */
export interface CredentialRef { kind: CredentialKind; id: string; label: string }

export const REASON_MIN = 10;
export const REASON_MAX = 500;
export const ALERT_FILTERS = ['open', 'acknowledged', 'closed', 'all'] as const;
export type AlertFilter = (typeof ALERT_FILTERS)[number];

const enc = encodeURIComponent;
const noteBody = (note: string) => (note.trim() ? { note: note.trim() } : {});

export const watch = {
  alerts: async (state: AlertFilter) => (await api<{ alerts: Alert[] }>(`/watch/alerts?state=${state}`)).alerts,
  alert: (id: string) => api<AlertDetail>(`/watch/alerts/${enc(id)}`),
  ack: (id: string, note: string) => api<Alert>(`/watch/alerts/${enc(id)}/ack`, { body: noteBody(note) }),
  close: (id: string, note: string) => api<Alert>(`/watch/alerts/${enc(id)}/close`, { body: noteBody(note) }),
  suspended: async () => (await api<{ credentials: Credential[] }>('/watch/credentials?state=suspended')).credentials,
  suspend: (c: CredentialRef, reason: string) => api<Credential>('/watch/credentials/suspend', { body: { kind: c.kind, id: c.id, reason } }),
  restore: (c: CredentialRef, reason: string) => api<Credential>('/watch/credentials/restore', { body: { kind: c.kind, id: c.id, reason } }),
};

const CREDENTIAL_KINDS: string[] = ['token', 'client', 'user', 'patient'];

/** The credential an alert is about: its API token, else its actor when that is a principal (not the system). */
export function credentialOf(a: Alert): CredentialRef | null {
  if (a.tokenId) return { kind: 'token', id: a.tokenId, label: (a.actor?.kind === 'token' && a.actor.label) || a.tokenId };
  if (a.actor && CREDENTIAL_KINDS.includes(a.actor.kind)) return { kind: a.actor.kind as CredentialKind, id: a.actor.id, label: a.actor.label || a.actor.id };
  return null;
}
