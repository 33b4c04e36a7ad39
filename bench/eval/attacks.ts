// Injected misuse, each instance labelled with its scenario: snooping by insiders (coworker, family,
// VIP, namesakes), extraction with stolen tokens (fast with a service or reader token, slow at one
// patient a second, id enumeration, at night from a new address), break-glass abuse, a canary
// touched, an oversized export, credential stuffing. Attacks start after two days of learning.
import type { AccessAttempt } from './sink.ts';
import { DAY, HOUR, MIN, T0, TENANT, int, pick, type Rand, type Staff, type World } from './world.ts';

export const SCENARIOS = [
  'coworker-snooping', 'family-snooping', 'vip-snooping', 'same-name', 'fast-extraction-service', 'fast-extraction-reader',
  'slow-extraction', 'id-enumeration', 'night-stolen-token', 'break-glass-abuse', 'canary-touch', 'oversized-export', 'credential-stuffing',
] as const;
export type Scenario = typeof SCENARIOS[number];

export function attacks(w: World, r: Rand, days: number, perScenario: number): AccessAttempt[] {
  const out: AccessAttempt[] = [];
  const live = w.patients.filter((p) => !p.canary);
  const first = Math.min(2, days - 1);
  const when = (from = 8, to = 18) => T0 + int(r, first, days - 1) * DAY + Math.floor((from + r() * (to - from)) * HOUR);
  const staffOf = (role: string) => w.staff.filter((s) => s.role === role);
  const attacker = (_n: number) => `${pick(r, [45, 77, 91, 185, 193, 203])}.${int(r, 0, 255)}.${int(r, 0, 255)}.${int(r, 1, 254)}`;
  let seq = 0;
  for (const sc of SCENARIOS) {
    for (let i = 0; i < perScenario; i++) {
      const instance = `${sc}#${i}`;
      const base = { tenantId: TENANT, purpose: 'TREAT', outcome: 'success' as const, detail: null, label: sc, instance, session: null };
      const asStaff = (st: Staff, t: number, action: string, patientIds: string[], extra: Partial<AccessAttempt> = {}) =>
        out.push({ ...base, at: t, actor: w.staffActor(st), tokenId: null, ip: st.ip, action, resourceRefs: patientIds.map((p) => `Patient/${p}`), patientIds, ...extra });
      const asToken = (k: number, ip: string, t: number, action: string, patientIds: string[], extra: Partial<AccessAttempt> = {}) => {
        const tok = w.tokens[k];
        out.push({ ...base, at: t, actor: tok.actor, tokenId: tok.id, ip, action, resourceRefs: patientIds.map((p) => `Patient/${p}`), patientIds, ...extra });
      };
      const snoop = (st: Staff, targets: string[], t0: number) => targets.forEach((p, k) => {
        const t = t0 + k * int(r, 60, 300) * 1000;
        asStaff(st, t, 'search', w.search(w.byId.get(p)!.surname, 20).concat(p).filter((x, j, a) => a.indexOf(x) === j));
        asStaff(st, t + 20_000, 'read', [p]);
      });
      const rec = pick(r, staffOf('receptionist'));
      const order = [...live].sort(() => r() - 0.5).map((p) => p.id);
      switch (sc) {
        case 'coworker-snooping': {
          const cw = w.staff.filter((s) => s.patientId && s.id !== rec.id).map((s) => s.patientId!);
          snoop(rec, Array.from({ length: int(r, 1, 3) }, () => pick(r, cw)), when());
          break;
        }
        case 'family-snooping': {
          const st = pick(r, w.staff.filter((s) => s.role === 'receptionist' && s.household !== null && live.some((p) => p.household === s.household && p.id !== s.patientId)));
          const fam = live.filter((p) => p.household === st.household && p.id !== st.patientId).map((p) => p.id);
          snoop(st, fam.slice(0, int(r, 1, 3)), when());
          break;
        }
        case 'vip-snooping':
          snoop(rec, Array.from({ length: int(r, 1, 3) }, () => pick(r, live.filter((p) => p.vip)).id), when());
          break;
        case 'same-name': {
          const st = pick(r, w.staff.filter((s) => s.role === 'receptionist' && (w.bySurname.get(s.surname)?.length ?? 0) >= 4));
          const t0 = when();
          const names = w.search(st.surname, 20).filter((p) => p !== st.patientId);
          asStaff(st, t0, 'search', names);
          names.slice(0, int(r, 3, 6)).forEach((p, k) => asStaff(st, t0 + (k + 1) * int(r, 20, 90) * 1000, 'read', [p]));
          break;
        }
        case 'fast-extraction-service':
        case 'fast-extraction-reader': {
          const k = sc === 'fast-extraction-service' ? int(r, 0, w.sites.length - 1) : w.tokens.length - 1;
          const t0 = when(0, 24);
          const ip = attacker(seq++);
          // Pages of 100 patients a second (the 2,000 demo patients in about 20 s), then every record by id.
          const all = w.patients.map((p) => p.id);
          for (let pg = 0; pg * 100 < all.length; pg++) asToken(k, ip, t0 + pg * 1000, 'search', all.slice(pg * 100, pg * 100 + 100));
          break;
        }
        case 'slow-extraction': {
          // An insider on the integration host: its own address, one record a second from a leaked id list.
          const k = int(r, 0, w.sites.length - 1);
          const t0 = when(0, 24);
          order.slice(0, 1200).forEach((p, j) => asToken(k, w.tokens[k].ip, t0 + j * 1000, 'read', [p]));
          break;
        }
        case 'id-enumeration': {
          const k = int(r, 0, w.tokens.length - 1);
          const t0 = when(0, 24);
          const ip = attacker(seq++);
          for (let j = 0; j < 600; j++) {
            const hit = r() < 0.2;
            if (hit) asToken(k, ip, t0 + j * 500, 'read', [order[j]]);
            else asToken(k, ip, t0 + j * 500, 'read', [], { outcome: 'failure', resourceRefs: [`Patient/unknown-${j}`] });
          }
          break;
        }
        case 'night-stolen-token': {
          const k = int(r, 0, w.sites.length - 1);
          const t0 = T0 + int(r, first, days - 1) * DAY + int(r, 1, 4) * HOUR + int(r, 0, 59) * MIN;
          const ip = attacker(seq++);
          order.slice(0, 30).forEach((p, j) => { asToken(k, ip, t0 + j * 20_000, 'search', [p]); asToken(k, ip, t0 + j * 20_000 + 3000, 'read', [p]); });
          break;
        }
        case 'break-glass-abuse': {
          const st = pick(r, w.staff.filter((s) => s.role === 'lab_technician' || s.role === 'biologist'));
          const t0 = when(8, 12);
          // A reason pasted from one opening to the next (its keyed hash repeats).
          const reason = Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0');
          order.slice(0, int(r, 3, 5)).forEach((p, j) => {
            const t = t0 + j * int(r, 20, 60) * MIN;
            asStaff(st, t, 'break-glass', [p], { purpose: 'ETREAT', breakGlassMinutes: 60, detail: `break-glass=bg;minutes=60;flag=review;reason=${reason}` });
            asStaff(st, t + 30_000, 'read', [p], { purpose: 'ETREAT' });
          });
          break;
        }
        case 'canary-touch': {
          const c = pick(r, w.patients.filter((p) => p.canary));
          if (r() < 0.5) asStaff(rec, when(), 'read', [c.id]);
          else asToken(int(r, 0, w.tokens.length - 1), attacker(seq++), when(0, 24), 'read', [c.id]);
          break;
        }
        case 'oversized-export': {
          const st = pick(r, staffOf('biologist'));
          const n = int(r, 300, 1500);
          const ids = order.slice(0, n);
          asStaff(st, when(), 'export.request', ids, { resourceRefs: [], detail: `export=exp-x${i} patients=${ids.length} approval=required` });
          break;
        }
        case 'credential-stuffing': {
          const t0 = when(0, 24);
          const ip = attacker(seq++);
          const victims = w.staff.slice().sort(() => r() - 0.5).slice(0, int(r, 10, 30));
          victims.forEach((v, j) => out.push({
            ...base, at: t0 + j * 2000, actor: j % 3 === 0 ? { kind: 'user', id: `unknown:${seq}-${j}`, role: 'none', siteId: null } : w.staffActor(v),
            tokenId: null, ip, purpose: 'system', action: 'auth.login', outcome: 'failure', resourceRefs: [], patientIds: [],
          }));
          break;
        }
      }
    }
  }
  return out;
}
