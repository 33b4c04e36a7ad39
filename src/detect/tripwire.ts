// Detectors `canary` and `budget`: tripwires that need no baseline.
//
// Canary rule. Any event at all (read, search row, write, export, break-glass; success or not)
// that names a canary patient (an injected set of decoy records nobody has a reason to open) in its
// patient ids or resource references: critical, at once. Why: the 2021 leak went unseen; a decoy
// in every export and every dump turns a silent copy into an alarm.
//
// Budget rule. An event refused because the principal's patient-release budget is spent
// (outcome denied, detail starting `budget=`): critical, at once. Why: reaching 200 unexplained
// distinct patients in a day is extraction or a broken integration; either needs a person now.
import { candidate, who, type AlertCandidate, type CanarySet, type CommittedAccessEvent, type Detector } from './types.ts';

export class CanaryDetector implements Detector {
  readonly name = 'canary';
  constructor(private readonly isCanary: CanarySet) {}

  observe(e: CommittedAccessEvent): AlertCandidate[] {
    // Distinct canary ids among the patient ids and the Patient/<id>[/…] references (no set built per event).
    let hits: string[] | null = null;
    for (const p of e.patientIds) if (this.isCanary(e.tenantId, p) && !hits?.includes(p)) (hits ??= []).push(p);
    for (let i = 0; i < e.resourceRefs.length; i++) {
      const r = e.resourceRefs[i];
      if (!r.startsWith('Patient/')) continue;
      const q = e.patientIds[i]; // usually the same patient as the id at the same index: already looked at
      if (q !== undefined && r.length === 8 + q.length && r.endsWith(q) && !q.includes('/')) continue;
      const end = r.indexOf('/', 8);
      const p = end < 0 ? r.slice(8) : r.slice(8, end);
      if (this.isCanary(e.tenantId, p) && !hits?.includes(p)) (hits ??= []).push(p);
    }
    if (!hits) return [];
    const n = hits.length;
    return [candidate(e, 'canary', 'critical', n, [e.position], `${who(e)} touched ${n} canary record${n > 1 ? 's' : ''} (${e.action}, ${e.outcome})`)];
  }

  tick(_now: Date): AlertCandidate[] { return []; }
}

export class BudgetDetector implements Detector {
  readonly name = 'budget';
  observe(e: CommittedAccessEvent): AlertCandidate[] {
    if (e.outcome !== 'denied' || !e.detail?.startsWith('budget=')) return [];
    const used = /used=(\d+)/.exec(e.detail)?.[1];
    const limit = /limit=(\d+)/.exec(e.detail)?.[1];
    return [candidate(e, 'budget', 'critical', Number(used ?? 0), [e.position],
      `${who(e)} was cut off: its release budget is spent (${used ?? '?'} of ${limit ?? '?'} unexplained patients in 24 hours)`)];
  }
  tick(_now: Date): AlertCandidate[] { return []; }
}
