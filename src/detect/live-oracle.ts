// The detectors' CareOracle for the running server. Detectors ask synchronously; before each batch of
// committed events (and before each tick) the runner prefetches what they will ask: the care relationships
// of the batch's patients, the sites, practitioner and own patient of the batch's accounts, and the
// patients each credential worked on itself (wrote: budget_releases.worked). Bounded caches.
import { sql, type Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { ActorRef, CareOracle, CommittedAccessEvent, Explanation } from './types.ts';
import { POLICY, scopeOf } from '../access/policy.ts';

interface Account { sites: string[]; practitioner: string | null; patient: string | null }
interface Link { site: string; practitioner: string }

const RECENT_MS = 6 * 60_000;
const CAP = 50_000;

export class LiveCareOracle implements CareOracle {
  private readonly links = new Map<string, Link[]>();
  private readonly accounts = new Map<string, Account>();
  private readonly worked = new Map<string, Set<string>>();
  private readonly breakGlass = new Map<string, Set<string>>();
  /** Patients loaded recently, re-read before ticks (explanations asked again after a grace). */
  private readonly recent = new Map<string, { tenantId: string; patientId: string; at: number }>();

  constructor(private readonly db: Kysely<DB>) {}

  async prefetch(events: CommittedAccessEvent[]): Promise<void> {
    const byTenant = new Map<string, { patients: Set<string>; users: Set<string>; principals: Set<string> }>();
    for (const e of events) {
      if (!e.patientIds.length) continue;
      let t = byTenant.get(e.tenantId);
      if (!t) { t = { patients: new Set(), users: new Set(), principals: new Set() }; byTenant.set(e.tenantId, t); }
      for (const p of e.patientIds) t.patients.add(p);
      if (e.actor.kind === 'user' || e.actor.kind === 'patient') t.users.add(e.actor.id);
      t.principals.add(`${e.actor.kind}:${e.actor.id}`);
    }
    for (const [tenantId, t] of byTenant) await this.load(tenantId, [...t.patients], [...t.users], [...t.principals]);
  }

  /** Re-reads relationships of patients seen in the last minutes (before the detectors' timed re-checks). */
  async refreshRecent(now = Date.now()): Promise<void> {
    const byTenant = new Map<string, string[]>();
    for (const [k, r] of this.recent) {
      if (now - r.at > RECENT_MS) { this.recent.delete(k); continue; }
      (byTenant.get(r.tenantId) ?? byTenant.set(r.tenantId, []).get(r.tenantId)!).push(r.patientId);
    }
    for (const [tenantId, patients] of byTenant) await this.load(tenantId, patients, [], []);
  }

  private async load(tenantId: string, patients: string[], users: string[], principals: string[]): Promise<void> {
    if (this.links.size > CAP) this.links.clear();
    if (this.recent.size > CAP) this.recent.clear();
    const rows = patients.length ? (await sql<{ patient_id: string; site_id: string; practitioner_id: string }>`select patient_id, site_id, practitioner_id
      from care_links where tenant_id = ${tenantId} and patient_id = any(${patients}::text[]) and (expires_at is null or expires_at > now())`.execute(this.db)).rows : [];
    for (const p of patients) { this.links.set(`${tenantId}\0${p}`, []); this.recent.set(`${tenantId}\0${p}`, { tenantId, patientId: p, at: Date.now() }); }
    for (const r of rows) this.links.get(`${tenantId}\0${r.patient_id}`)!.push({ site: r.site_id, practitioner: r.practitioner_id });
    const missing = users.filter((u) => !this.accounts.has(`${tenantId}\0${u}`));
    if (missing.length) {
      if (this.accounts.size > CAP) this.accounts.clear();
      const acc = await this.db.selectFrom('accounts').select(['account_id', 'site_ids', 'practitioner_id', 'patient_id'])
        .where('tenant_id', '=', tenantId).where('account_id', 'in', missing).execute();
      for (const a of acc) this.accounts.set(`${tenantId}\0${a.account_id}`, { sites: a.site_ids ?? [], practitioner: a.practitioner_id, patient: a.patient_id });
    }
    if (principals.length && patients.length) {
      const w = await sql<{ principal: string; patient_id: string }>`select principal, patient_id from budget_releases where tenant_id = ${tenantId}
        and worked and principal = any(${principals}::text[]) and patient_id = any(${patients}::text[])`.execute(this.db);
      if (this.worked.size > CAP) this.worked.clear();
      for (const r of w.rows) {
        const k = `${tenantId}\0${r.principal}`;
        (this.worked.get(k) ?? this.worked.set(k, new Set()).get(k)!).add(r.patient_id);
      }
      // Break-glass grants active now or within the last hour (the event may be integrated after it ended).
      const bg = await sql<{ p: string; patient_id: string }>`select actor_kind || ':' || actor_id as p, patient_id from break_glass
        where tenant_id = ${tenantId} and patient_id = any(${patients}::text[]) and expires_at > now() - interval '1 hour'`.execute(this.db);
      if (this.breakGlass.size > CAP) this.breakGlass.clear();
      for (const r of bg.rows) {
        const k = `${tenantId}\0${r.p}`;
        (this.breakGlass.get(k) ?? this.breakGlass.set(k, new Set()).get(k)!).add(r.patient_id);
      }
    }
  }

  explain(tenantId: string, actor: ActorRef, patientId: string): Explanation {
    const acc = this.accounts.get(`${tenantId}\0${actor.id}`);
    if (actor.kind === 'patient') return acc?.patient === patientId ? 'own' : null;
    if (this.worked.get(`${tenantId}\0${actor.kind}:${actor.id}`)?.has(patientId)) return 'work';
    if (this.breakGlass.get(`${tenantId}\0${actor.kind}:${actor.id}`)?.has(patientId)) return 'break-glass';
    const links = this.links.get(`${tenantId}\0${patientId}`) ?? [];
    const sites = acc?.sites ?? (actor.siteId ? [actor.siteId] : []);
    if (links.some((l) => (l.site && sites.includes(l.site)) || (l.practitioner && acc?.practitioner && l.practitioner === acc.practitioner))) return 'care';
    const rule = POLICY[actor.role]?.find((r) => r.types === '*' || r.types.includes('Patient'));
    return rule && scopeOf(rule, 'Patient') === 'tenant' ? 'scope' : null;
  }
}
