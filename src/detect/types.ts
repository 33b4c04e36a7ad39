// What every detector shares: the injected oracles (care relationships, canaries, affinities), the
// detector contract (observe one committed event at a time, tick for time-based checks), and the
// helpers that build keys and PHI-free summaries (the last keys built are kept: every detector asks
// for the same ones in turn). Imports nothing from the project but the shared Watch types, so the
// engine can be fed by the live stream, a replay, or the evaluation harness.
import type { AlertCandidate, CommittedAccessEvent, Severity } from '../core/watch-types.ts';

export type { AlertCandidate, CommittedAccessEvent, Severity };

/**
 * Why an actor may see a patient:
 * - work: the actor's own documented work on the patient (an order, appointment, specimen or result
 *   this principal wrote itself): the strictest explanation, the one a household pair needs;
 * - care: a care relationship (order, specimen, appointment, result at the actor's site, or a
 *   treating-physician link to the actor's practitioner);
 * - own: the patient's own record (patient portal);
 * - break-glass: an active emergency access for this (actor, patient);
 * - scope: only the role's breadth (tenant-wide roles: receptionist, service, reader), no relationship;
 * - null: nothing (the server refused it, or the relationship is gone).
 */
export type Explanation = 'work' | 'care' | 'own' | 'scope' | 'break-glass' | null;

export interface ActorRef { kind: string; id: string; role: string; siteId: string | null }

/** Sync by design: backed by a cached care_links lookup in the server, by the world in the evaluation. */
export interface CareOracle {
  explain(tenantId: string, actor: ActorRef, patientId: string): Explanation;
  /**
   * Optional: the time (ms) of the newest care event of the patient anywhere in the tenant (order,
   * appointment, specimen, result), or null: an emergency leaves such a trace. Without it the
   * break-glass "no emergency context" rule is off.
   */
  lastActivity?(tenantId: string, patientId: string): number | null;
}

/**
 * Personal affinity between an actor and a patient, computed by the server from blind indexes
 * (HMAC of surname, address) and account links, never from clear values: what makes an access
 * without care look like curiosity rather than work.
 */
export type Affinity = 'household' | 'same-name' | 'coworker' | 'vip' | null;

export interface AffinityOracle {
  affinity(tenantId: string, actor: ActorRef, patientId: string): Affinity;
}

export type CanarySet = (tenantId: string, patientId: string) => boolean;

/** A relationship that justifies access for the release budget: own work, care, own record, break-glass. Not scope. */
export function justifies(e: Explanation): boolean {
  return e === 'work' || e === 'care' || e === 'own' || e === 'break-glass';
}

export interface Detector {
  readonly name: string;
  observe(e: CommittedAccessEvent): AlertCandidate[];
  tick(now: Date): AlertCandidate[];
}

/** The credential an event was made with: the token or client if any, else the actor. */
export function credentialOf(e: Pick<CommittedAccessEvent, 'tokenId' | 'actor'>): string {
  return e.tokenId ? `token:${e.tokenId}` : `${e.actor.kind}:${e.actor.id}`;
}

// The keys below are asked of the same event by every detector in turn, and of the next events of
// the same credential: the last ones are kept, so each is built (and hashed by the Maps) once, not
// once per detector. A kept key is reused only when every field it is made of is equal.
let lastCred = { tenantId: '', tokenId: null as string | null, kind: '', id: '', key: '' };
let lastPair = { cred: '', patientId: '', key: '' };
let lastDedup = { tenantId: '', cred: '', keys: new Map<string, string>() };
let lastWho = { tokenId: null as string | null, kind: '', id: '', role: '', text: '' };

/** `tenant|credential`: the key of a credential's state. */
export function credentialKey(e: Pick<CommittedAccessEvent, 'tenantId' | 'tokenId' | 'actor'>): string {
  const l = lastCred;
  if (e.tenantId === l.tenantId && e.tokenId === l.tokenId && e.actor.kind === l.kind && e.actor.id === l.id) return l.key;
  lastCred = { tenantId: e.tenantId, tokenId: e.tokenId, kind: e.actor.kind, id: e.actor.id, key: `${e.tenantId}|${credentialOf(e)}` };
  return lastCred.key;
}

/** `tenant|credential|patient`: the key of a (credential, patient) pair. */
export function pairKey(e: Pick<CommittedAccessEvent, 'tenantId' | 'tokenId' | 'actor'>, patientId: string): string {
  const cred = credentialKey(e);
  const l = lastPair;
  if (cred === l.cred && patientId === l.patientId) return l.key;
  lastPair = { cred, patientId, key: `${cred}|${patientId}` };
  return lastPair.key;
}

export function dedupKey(tenantId: string | null, kind: string, e: Pick<CommittedAccessEvent, 'tokenId' | 'actor'>): string {
  return `${tenantId ?? '*'}|${kind}|${credentialOf(e)}`;
}

/** dedupKey(e.tenantId, kind, e), kept per credential and kind. */
function eventDedupKey(e: CommittedAccessEvent, kind: string): string {
  const cred = credentialKey(e);
  if (cred !== lastDedup.cred || e.tenantId !== lastDedup.tenantId) lastDedup = { tenantId: e.tenantId, cred, keys: new Map() };
  let k = lastDedup.keys.get(kind);
  if (k === undefined) { k = dedupKey(e.tenantId, kind, e); lastDedup.keys.set(kind, k); }
  return k;
}

/** Actions that release patient data to the caller. */
export const READ_ACTIONS = new Set(['read', 'vread', 'search', 'history', 'export.request', 'export.create', 'export.download', 'bundle', 'batch', 'transaction']);
/** Actions that open one record on purpose (not a row in a result list). */
export const OPEN_ACTIONS = new Set(['read', 'vread', 'history']);
export const WRITE_ACTIONS = new Set(['create', 'update', 'delete']);

export function releases(e: CommittedAccessEvent): boolean {
  return e.outcome === 'success' && e.patientIds.length > 0 && (READ_ACTIONS.has(e.action) || WRITE_ACTIONS.has(e.action));
}

/** One candidate, filled with the fields every detector sets the same way. Summary: ids and counts only. */
export function candidate(e: CommittedAccessEvent, kind: string, severity: Severity, patients: number, evidence: number[], summary: string, at: Date = e.at): AlertCandidate {
  return {
    tenantId: e.tenantId,
    kind,
    severity,
    actor: { kind: e.actor.kind, id: e.actor.id },
    tokenId: e.tokenId,
    at,
    patients,
    evidence: evidence.slice(-50),
    summary,
    dedupKey: eventDedupKey(e, kind),
  };
}

/** `kind:id (role)` and the token, for summaries: internal ids only. */
export function who(e: Pick<CommittedAccessEvent, 'tokenId' | 'actor'>): string {
  const l = lastWho;
  if (e.tokenId === l.tokenId && e.actor.kind === l.kind && e.actor.id === l.id && e.actor.role === l.role) return l.text;
  lastWho = { tokenId: e.tokenId, kind: e.actor.kind, id: e.actor.id, role: e.actor.role, text: whoText(e) };
  return lastWho.text;
}
function whoText(e: Pick<CommittedAccessEvent, 'tokenId' | 'actor'>): string {
  return `${e.actor.kind}:${e.actor.id} (${e.actor.role})${e.tokenId ? ` with token ${e.tokenId}` : ''}`;
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
export function severityRank(s: Severity): number { return RANK[s]; }
export function maxSeverity(a: Severity, b: Severity): Severity { return RANK[a] >= RANK[b] ? a : b; }
