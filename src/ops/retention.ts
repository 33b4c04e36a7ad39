// Retention rules per tenant and resource type, applied by crypto-shredding.
//   rule 'Patient' N  → a patient with no activity for N years is erased entirely (their key destroyed);
//   rule <Type> N     → resources of that type not written for N years are removed (body, tokens, history).
// "Activity" is the latest lastUpdated of any of the patient's resources (dates inside the
// encrypted bodies are not readable by SQL). The server applies the rules every
// CERBERE_RETENTION_INTERVAL_MINUTES; `cerbere retention purge` applies them now (or --dry-run).
import type { Services } from './services.ts';
import { systemContext } from '../core/context.ts';
import { SUPPORTED_TYPES } from '../fhir/validate.ts';
import { erasePatient } from './erasure.ts';

export class RetentionError extends Error {}

export async function setRetention(svc: Services, tenantId: string, type: string, years: number | null): Promise<void> {
  if (!(SUPPORTED_TYPES as readonly string[]).includes(type)) throw new RetentionError(`unknown resource type ${type.replace(/[^A-Za-z]/g, '').slice(0, 40)}`);
  const db = svc.database.db;
  if (years === null) {
    await db.deleteFrom('retention_rules').where('tenant_id', '=', tenantId).where('resource_type', '=', type).execute();
  } else {
    if (!Number.isInteger(years) || years < 0 || years > 200) throw new RetentionError('years must be an integer between 0 and 200');
    await db.insertInto('retention_rules').values({ tenant_id: tenantId, resource_type: type, keep_years: years })
      .onConflict((oc) => oc.columns(['tenant_id', 'resource_type']).doUpdateSet({ keep_years: years, updated_at: new Date() })).execute();
  }
  await svc.audit.record(systemContext(tenantId, 'retention'), { action: 'retention-set', outcome: 'success', resourceRefs: [], patientIds: [], detail: `type=${type};years=${years ?? 'none'}` });
}

export async function retentionRules(svc: Services, tenantId: string) {
  return svc.database.db.selectFrom('retention_rules').select(['resource_type', 'keep_years', 'updated_at']).where('tenant_id', '=', tenantId).orderBy('resource_type').execute();
}

const yearsBefore = (now: Date, years: number) => { const d = new Date(now); d.setUTCFullYear(d.getUTCFullYear() - years); return d; };

export interface PurgeReport { patientsErased: number; rowsPurged: Record<string, number>; dryRun: boolean }

/** Applies the tenant's rules once; each purge is in the access log (one 'erase' per patient, one 'retention-purge' per batch, one summary). */
export async function purgeTenant(svc: Services, tenantId: string, opts: { dryRun?: boolean; now?: Date } = {}): Promise<PurgeReport> {
  const ctx = systemContext(tenantId, 'retention');
  const now = opts.now ?? new Date();
  const dryRun = !!opts.dryRun;
  const rep: PurgeReport = { patientsErased: 0, rowsPurged: {}, dryRun };
  for (const rule of await retentionRules(svc, tenantId)) {
    const cutoff = yearsBefore(now, rule.keep_years);
    if (rule.resource_type === 'Patient') {
      const gone = await svc.repo.lifecycle.inactivePatients(ctx, cutoff);
      if (!dryRun) for (const p of gone) await erasePatient(svc, ctx, p.patientId, 'retention');
      rep.patientsErased += gone.length;
    } else {
      rep.rowsPurged[rule.resource_type] = await svc.repo.lifecycle.purgeType(ctx, rule.resource_type, cutoff, dryRun);
    }
  }
  await svc.audit.record(ctx, { action: 'retention-purge', outcome: 'success', resourceRefs: [], patientIds: [],
    detail: `dryRun=${dryRun};patients=${rep.patientsErased};` + Object.entries(rep.rowsPurged).map(([t, n]) => `${t}=${n}`).join(',') });
  return rep;
}

/** Server timer: applies every tenant's rules each interval (0 disables). Returns a stop function. */
export function startRetentionTimer(svc: Services, log: (msg: string) => void = () => {}): () => void {
  const minutes = svc.config.retentionIntervalMinutes;
  if (!minutes) return () => {};
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const tenants = await svc.database.db.selectFrom('retention_rules').select('tenant_id').distinct().execute();
      for (const t of tenants) {
        const r = await purgeTenant(svc, t.tenant_id);
        if (r.patientsErased || Object.values(r.rowsPurged).some((n) => n)) log(`retention purge of tenant ${t.tenant_id}: ${r.patientsErased} patients erased`);
      }
    } catch { log('retention purge failed (database or key provider unavailable); retried at the next interval'); } finally { busy = false; }
  };
  const timer = setInterval(() => void tick(), minutes * 60_000);
  timer.unref();
  const first = setTimeout(() => void tick(), 60_000);
  first.unref();
  return () => { clearInterval(timer); clearTimeout(first); };
}
