// Detector `enumeration`: records reached by id rather than through the credential's own work.
//
// Rule. Per credential, a patient is "found" when it came back in one of the credential's own
// search results or when the credential created or updated something in its compartment.
// - blind reads: opening by id (read, vread, history) a patient neither found nor explained by
//   care, own record or break-glass; more than 15 in 10 minutes: high (a slow scraper at one
//   patient a second passes it in 16 s; a person scanning a card now and then never does);
// - id probing: opening by id that fails because the id is unknown (outcome failure); more than
//   10 in 10 minutes: high (stale links give one or two);
// - breadth without follow-up: more than 200 distinct unexplained patients (not care, own record or
//   break-glass: a worklist of the site's own orders is not breadth) from searches in an hour, of
//   which under 5 % were then opened or written: medium (a worklist is followed by work; a harvest is not).
// Why: a scraper with a leaked id list, or one guessing ids, never searches the way work does;
// sequential or random ids show up as unknown ids.
// Severity: high for blind reads and probing, medium for breadth.
import { DistinctWindow, EventWindow, LruMap } from './bounded.ts';
import {
  HOUR, MINUTE, OPEN_ACTIONS, WRITE_ACTIONS, candidate, credentialKey, justifies, pairKey, who,
  type AlertCandidate, type CareOracle, type CommittedAccessEvent, type Detector,
} from './types.ts';

interface CredState { blind: EventWindow; probes: EventWindow; searched: DistinctWindow; followed: DistinctWindow; evidence: number[] }

export const BLIND_LIMIT = 15;
export const PROBE_LIMIT = 10;
export const BREADTH_LIMIT = 200;

export class EnumerationDetector implements Detector {
  readonly name = 'enumeration';
  private readonly found: LruMap<string, true>;
  private readonly creds: LruMap<string, CredState>;

  constructor(private readonly care: CareOracle, opts: { foundCap?: number; credentialCap?: number } = {}) {
    this.found = new LruMap(opts.foundCap ?? 500_000);
    this.creds = new LruMap(opts.credentialCap ?? 20_000);
  }

  observe(e: CommittedAccessEvent): AlertCandidate[] {
    if (e.actor.kind === 'system') return [];
    const cred = credentialKey(e);
    const t = e.at.getTime();
    const s = this.creds.upsert(cred, () => ({
      blind: new EventWindow(10 * MINUTE, 200), probes: new EventWindow(10 * MINUTE, 200),
      searched: new DistinctWindow(HOUR, 5000), followed: new DistinctWindow(HOUR, 5000), evidence: [],
    }));
    const out: AlertCandidate[] = [];
    if (e.outcome === 'failure' && OPEN_ACTIONS.has(e.action)) {
      const n = s.probes.add(t, e.position);
      if (n > PROBE_LIMIT) out.push(candidate(e, 'enumeration', 'high', 0, s.probes.positions(50), `${who(e)} asked for ${n} unknown record ids in 10 minutes (limit ${PROBE_LIMIT})`));
      return out;
    }
    if (e.outcome !== 'success') return out;
    if (e.action === 'search') {
      for (const p of e.patientIds) { this.found.set(pairKey(e, p), true); if (!justifies(this.care.explain(e.tenantId, e.actor, p))) s.searched.add(p, t); }
      const n = s.searched.count(t);
      if (n > BREADTH_LIMIT && e.patientIds.length) {
        const followed = s.followed.count(t);
        if (followed < 0.05 * n) out.push(candidate(e, 'enumeration', 'medium', n, [e.position], `${who(e)} searched out ${n} distinct unexplained patients in an hour and opened ${followed} of them`));
      }
      return out;
    }
    if (WRITE_ACTIONS.has(e.action)) {
      for (const p of e.patientIds) { this.found.set(pairKey(e, p), true); s.followed.add(p, t); }
      return out;
    }
    if (!OPEN_ACTIONS.has(e.action)) return out;
    let blind = 0;
    for (const p of e.patientIds) {
      s.followed.add(p, t);
      if (this.found.get(pairKey(e, p))) continue;
      if (justifies(this.care.explain(e.tenantId, e.actor, p))) continue;
      blind++;
    }
    if (blind) {
      let n = 0;
      for (let i = 0; i < blind; i++) n = s.blind.add(t, e.position);
      if (n > BLIND_LIMIT) out.push(candidate(e, 'enumeration', 'high', n, s.blind.positions(50), `${who(e)} opened ${n} records by id in 10 minutes that it never found through its own work (limit ${BLIND_LIMIT})`));
    }
    return out;
  }

  tick(_now: Date): AlertCandidate[] { return []; }
}
