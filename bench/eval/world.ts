// The synthetic world of the detection evaluation: sites, staff (role, site, practitioner), patients
// (home site, treating physician, household, surname index, VIP, portal account), canaries, and the
// care relationships that grow as the workload runs (orders, appointments, specimens, results).
// Deterministic from a seed. It answers the engine's oracles (care, affinity, canary) at the
// simulation clock, as the server's cached care_links lookup will.
import type { ActorRef, Affinity, Explanation } from '../../src/detect/types.ts';

export const TENANT = 't1';
export const T0 = Date.UTC(2025, 2, 3); // a Monday, 00:00 UTC
export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;
/** A care episode lasts this long after its last order, appointment, specimen or result. */
export const EPISODE_MS = 90 * DAY;

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
export type Rand = () => number;
export const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
export const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

export interface Staff {
  id: string; role: string; siteId: string | null; practitioner: string | null;
  surname: number; household: number | null; patientId: string | null;
  ip: string; homeIp: string; nightShift: boolean; eveningAtHome: number;
}
export interface Token { id: string; role: 'service' | 'reader'; siteId: string | null; ip: string; actor: ActorRef }
export interface Patient {
  id: string; site: string; gp: string; surname: number; household: number; vip: boolean;
  account: string | null; canary: boolean;
}
/** A care relationship; `by`: the principal that wrote it (its own documented work), null for history. */
export interface Link { site: string | null; practitioner: string | null; kind: 'order' | 'appointment' | 'specimen' | 'result'; at: number; by?: string | null }

export interface WorldOptions { seed: number; sites: number; patients: number; physicians: number }

export class World {
  readonly sites: string[];
  readonly staff: Staff[] = [];
  readonly tokens: Token[] = [];
  readonly patients: Patient[] = [];
  readonly byId = new Map<string, Patient>();
  readonly staffById = new Map<string, Staff>();
  readonly bySurname = new Map<number, Patient[]>();
  readonly links = new Map<string, Link[]>();
  private readonly breakGlass = new Map<string, number>();
  private readonly staffPatients = new Set<string>();
  now = T0;

  constructor(readonly opts: WorldOptions) {
    const r = rng(opts.seed);
    this.sites = Array.from({ length: opts.sites }, (_, i) => `site-${i}`);
    // Surnames: a long tail (weight 1/(rank+10)), so namesakes exist without one name dominating.
    const SURNAMES = 600;
    const w = Array.from({ length: SURNAMES }, (_, k) => 1 / (k + 10));
    const total = w.reduce((a, b) => a + b, 0);
    const surname = () => { let x = r() * total; for (let k = 0; k < SURNAMES; k++) { x -= w[k]; if (x <= 0) return k; } return SURNAMES - 1; };
    const physicians = Array.from({ length: opts.physicians }, (_, i) => `pr-${i}`);
    let household = 0;
    for (let i = 0; i < opts.patients; i++) {
      if (i === 0 || r() < 0.55) household++;
      const p: Patient = {
        id: `pat-${(i * 7919 + 13).toString(36)}`, site: pick(r, this.sites), gp: pick(r, physicians), surname: surname(),
        household, vip: r() < 0.01, account: r() < 0.4 ? `acct-${i}` : null, canary: false,
      };
      this.add(p);
    }
    for (let c = 0; c < 3; c++) this.add({ id: `pat-c${c}x${int(r, 100, 999)}`, site: pick(r, this.sites), gp: pick(r, physicians), surname: 10_000 + c, household: -1 - c, vip: false, account: null, canary: true });
    let ip = 10;
    const mk = (role: string, siteId: string | null, practitioner: string | null, s: number, netBase: string): Staff => {
      const isPatient = r() < 0.5 ? pick(r, this.patients.filter((p) => !p.canary && p.site === (siteId ?? p.site)).slice(0, 400)) : null;
      const st: Staff = {
        id: `u-${this.staff.length}`, role, siteId, practitioner, surname: isPatient ? isPatient.surname : surname(),
        household: isPatient ? isPatient.household : r() < 0.3 ? int(r, 1, household) : null, patientId: isPatient?.id ?? null,
        ip: `${netBase}.${ip++ % 250 + 2}`, homeIp: `100.${64 + (s % 60)}.${int(r, 0, 255)}.${int(r, 2, 250)}`, nightShift: false,
        eveningAtHome: role === 'physician' ? (r() < 0.4 ? 0.3 : 0) : 0,
      };
      this.staff.push(st); this.staffById.set(st.id, st);
      return st;
    };
    this.sites.forEach((site, s) => {
      const net = `10.${s + 1}.1`;
      for (let k = 0; k < 3; k++) mk('receptionist', site, null, s, net);
      for (let k = 0; k < 4; k++) mk('lab_technician', site, null, s, net).nightShift = s === 0 && k === 3;
      mk('biologist', site, `pr-bio-${s}`, s, net);
      this.tokens.push({ id: `tok-lis-${s}`, role: 'service', siteId: site, ip: `10.200.${s + 1}.10`, actor: { kind: 'token', id: `tok-lis-${s}`, role: 'service', siteId: site } });
    });
    physicians.forEach((pr, k) => mk('physician', null, pr, 100 + k, `100.${64 + (k % 60)}.${200 + (k % 50)}`));
    for (const st of this.staff) if (st.patientId) this.staffPatients.add(st.patientId);
    this.tokens.push({ id: 'tok-viewer', role: 'reader', siteId: null, ip: '10.200.99.10', actor: { kind: 'token', id: 'tok-viewer', role: 'reader', siteId: null } });
    // History before the simulation: most patients had orders at their home site in the last 180 days.
    for (const p of this.patients) {
      if (p.canary) continue;
      const n = int(r, 0, 4);
      for (let k = 0; k < n; k++) this.addLink(p.id, { site: p.site, practitioner: p.gp, kind: 'order', at: T0 - int(r, 1, 180) * DAY });
    }
  }

