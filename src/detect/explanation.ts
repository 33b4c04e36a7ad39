// Detector `unexplained`: records opened without a care relationship.
//
// Rule. Each record an actor opens on purpose (read, vread, history of a patient) is explained by a
// care relationship, the patient's own record or a break-glass (CareOracle). An access explained
// only by the role's breadth (`scope`: receptionist, integration tokens) or by nothing is held for
// a grace period (30 s: the booking or order that explains a walk-in usually follows the lookup)
// and asked again; if still unexplained it counts as a first-time unexplained (actor, patient) pair.
// - affinity: such a pair whose patient is the actor's household or coworker (AffinityOracle, from
//   blind indexes and account links) raises an alert after the grace: medium. A namesake or a VIP
//   can be chance (a new patient booked a minute later), so it raises an alert at once when a second
//   such patient is opened without care within 24 h, or when the pair is still unexplained
//   5 minutes after the access: medium, high for a VIP;
// - count: first-time unexplained pairs per credential in a rolling hour above
//   max(20, median + 6·MAD of its own past hours, 2 × its busiest past hour) raise an alert: medium,
//   high beyond twice the limit.
// Why: snooping on coworkers, relatives and celebrities is the most common misuse of valid
// credentials in hospitals, and it goes through accounts whose role is allowed to see everyone.
// Severity: medium (high for VIP or twice the limit); no patient id in any summary.
import { DistinctWindow, LruMap, Ring, madSigma, median } from './bounded.ts';
import {
  DAY, HOUR, OPEN_ACTIONS, candidate, credentialOf, justifies, who,
  type AffinityOracle, type AlertCandidate, type CareOracle, type CommittedAccessEvent, type Detector,
} from './types.ts';

export interface ExplanationOptions {
  graceMs?: number;
  floorPerHour?: number;
  /** Pairs remembered per tenant (first-time semantics), actors tracked per tenant. */
  pairCap?: number;
  actorCap?: number;
}

interface Pending { e: CommittedAccessEvent; patientId: string; due: number }
interface ActorState { window: DistinctWindow; hour: number; peak: number; history: Ring; evidence: number[]; weak: DistinctWindow; weakEvidence: number[]; cached: number | null }

export const LATE_GRACE_MS = 5 * 60_000;

export class ExplanationDetector implements Detector {
  readonly name = 'unexplained';
  private readonly grace: number;
  private readonly floor: number;
  private readonly seen: LruMap<string, true>;
  private readonly actors: LruMap<string, ActorState>;
  private readonly pending: Pending[] = [];
  /** Namesake and VIP pairs waiting for their second look (5 minutes after the access). */
  private readonly late: Pending[] = [];

  constructor(private readonly care: CareOracle, private readonly affinity: AffinityOracle | null, opts: ExplanationOptions = {}) {
    this.grace = opts.graceMs ?? 30_000;
    this.floor = opts.floorPerHour ?? 20;
    this.seen = new LruMap(opts.pairCap ?? 200_000);
    this.actors = new LruMap(opts.actorCap ?? 20_000);
  }

  observe(e: CommittedAccessEvent): AlertCandidate[] {
    if (e.outcome !== 'success' || !OPEN_ACTIONS.has(e.action) || e.actor.kind === 'system') return this.tick(e.at);
    const cred = credentialOf(e);
    const out: AlertCandidate[] = [];
    for (const p of e.patientIds) {
      const key = `${e.tenantId}|${cred}|${p}`;
      if (this.seen.get(key)) continue;
      if (justifies(this.care.explain(e.tenantId, e.actor, p))) { this.seen.set(key, true); continue; }
      const aff = this.affinity?.affinity(e.tenantId, e.actor, p) ?? null;
      if (aff === 'vip' || aff === 'same-name') {
        // Two namesakes or VIPs opened without care in a day is a pattern, not a booking: at once.
        const a = this.state(`${e.tenantId}|${cred}`, e.at.getTime());
        a.weak.add(p, e.at.getTime());
        a.weakEvidence.push(e.position);
        if (a.weakEvidence.length > 20) a.weakEvidence.shift();
        const k = a.weak.count(e.at.getTime());
        if (k >= 2) out.push(candidate(e, 'unexplained', aff === 'vip' ? 'high' : 'medium', k, a.weakEvidence,
          `${who(e)} opened ${k} records of namesakes or VIPs without care relationship in 24 hours`));
      }
      if (this.pending.length < 100_000) this.pending.push({ e, patientId: p, due: e.at.getTime() + this.grace });
    }
    return [...out, ...this.tick(e.at)];
  }

  tick(now: Date): AlertCandidate[] {
    const out: AlertCandidate[] = [];
    const t = now.getTime();
    while (this.late.length && this.late[0].due <= t) {
      const { e, patientId } = this.late.shift()!;
      if (justifies(this.care.explain(e.tenantId, e.actor, patientId))) continue;
      const aff = this.affinity?.affinity(e.tenantId, e.actor, patientId) ?? null;
      out.push(candidate(e, 'unexplained', aff === 'vip' ? 'high' : 'medium', 1, [e.position],
        `${who(e)} opened the record of a patient marked ${aff} to them and no care relationship followed in 5 minutes`, now));
    }
    while (this.pending.length && this.pending[0].due <= t) {
      const { e, patientId } = this.pending.shift()!;
      const cred = credentialOf(e);
      const key = `${e.tenantId}|${cred}|${patientId}`;
      if (this.seen.get(key)) continue;
      this.seen.set(key, true);
      if (justifies(this.care.explain(e.tenantId, e.actor, patientId))) continue;
      const a = this.state(`${e.tenantId}|${cred}`, t);
      a.window.add(patientId, e.at.getTime());
      a.evidence.push(e.position);
      if (a.evidence.length > 50) a.evidence.shift();
      const aff = this.affinity?.affinity(e.tenantId, e.actor, patientId) ?? null;
      if (aff === 'household' || aff === 'coworker') {
        out.push(candidate(e, 'unexplained', 'medium', 1, [e.position],
          `${who(e)} opened the record of a patient marked ${aff} to them, with no care relationship`, now));
      } else if (aff && a.weak.count(t) < 2 && this.late.length < 100_000) {
        this.late.push({ e, patientId, due: e.at.getTime() + LATE_GRACE_MS });
      }
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

  private state(key: string, t: number): ActorState {
    const a = this.actors.upsert(key, () => ({ window: new DistinctWindow(HOUR), hour: Math.floor(t / HOUR), peak: 0, history: new Ring(24 * 14), evidence: [], weak: new DistinctWindow(DAY, 100), weakEvidence: [], cached: null }));
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
