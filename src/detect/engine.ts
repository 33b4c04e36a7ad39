// The detection engine: feeds each committed access event, in log order, to every detector, and
// ticks them for time-based checks. It de-duplicates on `dedupKey` (tenant, kind, credential):
// a key raised once is raised again only when its severity rises or after a quiet period (6 h),
// so one extraction is one alert whose evidence grows, not a thousand. It also refuses to let a
// patient id through: a summary that contains an id of the triggering event is scrubbed.
import { LruMap } from './bounded.ts';
import { AuthenticationDetector } from './authentication.ts';
import { BreakGlassDetector } from './break-glass.ts';
import { ContextDetector } from './context.ts';
import { EnumerationDetector } from './enumeration.ts';
import { ExplanationDetector } from './explanation.ts';
import { BudgetDetector, CanaryDetector } from './tripwire.ts';
import { HOUR, severityRank, type AffinityOracle, type AlertCandidate, type CanarySet, type CareOracle, type CommittedAccessEvent, type Detector } from './types.ts';
import { VolumeDetector } from './volume.ts';

export interface EngineOptions {
  care: CareOracle;
  isCanary: CanarySet;
  affinity?: AffinityOracle;
  /** Re-raise an unchanged alert after this long without it (default 6 h). */
  renotifyMs?: number;
  /** Replace the default detector set (tests). */
  detectors?: Detector[];
}

/** raised: new or escalated alerts; merged: candidates folded into an open alert with the same key. */
export interface Outcome { raised: AlertCandidate[]; merged: AlertCandidate[] }

interface Raised { severity: AlertCandidate['severity']; lastAt: number; patients: number }

export class Engine {
  readonly detectors: Detector[];
  private readonly raised = new LruMap<string, Raised>(100_000);
  private readonly renotify: number;

  constructor(opts: EngineOptions) {
    const aff = opts.affinity ?? null;
    this.detectors = opts.detectors ?? [
      new CanaryDetector(opts.isCanary),
      new BudgetDetector(),
      new ExplanationDetector(opts.care, aff),
      new VolumeDetector(),
      new EnumerationDetector(opts.care),
      new ContextDetector(),
      new AuthenticationDetector(),
      new BreakGlassDetector(aff, opts.care),
    ];
    this.renotify = opts.renotifyMs ?? 6 * HOUR;
  }

  /** The new or escalated alerts this event causes (ticks the time-based checks up to its time). */
  observe(e: CommittedAccessEvent): AlertCandidate[] { return this.observeAll(e).raised; }

  /** As observe, plus the candidates merged into an alert already open (they extend its evidence). */
  observeAll(e: CommittedAccessEvent): Outcome {
    const out: AlertCandidate[] = [];
    for (const d of this.detectors) for (const c of d.observe(e)) out.push(scrub(c, e.patientIds));
    return this.dedup(out, e.at.getTime());
  }

  tick(now: Date): AlertCandidate[] { return this.tickAll(now).raised; }

  tickAll(now: Date): Outcome {
    const out: AlertCandidate[] = [];
    for (const d of this.detectors) for (const c of d.tick(now)) out.push(c);
    return this.dedup(out, now.getTime());
  }

  private dedup(cs: AlertCandidate[], now: number): Outcome {
    if (!cs.length) return { raised: cs, merged: [] };
    const out: AlertCandidate[] = [];
    const merged: AlertCandidate[] = [];
    for (const c of cs) {
      const r = this.raised.get(c.dedupKey);
      if (r && severityRank(c.severity) <= severityRank(r.severity) && now - r.lastAt < this.renotify) {
        r.lastAt = now;
        r.patients = Math.max(r.patients, c.patients);
        merged.push(c);
        continue;
      }
      this.raised.set(c.dedupKey, { severity: r && severityRank(r.severity) > severityRank(c.severity) ? r.severity : c.severity, lastAt: now, patients: c.patients });
      out.push(c);
    }
    return { raised: out, merged };
  }
}

/** No patient id in a summary, whatever a detector wrote. */
export function scrub(c: AlertCandidate, patientIds: readonly string[]): AlertCandidate {
  let s = c.summary;
  for (const p of patientIds) if (p && s.includes(p)) s = s.split(p).join('[patient]');
  return s === c.summary ? c : { ...c, summary: s };
}
