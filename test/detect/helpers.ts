// Event builders for the detector tests: a small world of explained and unexplained patients.
import type { CommittedAccessEvent } from '../../src/core/watch-types.ts';
import type { Affinity, CareOracle, Explanation } from '../../src/detect/types.ts';

export const T = Date.UTC(2025, 2, 10, 9, 0, 0);
let position = 0;

export interface Who { kind?: string; id?: string; role?: string; siteId?: string | null; tokenId?: string | null; ip?: string | null }

export function ev(at: number, action: string, patientIds: string[], who: Who = {}, extra: Partial<CommittedAccessEvent> = {}): CommittedAccessEvent {
  return {
    tenantId: 't1', position: position++, at: new Date(at),
    actor: { kind: who.kind ?? 'user', id: who.id ?? 'u-1', role: who.role ?? 'receptionist', siteId: who.siteId === undefined ? 'site-a' : who.siteId },
    tokenId: who.tokenId ?? null, ip: who.ip === undefined ? '10.1.1.5' : who.ip, purpose: 'TREAT', action, outcome: 'success',
    resourceRefs: patientIds.map((p) => `Patient/${p}`), patientIds, detail: null, ...extra,
  };
}

/** Patients `care-*` are in care for everyone; `own-<actor>` is the actor's own; the rest only by scope. */
export const oracle: CareOracle = {
  explain(_t, actor, p): Explanation {
    if (p.startsWith('care-')) return 'care';
    if (p === `own-${actor.id}`) return 'own';
    return ['receptionist', 'service', 'reader'].includes(actor.role) ? 'scope' : null;
  },
};

export const affinity = { affinity: (_t: string, _a: unknown, p: string): Affinity => (p.startsWith('fam-') ? 'household' : p.startsWith('vip-') ? 'vip' : p.startsWith('cw-') ? 'coworker' : p.startsWith('name-') ? 'same-name' : null) };

export const ids = (prefix: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);