  private add(p: Patient): void {
    this.patients.push(p); this.byId.set(p.id, p);
    const l = this.bySurname.get(p.surname) ?? []; l.push(p); this.bySurname.set(p.surname, l);
  }

  staffActor(s: Staff): ActorRef { return { kind: 'user', id: s.id, role: s.role, siteId: s.siteId }; }
  patientActor(p: Patient): ActorRef { return { kind: 'patient', id: p.account!, role: 'patient', siteId: null }; }

  addLink(patientId: string, l: Link): void {
    const xs = this.links.get(patientId) ?? [];
    xs.push(l);
    this.links.set(patientId, xs);
  }

  openBreakGlass(actorId: string, patientId: string, until: number): void { this.breakGlass.set(`${actorId}|${patientId}`, until); }

  /**
   * The CareOracle of the engine and the budget, at the simulation clock, answering as the server's
   * LiveCareOracle does: the principal's own writes on the patient ('work', budget_releases.worked),
   * an active break-glass, a care link at one of its sites or to its practitioner ('care'), else
   * the role's breadth ('scope') or nothing.
   */
  explain(_tenantId: string, actor: ActorRef, patientId: string): Explanation {
    const p = this.byId.get(patientId);
    if (!p) return null;
    if (actor.kind === 'patient') return p.account === actor.id ? 'own' : null;
    const links = (this.links.get(patientId) ?? []).filter((l) => l.at <= this.now && l.at >= this.now - EPISODE_MS);
    if (links.some((l) => l.by === actor.id)) return 'work';
    if ((this.breakGlass.get(`${actor.id}|${patientId}`) ?? 0) > this.now) return 'break-glass';
    const st = this.staffById.get(actor.id);
    const pr = st?.practitioner ?? null;
    if (pr && p.gp === pr) return 'care';
    for (const l of links) {
      if (pr && l.practitioner === pr) return 'care';
      if (actor.siteId && l.site === actor.siteId) return 'care';
      // A tenant-wide results viewer: patients with a result released in the last 30 days. The live
      // oracle has no such rule yet (a site-less reader token gets 'scope'): see docs/detection.md.
      if (actor.kind === 'token' && !actor.siteId && l.kind === 'result' && l.at >= this.now - 30 * DAY) return 'care';
    }
    return ['receptionist', 'service', 'reader', 'system'].includes(actor.role) ? 'scope' : null;
  }

  /** The newest care event of the patient anywhere in the tenant (the trace an emergency leaves). */
  lastActivity(_tenantId: string, patientId: string): number | null {
    let last: number | null = null;
    for (const l of this.links.get(patientId) ?? []) if (l.at <= this.now && (last === null || l.at > last)) last = l.at;
    return last;
  }

  affinity(_tenantId: string, actor: ActorRef, patientId: string): Affinity {
    const st = this.staffById.get(actor.id);
    const p = this.byId.get(patientId);
    if (!st || !p || st.patientId === patientId) return null;
    if (st.household !== null && st.household === p.household) return 'household';
    if (this.staffPatients.has(patientId)) return 'coworker';
    if (p.vip) return 'vip';
    if (st.surname === p.surname) return 'same-name';
    return null;
  }

  isCanary(_tenantId: string, patientId: string): boolean { return this.byId.get(patientId)?.canary ?? false; }

  /** Patients a name search for `surname` returns (at most `max`, canaries never match a real name). */
  search(surname: number, max = 20): string[] { return (this.bySurname.get(surname) ?? []).slice(0, max).map((p) => p.id); }
}
