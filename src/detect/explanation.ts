// Detector `unexplained`: records opened without a care relationship.
//
// Rule. Each record an actor opens on purpose (read, vread, history of a patient; not a row in a
// search result) is explained by the actor's own work on the patient, a care relationship, the
// patient's own record or a break-glass (CareOracle). An access explained only by the role's breadth
// (`scope`: receptionist, integration tokens) or by nothing is held for a grace period (30 s: the
// booking or order that explains a lookup is written right after it) and asked again; if still
// unexplained it counts as a first-time unexplained (actor, patient) pair.
// - affinity: a pair whose patient is the actor's household, coworker, namesake or a VIP
//   (AffinityOracle, from blind indexes and account links) and still unexplained after the grace
//   raises an alert at once: the relationship itself is the signal (each open is looked at: the same
//   pair opened again an hour or more after its alert is raised again). For a household pair the site's
//   care link is not enough (a relative in care at one's own site is the easiest snooping): only the
//   actor's own documented work ('work': an order, appointment, specimen or result it wrote itself),
//   the own record or a break-glass (reviewed by the break-glass rule) explain it. If the relative is
//   being seen today (a care event in the network in the last 24 h, CareOracle.lastActivity) the
//   technician taking their specimen writes it a minute later: such a pair is asked again 5 minutes
//   after the access and raised then if the actor's own work still does not explain it;
// - count: first-time unexplained pairs per credential in a rolling hour above
//   max(20, median + 6·MAD of its own past hours, 2 × its busiest past hour) raise an alert: medium,
//   high beyond twice the limit.
// Why: snooping on coworkers, relatives and celebrities is the most common misuse of valid
// credentials in hospitals, and it goes through accounts whose role is allowed to see everyone.
// Severity: medium (high for a VIP or twice the limit); no patient id in any summary.
import { DistinctWindow, LruMap, Ring, madSigma, median } from './bounded.ts';
import {
  DAY, HOUR, OPEN_ACTIONS, candidate, credentialKey, justifies, pairKey, who,
  type Affinity, type AffinityOracle, type AlertCandidate, type CareOracle, type CommittedAccessEvent, type Detector, type Explanation,
} from './types.ts';

/** Whether an explanation covers a pair with this affinity: a household pair needs the actor's own work. */
export function explainsPair(x: Explanation, aff: Affinity): boolean {
  return aff === 'household' ? x === 'work' || x === 'own' || x === 'break-glass' : justifies(x);
}

export interface ExplanationOptions {
  graceMs?: number;
  floorPerHour?: number;
  /** Pairs remembered per tenant (first-time semantics), actors tracked per tenant. */
  pairCap?: number;
  actorCap?: number;
}

interface Pending { e: CommittedAccessEvent; patientId: string; due: number }

export const LATE_MS = 5 * 60_000;
interface ActorState { window: DistinctWindow; hour: number; peak: number; history: Ring; evidence: number[]; cached: number | null }

export class ExplanationDetector implements Detector {
  readonly name = 'unexplained';
  private readonly grace: number;
  private readonly floor: number;
  private readonly seen: LruMap<string, true>;
  private readonly actors: LruMap<string, ActorState>;
  private readonly pending: Pending[] = [];
  /** Household pairs in care at the site whose relative is being seen today: asked again after 5 minutes. */
  private readonly late: Pending[] = [];
  /** Affinity pairs alerted, and when: one alert per pair and hour. */
  private readonly raisedPairs: LruMap<string, number>;

  constructor(private readonly care: CareOracle, private readonly affinity: AffinityOracle | null, opts: ExplanationOptions = {}) {
    this.grace = opts.graceMs ?? 30_000;
    this.floor = opts.floorPerHour ?? 20;
    this.seen = new LruMap(opts.pairCap ?? 200_000);
    this.actors = new LruMap(opts.actorCap ?? 20_000);
    this.raisedPairs = new LruMap(opts.actorCap ?? 20_000);
  }

