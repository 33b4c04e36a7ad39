// Detector `volume`: too many distinct patients through one credential.
//
// Rule. For each credential (the API token or OAuth client if any, else the account) count the
// distinct patients released to it (reads, searches, history, bundles, exports, writes) over a
// sliding 5 minutes and a sliding hour. The limit of each window is the largest of
// - a floor (humans 100 per 5 min and 300 per hour, tokens and clients 150 and 600): a person's
//   worklist is one page (the server caps a page at 100 rows) and a few pages an hour; an
//   integration's polling brings a few dozen; so a new credential is not noisy;
// - its own baseline once it has 12 active windows: median + 8·MAD of its per-window peaks, and
//   1.5 × its busiest window (an established integration may be large); windows that raised an
//   alert never enter the baseline, so an attack does not become the usual;
// - otherwise its role's peers: 2 × the busiest window of any peer credential of the same role.
// Above the limit: high; above 3 × the limit: critical (mass extraction).
// Why: a stolen token emptied 2,000 patients in 79 s with no alert; volume is the one signal every
// extraction has, whatever the path.
// Severity: high, critical above 3 × the limit.
import { DistinctWindow, LruMap, Ring, madSigma, median } from './bounded.ts';
import { HOUR, MINUTE, candidate, credentialKey, releases, who, type AlertCandidate, type CommittedAccessEvent, type Detector } from './types.ts';

interface Span { name: string; ms: number; floorHuman: number; floorToken: number }
export const SPANS: Span[] = [
  { name: '5 minutes', ms: 5 * MINUTE, floorHuman: 100, floorToken: 150 },
  { name: 'an hour', ms: HOUR, floorHuman: 300, floorToken: 600 },
];

interface Track { window: DistinctWindow; peerKey: string; bucket: number; peak: number; history: Ring; alerted: boolean; own: number | null }
interface CredState { tenantId: string; role: string; token: boolean; tracks: Track[]; evidence: number[] }

export class VolumeDetector implements Detector {
  readonly name = 'volume';
  private readonly creds: LruMap<string, CredState>;
  /** Per tenant, role and span: the busiest window of any established credential of that role. */
  private readonly peers = new LruMap<string, number>(10_000);
  constructor(opts: { credentialCap?: number } = {}) {
    this.creds = new LruMap(opts.credentialCap ?? 20_000);
  }

  observe(e: CommittedAccessEvent): AlertCandidate[] {
    if (!releases(e) || e.actor.kind === 'system') return [];
    const key = credentialKey(e);
    const t = e.at.getTime();
    const token = e.tokenId !== null || e.actor.kind === 'token' || e.actor.kind === 'client';
    const s = this.creds.upsert(key, () => ({
      tenantId: e.tenantId, role: e.actor.role, token, evidence: [],
      tracks: SPANS.map((sp, i) => ({ window: new DistinctWindow(sp.ms, 20_000), peerKey: `${e.tenantId}|${e.actor.role}|${i}`, bucket: Math.floor(t / sp.ms), peak: 0, alerted: false, own: null, history: new Ring(sp.ms < HOUR ? 12 * 24 * 7 : 24 * 14) })),
    }));
    s.evidence.push(e.position);
    if (s.evidence.length > 50) s.evidence.shift();
    const out: AlertCandidate[] = [];
    for (let i = 0; i < SPANS.length; i++) {
      const sp = SPANS[i];
      const tr = s.tracks[i];
      const b = Math.floor(t / sp.ms);
      if (b !== tr.bucket) {
        if (tr.peak > 0 && !tr.alerted) { tr.history.push(tr.peak); tr.own = null; } // an alerted window never becomes the usual
        if (tr.history.length >= 12) {
          this.peers.set(tr.peerKey, Math.max(this.peers.peek(tr.peerKey) ?? 0, tr.history.max()));
        }
        tr.peak = 0; tr.alerted = false; tr.bucket = b;
      }
      for (const p of e.patientIds) tr.window.add(p, t);
      const n = tr.window.count(t);
      tr.peak = Math.max(tr.peak, n);
      const limit = this.limit(e.tenantId, s, i);
      if (n > limit) {
        tr.alerted = true;
        out.push(candidate(e, 'volume', n > 3 * limit ? 'critical' : 'high', n, s.evidence,
          `${who(e)} received ${n} distinct patients in ${sp.name} (limit ${limit})`));
      }
    }
    return out;
  }

  tick(_now: Date): AlertCandidate[] { return []; }

  /** The limit of span `i` for this credential (see the rule above). */
  limit(tenantId: string, s: CredState, i: number): number {
    const sp = SPANS[i];
    const floor = s.token ? sp.floorToken : sp.floorHuman;
    const tr = s.tracks[i];
    const h = tr.history;
    if (h.length >= 12) {
      // The baseline only changes when a window closes: computed once per window, not per event.
      if (tr.own === null) { const xs = h.values(); tr.own = Math.max(median(xs) + 8 * madSigma(xs), 1.5 * h.max()); }
      return Math.ceil(Math.max(floor, tr.own));
    }
    const peer = this.peers.peek(tenantId === s.tenantId ? tr.peerKey : `${tenantId}|${s.role}|${i}`) ?? 0;
    return Math.ceil(Math.max(floor, 2 * peer));
  }
}
