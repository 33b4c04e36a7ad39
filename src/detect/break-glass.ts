// Detectors `break-glass` and `export`: the emergency door and the bulk door.
//
// Break-glass rule. An opening is an event with action break-glass (success), or the first event
// with purpose ETREAT for an (actor, patient) pair. Per actor:
// - 3 or more openings in 24 hours, or 6 in 7 days: high (an emergency outside one's care is rare;
//   a habit is not an emergency);
// - an opening on a patient who is the actor's household or coworker: high, at once (a relative's or
//   colleague's emergency is someone else's to handle). A VIP or a namesake has emergencies too:
//   those openings are left to the context, habit and reason rules;
// - an opening on a patient with no care event anywhere in the tenant (order, appointment, specimen,
//   result: CareOracle.lastActivity) in the 24 hours before it: high, at once. A real emergency is
//   a patient being treated now, somewhere in the network; one without any trace is an alibi;
// - a stated reason repeated: the server seals the free-text reason and puts a keyed hash of it in
//   the event detail (`reason=<8 hex>`); the same hash as one of the actor's openings in the last
//   7 days: medium (a pasted reason; every emergency has its own story).
// Each break-glass is reviewed by the DPO anyway; these are the ones that cannot wait.
//
// Export rule. An export.request (detail `patients=<n>`) larger than max(100, 3 × the largest
// earlier export of the same actor): high; more than 1,000 patients: critical. 100 is the size
// above which an export needs a second person (export:bulk); an actor's own history raises it.
// Why: the 2021 laboratory leak left as an export; a break-glass habit is snooping with an alibi.
import { EventWindow, LruMap, Ring } from './bounded.ts';
import { DAY, candidate, who, type AffinityOracle, type AlertCandidate, type CareOracle, type CommittedAccessEvent, type Detector } from './types.ts';

export const BG_PER_DAY = 3;
export const BG_PER_WEEK = 6;
export const CONTEXT_MS = DAY;
export const REASON_MS = 7 * DAY;
export const EXPORT_FLOOR = 100;
export const EXPORT_CRITICAL = 1000;

interface BgState { day: EventWindow; week: EventWindow; reasons: LruMap<string, number> }

export class BreakGlassDetector implements Detector {
  readonly name = 'break-glass';
  private readonly actors = new LruMap<string, BgState>(20_000);
  private readonly opened = new LruMap<string, true>(200_000);
  private readonly exports = new LruMap<string, Ring>(20_000);

  constructor(private readonly affinity: AffinityOracle | null = null, private readonly care: CareOracle | null = null) {}

  observe(e: CommittedAccessEvent): AlertCandidate[] {
    if (e.outcome !== 'success') return [];
    if (e.action === 'export.request') return this.exportRequest(e);
    const explicit = e.action === 'break-glass';
    if (!explicit && e.purpose !== 'ETREAT') return [];
    const actor = `${e.tenantId}|${e.actor.kind}:${e.actor.id}`;
    const fresh = e.patientIds.filter((p) => {
      const k = `${actor}|${p}`;
      if (this.opened.get(k)) return false;
      this.opened.set(k, true);
      return true;
    });
    if (!fresh.length && !(explicit && !e.patientIds.length)) return [];
    const t = e.at.getTime();
    const s = this.actors.upsert(actor, () => ({ day: new EventWindow(DAY, 100), week: new EventWindow(7 * DAY, 200), reasons: new LruMap(50) }));
    const d = s.day.add(t, e.position);
    const w = s.week.add(t, e.position);
    const out: AlertCandidate[] = [];
    if (d >= BG_PER_DAY || w >= BG_PER_WEEK) {
      out.push(candidate(e, 'break-glass', 'high', d >= BG_PER_DAY ? d : w, (d >= BG_PER_DAY ? s.day : s.week).positions(),
        `${who(e)} broke the glass ${d >= BG_PER_DAY ? `${d} times in 24 hours` : `${w} times in 7 days`}`));
    }
    const reason = /(?:^|[;\s])reason=([^;\s]+)/.exec(e.detail ?? '')?.[1];
    if (reason) {
      const last = s.reasons.get(reason);
      s.reasons.set(reason, t);
      if (last !== undefined && t - last <= REASON_MS) out.push(candidate(e, 'break-glass', 'medium', 2, [e.position], `${who(e)} gave a break-glass reason repeated from an earlier one`));
    }
    for (const p of fresh) {
      const aff = this.affinity?.affinity(e.tenantId, e.actor, p);
      if (aff === 'household' || aff === 'coworker') out.push(candidate(e, 'break-glass', 'high', 1, [e.position], `${who(e)} broke the glass on a patient marked ${aff} to them`));
      if (explicit && this.care?.lastActivity) {
        const at = this.care.lastActivity(e.tenantId, p);
        if (at === null || at < t - CONTEXT_MS) out.push(candidate(e, 'break-glass', 'high', 1, [e.position], `${who(e)} broke the glass on a patient with no care event in the network in the last 24 hours`));
      }
    }
    return out;
  }

  tick(_now: Date): AlertCandidate[] { return []; }

  private exportRequest(e: CommittedAccessEvent): AlertCandidate[] {
    const m = /(?:^|[;\s])patients=(\d+)/.exec(e.detail ?? '');
    const n = m ? Number(m[1]) : e.patientIds.length;
    const key = `${e.tenantId}|${e.actor.kind}:${e.actor.id}`;
    const h = this.exports.upsert(key, () => new Ring(20));
    const limit = Math.max(EXPORT_FLOOR, 3 * h.max());
    if (n <= limit) { h.push(n); return []; } // an alerted export does not become the new usual
    return [candidate(e, 'export', n > EXPORT_CRITICAL ? 'critical' : 'high', n, [e.position], `${who(e)} requested an export of ${n} patients (usual limit ${limit})`)];
  }
}