  observe(e: CommittedAccessEvent): AlertCandidate[] {
    if (e.outcome !== 'success' || !OPEN_ACTIONS.has(e.action) || e.actor.kind === 'system') return this.tick(e.at);
    for (const p of e.patientIds) {
      const key = pairKey(e, p);
      const aff = this.affinityOf(e, p);
      // A pair counts once; an affinity pair is looked at on every open (a relative snooped on again).
      if (!aff && this.seen.get(key)) continue;
      if (explainsPair(this.care.explain(e.tenantId, e.actor, p), aff)) { this.seen.set(key, true); continue; }
      if (this.pending.length < 100_000) this.pending.push({ e, patientId: p, due: e.at.getTime() + this.grace });
    }
    return this.tick(e.at);
  }

  tick(now: Date): AlertCandidate[] {
    const out: AlertCandidate[] = [];
    const t = now.getTime();
    while (this.late.length && this.late[0].due <= t) {
      const { e, patientId } = this.late.shift()!;
      if (explainsPair(this.care.explain(e.tenantId, e.actor, patientId), 'household')) continue;
      out.push(this.affinityAlert(e, 'household', 'with no work of their own on it within 5 minutes', now));
    }
    while (this.pending.length && this.pending[0].due <= t) {
      const { e, patientId } = this.pending.shift()!;
      const key = pairKey(e, patientId);
      const first = !this.seen.get(key);
      this.seen.set(key, true);
      const aff = this.affinityOf(e, patientId);
      if (!aff && !first) continue;
      const x = this.care.explain(e.tenantId, e.actor, patientId);
      if (explainsPair(x, aff)) continue;
      const last = aff ? this.raisedPairs.get(key) : undefined;
      if (aff && (last === undefined || t - last >= HOUR)) {
        this.raisedPairs.set(key, t);
        const seenToday = (this.care.lastActivity?.(e.tenantId, patientId) ?? -Infinity) >= e.at.getTime() - DAY;
        if (aff === 'household' && justifies(x) && seenToday) { if (this.late.length < 100_000) this.late.push({ e, patientId, due: e.at.getTime() + LATE_MS }); }
        else out.push(this.affinityAlert(e, aff, justifies(x) ? 'with no work of their own on it' : 'with no care relationship', now));
      }
      if (!first) continue;
      if (justifies(x)) continue;
      const a = this.state(credentialKey(e), t);
      a.window.add(patientId, e.at.getTime());
      a.evidence.push(e.position);
      if (a.evidence.length > 50) a.evidence.shift();
      const n = a.window.count(t);
      a.peak = Math.max(a.peak, n);
      const limit = this.limit(a);
      if (n > limit) {
        out.push(candidate(e, 'unexplained', n > 2 * limit ? 'high' : 'medium', n, a.evidence,
          `${who(e)} opened ${n} records without care relationship in an hour (limit ${limit})`, now));
      }
    }
    return out;
  }

  private affinityAlert(e: CommittedAccessEvent, aff: Affinity, why: string, now: Date): AlertCandidate {
    return candidate(e, 'unexplained', aff === 'vip' ? 'high' : 'medium', 1, [e.position], `${who(e)} opened the record of a patient marked ${aff} to them, ${why}`, now);
  }

  private affinityOf(e: CommittedAccessEvent, patientId: string): Affinity {
    return this.affinity?.affinity(e.tenantId, e.actor, patientId) ?? null;
  }

  private state(key: string, t: number): ActorState {
    const a = this.actors.upsert(key, () => ({ window: new DistinctWindow(HOUR), hour: Math.floor(t / HOUR), peak: 0, history: new Ring(24 * 14), evidence: [], cached: null }));
    const h = Math.floor(t / HOUR);
    if (h !== a.hour) { if (a.peak > 0 && a.peak <= this.limit(a)) { a.history.push(a.peak); a.cached = null; } a.peak = 0; a.hour = h; }
    return a;
  }

  private limit(a: ActorState): number {
    const xs = a.history.values();
    if (xs.length < 8) return this.floor;
    a.cached ??= Math.ceil(Math.max(this.floor, median(xs) + 6 * madSigma(xs), 2 * a.history.max()));
    return a.cached;
  }
}
