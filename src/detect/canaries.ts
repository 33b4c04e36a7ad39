// Canary patients: per tenant, synthetic patients that look like any other through the API — valid NIR and
// INS, a treating physician, an order with results, an e-mail address — but that no real work reaches: their
// physician is a directory entry no account is linked to, their order carries no site, and their e-mail
// addresses are on a domain the tenant controls (CERBERE_CANARY_DOMAIN), so a phishing run with a leaked
// file shows up there too. Broad searches return them; any access to one is a critical alert (detector
// `canary`). The list is for the DPO only (CLI), never exposed over the FHIR API.
import { randomBytes, randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { AccessContext } from '../core/context.ts';
import { createGenerator } from '../seed/synthetic.ts';
import { materialize } from '../seed/seed.ts';

/** What canaries need of the repository: the bulk import every seeding uses. */
export interface CanaryWriter { importBatch(ctx: AccessContext, resources: any[]): Promise<string[]> }

const RELOAD_MS = 10_000;

export class Canaries {
  private readonly cache = new Map<string, { ids: Set<string>; until: number }>();
  constructor(private readonly db: Kysely<DB>) {}

  /** Creates `count` canary patients with one order and its results each; returns their ids. */
  async add(repo: CanaryWriter, ctx: AccessContext, count: number, domain: string): Promise<string[]> {
    const gen = createGenerator(randomInt(2 ** 31), { tenant: ctx.tenantId, idSalt: randomBytes(8).toString('hex'), mrnStart: randomInt(100_000, 900_000) });
    const [doctor] = await repo.importBatch(ctx, [gen.practitioner()]);
    const patients = Array.from({ length: count }, () => {
      const p: any = gen.patient();
      p.generalPractitioner = [{ reference: `Practitioner/${doctor}` }];
      const family = String(p.name?.[0]?.family ?? 'patient').normalize('NFD').replace(/[^a-zA-Z]/g, '').toLowerCase() || 'patient';
      const email = { system: 'email', value: `${family}.${randomBytes(3).toString('hex')}@${domain}`, use: 'home' };
      p.telecom = [...(p.telecom ?? []).filter((t: any) => t.system !== 'email'), email];
      return p;
    });
    const ids = await repo.importBatch(ctx, patients);
    const panels = ids.flatMap((id) => materialize(gen.labPanel(`Patient/${id}`, { requester: `Practitioner/${doctor}` }).entries));
    await repo.importBatch(ctx, panels);
    await this.db.insertInto('canaries').values(ids.map((patient_id) => ({ tenant_id: ctx.tenantId, patient_id }))).execute();
    this.cache.delete(ctx.tenantId);
    return ids;
  }

  async list(tenantId: string): Promise<{ patientId: string; createdAt: Date }[]> {
    const rows = await this.db.selectFrom('canaries').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').execute();
    return rows.map((r) => ({ patientId: r.patient_id, createdAt: new Date(r.created_at as unknown as string) }));
  }

  /** Reloads the tenant's canaries when stale; the detector then asks `has` synchronously. */
  async refresh(tenantId: string): Promise<Set<string>> {
    const hit = this.cache.get(tenantId);
    if (hit && hit.until > Date.now()) return hit.ids;
    const ids = new Set((await this.list(tenantId)).map((r) => r.patientId));
    this.cache.set(tenantId, { ids, until: Date.now() + RELOAD_MS });
    return ids;
  }

  /** Whether a patient is a canary, from the last loaded list (the stream loads it before feeding detectors). */
  has(tenantId: string, patientId: string): boolean {
    return this.cache.get(tenantId)?.ids.has(patientId) ?? false;
  }
}
