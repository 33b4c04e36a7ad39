// Legitimate work of a laboratory network, day by day: physicians order tests for their patients,
// receptionists book and check patients in (walk-ins looked up before they are booked, phone calls,
// namesakes in every name search), technicians work their site's worklist and take specimens
// (one site runs a night shift), the LIS integration of each site polls orders and posts results,
// biologists validate in rounds and export their cohort weekly, physicians review results at the
// office or from home in the evening, patients read their own results from anywhere at any hour,
// a results-viewer integration fetches each released report, staff mistype passwords and MFA
// codes, and now and then someone breaks the glass in a real emergency.
import { justifies } from '../../src/detect/types.ts';
import type { AccessAttempt } from './sink.ts';
import { DAY, HOUR, MIN, T0, TENANT, int, pick, type Patient, type Rand, type Staff, type World } from './world.ts';

export interface LegitOptions {
  /**
   * Share of front-desk bookings for which the receptionist opens the record (read by id) before
   * the booking is written. By default the booking is made from the search row (name and birth
   * date are on it) and the record is opened from the booked appointment: see docs/detection.md.
   */
  openBeforeBooking?: number;
}

export function legitWorkload(w: World, r: Rand, days: number, lo: LegitOptions = {}): AccessAttempt[] {
  const openFirst = lo.openBeforeBooking ?? 0;
  const out: AccessAttempt[] = [];
  const bySite = new Map(w.sites.map((s) => [s, w.staff.filter((x) => x.siteId === s)]));
  const physicianOf = new Map(w.staff.filter((s) => s.role === 'physician').map((s) => [s.practitioner!, s]));
  const live = w.patients.filter((p) => !p.canary);
  const byHome = new Map(w.sites.map((s) => [s, live.filter((p) => p.site === s)]));
  let sessionSeq = 0;
  const sessions = new Map<string, string>();
  /** A staff member's session: one per half day of work (a login), or per evening at home. */
  const sessionOf = (st: Staff, t: number): string => {
    const k = `${st.id}|${Math.floor(t / (12 * HOUR))}`;
    let s = sessions.get(k);
    if (!s) { s = `s${sessionSeq++}`; sessions.set(k, s); login(st, t - int(r, 30, 600) * 1000, s); }
    return s;
  };
  const ipOf = (st: Staff, t: number) => {
    const h = new Date(t).getUTCHours();
    return st.role === 'physician' && (h >= 19 || h < 7) ? st.homeIp : st.ip;
  };
  const push = (st: Staff, t: number, action: string, patientIds: string[], extra: Partial<AccessAttempt> = {}): void => {
    out.push({
      at: t, tenantId: TENANT, actor: w.staffActor(st), tokenId: null, ip: ipOf(st, t), purpose: 'TREAT', action, outcome: 'success',
      resourceRefs: patientIds.map((p) => `Patient/${p}`), patientIds, detail: null, label: 'legit', instance: null, session: sessionOf(st, t), ...extra,
    });
  };
  const login = (st: Staff, t: number, session: string): void => {
    const base = { tenantId: TENANT, actor: w.staffActor(st), tokenId: null, ip: ipOf(st, t), purpose: 'system', resourceRefs: [], patientIds: [], label: 'legit', instance: null, session };
    const typo = r() < 0.04 ? int(r, 1, 2) : r() < 0.002 ? 6 : 0; // a typo or two; rarely a forgotten password
    for (let k = 0; k < typo; k++) out.push({ ...base, at: t - (typo - k) * 20_000, action: 'auth.login', outcome: 'failure', detail: null });
    if (typo >= 5) out.push({ ...base, at: t - 10_000, action: 'auth.lockout', outcome: 'denied', detail: 'minutes=15' });
    out.push({ ...base, at: t, action: 'auth.login', outcome: 'success', detail: 'password' });
    if (r() < 0.01) out.push({ ...base, at: t + 5_000, action: 'auth.mfa', outcome: 'failure', detail: 'totp' });
    out.push({ ...base, at: t + 15_000, action: 'auth.mfa', outcome: 'success', detail: 'totp' });
  };
  const tokenPush = (tokIdx: number, t: number, action: string, patientIds: string[], extra: Partial<AccessAttempt> = {}): void => {
    const tok = w.tokens[tokIdx];
    out.push({
      at: t, tenantId: TENANT, actor: tok.actor, tokenId: tok.id, ip: tok.ip, purpose: 'TREAT', action, outcome: 'success',
      resourceRefs: patientIds.map((p) => `Patient/${p}`), patientIds, detail: null, label: 'legit', instance: null,
      session: `tok|${tok.id}|${Math.floor(t / HOUR)}`, ...extra,
    });
  };
  // Front-desk searches on the phone are by family name and birth date (the staff search form):
  // the patient and now and then a namesake or two (a birth date not given or mistyped). At the desk
  // the patient's health card is read: a search by identifier (NIR) finds the patient alone.
  const nameSearch = (st: Staff, t: number, p: Patient) => {
    const namesakes = w.search(p.surname, 50).filter((x) => x !== p.id);
    const extra = r() < 0.3 ? namesakes.slice(0, int(r, 1, 2)) : [];
    push(st, t, 'search', [p.id, ...extra]);
  };
  const cardSearch = (st: Staff, t: number, p: Patient) => push(st, t, 'search', [p.id]);
  /** A booking after a lookup: from the search row (the record opened after it), or the record opened first. */
  const book = (st: Staff, t: number, tBook: number, site: string, p: Patient, kind: 'appointment' = 'appointment') => {
    const first = r() < openFirst;
    if (first) push(st, t, 'read', [p.id]);
    push(st, tBook, 'create', [p.id], { links: [{ patientId: p.id, link: { site, practitioner: null, kind } }] });
    if (!first) push(st, tBook + int(r, 5, 30) * 1000, 'read', [p.id]);
  };
  const workTime = (day: number, from: number, to: number) => T0 + day * DAY + from * HOUR + Math.floor(r() * (to - from) * HOUR);

  for (let d = 0; d < days; d++) {
    const weekend = d % 7 >= 5;
    w.sites.forEach((site, s) => {
      const staff = bySite.get(site)!;
      const rec = staff.filter((x) => x.role === 'receptionist');
      const tech = staff.filter((x) => x.role === 'lab_technician' && !x.nightShift);
      const bio = staff.find((x) => x.role === 'biologist')!;
      const home = byHome.get(site)!;
      const visits = Math.round((live.length * 0.05 / w.sites.length) * (weekend ? 0.3 : 1) * (0.8 + 0.4 * r()));
      const results: { p: Patient; at: number }[] = [];
      const orders: { p: Patient; at: number }[] = [];
      for (let v = 0; v < visits; v++) {
        const p = r() < 0.85 ? pick(r, home) : pick(r, live);
        const tv = workTime(d, 7.5, weekend ? 12 : 17.5);
        const gp = physicianOf.get(p.gp)!;
        // The order, by the treating physician, hours to a day before.
        const to = Math.max(T0 + d * DAY + 7 * HOUR, tv - int(r, 1, 20) * HOUR);
        const tOrder = Math.min(to, tv - 10 * MIN);
        orders.push({ p, at: tOrder + 40_000 });
        push(gp, tOrder, 'search', [p.id]);
        push(gp, tOrder + 40_000, 'create', [p.id], { links: [{ patientId: p.id, link: { site, practitioner: p.gp, kind: 'order' } }] });
        // Booking: most by phone earlier in the day, the rest walk in; a lookup, then the booking 20 s to 3 min later.
        const rc = pick(r, rec);
        const tb = r() < 0.6 ? Math.max(T0 + d * DAY + 7 * HOUR, tv - int(r, 1, 6) * HOUR) : tv;
        if (tb !== tv) {
          nameSearch(rc, tb, p);
          book(rc, tb + 15_000, tb + int(r, 20, 180) * 1000, site, p);
          cardSearch(rc, tv, p); push(rc, tv + 10_000, 'read', [p.id]);
        } else {
          // A walk-in with the physician's order (in care at the site): card, record, registration.
          cardSearch(rc, tv, p);
          push(rc, tv + 15_000, 'read', [p.id]);
          push(rc, tv + int(r, 20, 180) * 1000, 'create', [p.id], { links: [{ patientId: p.id, link: { site, practitioner: null, kind: 'appointment' } }] });
        }
        // Specimen at the bench.
        const tt = tv + int(r, 5, 40) * MIN;
        const tc = pick(r, tech);
        const worklist = [p.id, ...Array.from({ length: int(r, 3, 12) }, () => pick(r, home).id).filter((x) => justifies(w.explain(TENANT, w.staffActor(tc), x)))];
        push(tc, tt, 'search', [...new Set(worklist)]);
        push(tc, tt + 30_000, 'read', [p.id]);
        push(tc, tt + 90_000, 'create', [p.id], { links: [{ patientId: p.id, link: { site, practitioner: null, kind: 'specimen' } }] });
        // The LIS posts the result 1 to 4 hours later.
        const tr = tt + int(r, 60, 240) * MIN;
        tokenPush(s, tr, 'create', [p.id], { links: [{ patientId: p.id, link: { site, practitioner: null, kind: 'result' } }] });
        results.push({ p, at: tr });
      }
      // LIS polling of new orders every 10 minutes, 7:00-20:00.
      for (let t = T0 + d * DAY + 7 * HOUR; t < T0 + d * DAY + 20 * HOUR; t += 10 * MIN) {
        const fresh = orders.filter((x) => x.at <= t && x.at > t - 10 * MIN).map((x) => x.p.id);
        tokenPush(s, t + int(r, 1, 30) * 1000, 'search', fresh);
      }
      // Biologist validation rounds at 11:00, 15:00, 18:30: every result since the last round.
      let last = T0 + d * DAY;
      for (const h of [11, 15, 18.5]) {
        const tr = T0 + d * DAY + h * HOUR + int(r, 0, 20) * MIN;
        const batch = results.filter((x) => x.at > last && x.at <= tr);
        last = tr;
        if (!batch.length) continue;
        push(bio, tr, 'search', batch.map((x) => x.p.id));
        batch.forEach((x, i) => {
          const t = tr + (i + 1) * int(r, 20, 60) * 1000;
          push(bio, t, 'read', [x.p.id]);
          push(bio, t + 10_000, 'update', [x.p.id], { links: [{ patientId: x.p.id, link: { site, practitioner: bio.practitioner, kind: 'result' } }] });
          // The results viewer fetches the released report; the physician and the patient read it later.
          tokenPush(w.tokens.length - 1, t + int(r, 1, 10) * MIN, 'read', [x.p.id]);
          const gp = physicianOf.get(x.p.gp)!;
          const evening = r() < gp.eveningAtHome;
          const tp = evening ? T0 + (d + 0) * DAY + (19.5 + 2.5 * r()) * HOUR : t + int(r, 1, 20) * HOUR;
          if (tp > t && tp < T0 + days * DAY && new Date(tp).getUTCHours() >= 7) push(gp, tp, 'read', [x.p.id]);
          if (x.p.account && r() < 0.5) {
            const ta = t + int(r, 1, 48) * HOUR + int(r, 0, 59) * MIN;
            const ip = `${pick(r, [82, 90, 109, 176, 37])}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`;
            const actor = w.patientActor(x.p);
            const session = `portal|${x.p.id}|${ta}`;
            out.push({ at: ta, tenantId: TENANT, actor, tokenId: null, ip, purpose: 'TREAT', action: 'auth.login', outcome: 'success', resourceRefs: [], patientIds: [], detail: 'password', label: 'legit', instance: null, session });
            out.push({ at: ta + 20_000, tenantId: TENANT, actor, tokenId: null, ip, purpose: 'TREAT', action: 'search', outcome: 'success', resourceRefs: [`Patient/${x.p.id}`], patientIds: [x.p.id], detail: null, label: 'legit', instance: null, session });
          }
        });
      }
      // Phone calls to reception: most about an existing appointment or result (a patient in care at
      // the site), the rest new patients who get booked while on the line.
      for (const rc of rec) {
        for (let k = int(r, 3, 8); k > 0; k--) {
          const t = workTime(d, 8, weekend ? 12 : 18);
          w.now = t;
          const inCare = home.filter((x, j) => j % 7 === k % 7 && justifies(w.explain(TENANT, w.staffActor(rc), x.id)));
          const p = r() < 0.7 && inCare.length ? pick(r, inCare) : pick(r, home);
          nameSearch(rc, t, p);
          if (!justifies(w.explain(TENANT, w.staffActor(rc), p.id))) book(rc, t + 20_000, t + int(r, 40, 240) * 1000, site, p);
          else push(rc, t + 20_000, 'read', [p.id]);
        }
      }
      // Night shift at site 0: the technician works the specimens of the day.
      const night = staff.find((x) => x.nightShift);
      if (night) {
        for (const x of results.slice(0, int(r, 5, 15))) push(night, T0 + d * DAY + (20.5 + 8 * r()) * HOUR, 'read', [x.p.id]);
      }
      // Weekly cohort export by the biologist (20-80 patients of the site in care).
      if (d % 7 === s % 7) {
        const cohort = [...new Set(home.filter((p) => justifies(w.explain(TENANT, w.staffActor(bio), p.id))).slice(0, int(r, 20, 80)).map((p) => p.id))];
        push(bio, workTime(d, 9, 16), 'export.request', cohort, { detail: `export=exp-${d}-${s} patients=${cohort.length} approval=not-required`, resourceRefs: [] });
      }
    });
    // An emergency now and then: a patient treated urgently somewhere in the network (a STAT order at
    // a site), and a technician, biologist or physician without care for them breaks the glass to see
    // earlier results, with a reason of their own (the server seals it; the event carries its keyed
    // hash `reason=<8 hex>`), then reads.
    if (r() < 0.4) {
      const st = pick(r, w.staff.filter((x) => ['lab_technician', 'biologist', 'physician'].includes(x.role)));
      const p = pick(r, live);
      const t = workTime(d, 8, 19);
      const doc = physicianOf.get(p.gp)!;
      push(doc, t - int(r, 2, 60) * MIN, 'create', [p.id], { links: [{ patientId: p.id, link: { site: pick(r, w.sites), practitioner: p.gp, kind: 'order' } }] });
      const reason = Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0');
      push(st, t, 'break-glass', [p.id], { purpose: 'ETREAT', breakGlassMinutes: 60, detail: `break-glass=bg;minutes=60;flag=review;reason=${reason}` });
      for (let k = int(r, 1, 3); k > 0; k--) push(st, t + k * int(r, 30, 300) * 1000, 'read', [p.id], { purpose: 'ETREAT' });
    }
  }
  return out;
}
