// "Who accessed my record" (CSP L1111-19): every access event naming one patient, with the actor's
// display name and role, site, date, action, purpose and break-glass flag, and for each event a
// receipt (src/audit/log/receipt.ts) proving it is in the tenant's signed access log.
//
// Allowed to the patient themself (actor kind 'patient' whose patientId is the record) and to roles
// with capability audit:investigate. Reading the view, or a receipt, is itself an access event.
//
// What it does not prove: that the list is complete. A receipt proves one event is in the log; a
// missing event would need the whole log (tiles) to be shown absent.
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { DB } from '../../core/schema.ts';
import type { AccessRecorder } from '../../core/access-event.ts';
import type { AuditLog } from '../log/log.ts';
import type { AccessContext } from '../../core/context.ts';
import { can } from '../../access/policy.ts';
import { deny } from '../../access/denials.ts';
import { FhirError } from '../../fhir/outcome.ts';
import { resolveActors } from './actors.ts';
import { logView } from '../log/log-view.ts';
import { formatReceipt } from '../log/receipt.ts';

/** What the view reads and records with (the server's Services fit). */
export interface AccessHistoryDeps { audit: AccessRecorder; database: { db: Kysely<DB> }; log: AuditLog }

export interface AccessHistoryEntry {
  /** Leaf index in the tenant's log: the receipt's id. Null while the event is not yet in the tree. */
  event: number | null;
  at: string;
  actor: { kind: string; display: string; role: string; roleLabel: string; self: boolean };
  site: { id: string; name: string | null } | null;
  action: string;
  purpose: string;
  outcome: string;
  breakGlass: boolean;
}

export interface AccessHistory { patientId: string; total: number; entries: AccessHistoryEntry[] }

export function mayReadAccessHistory(ctx: AccessContext, patientId: string): boolean {
  if (ctx.actor.kind === 'patient') return ctx.actor.patientId === patientId;
  return can(ctx.actor.role, 'audit:investigate');
}

/** Emergency access: purpose ETREAT, a break-glass action, or a break-glass mark in the event detail. */
export function isBreakGlass(e: { purpose: string; action: string; detail: string | null }): boolean {
  return e.purpose === 'ETREAT' || e.action === 'break-glass' || /(^|[;,\s])break-?glass\b/i.test(e.detail ?? '');
}

async function authorise(svc: AccessHistoryDeps, ctx: AccessContext, patientId: string, action: string): Promise<void> {
  if (mayReadAccessHistory(ctx, patientId)) return;
  await deny(svc.audit, ctx, { action, resourceRefs: [`Patient/${patientId}`], patientIds: [patientId] },
    FhirError.forbidden('only the patient or the data-protection officer may read this access history'), { wait: 'settled' });
}

/** Writes the access event of this reading before anything is released (fail closed). */
async function recordRead(svc: AccessHistoryDeps, ctx: AccessContext, patientId: string, action: string, detail?: string): Promise<void> {
  try {
    await svc.audit.record(ctx, { action, outcome: 'success', resourceRefs: [`Patient/${patientId}`], patientIds: [patientId], detail });
  } catch (e) {
    throw FhirError.serviceUnavailable('access log unavailable', e);
  }
}

interface Row {
  seq: string; leaf_index: string | null; at: string; actor_kind: string; actor_id: string; role: string; site_id: string | null;
  site_name: string | null; purpose: string; action: string; outcome: string; detail: string | null; total: string;
}

export async function accessHistory(svc: AccessHistoryDeps, ctx: AccessContext, patientId: string, opts: { count?: number; offset?: number } = {}): Promise<AccessHistory> {
  await authorise(svc, ctx, patientId, 'access-log');
  const count = Math.min(Math.max(opts.count ?? 100, 1), 1000);
  const offset = Math.max(opts.offset ?? 0, 0);
  let rows: Row[];
  try {
    rows = (await sql<Row>`select e.seq::text as seq, e.leaf_index::text as leaf_index,
        to_char(e.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at,
        e.actor_kind, e.actor_id, e.role, e.site_id, s.name as site_name, e.purpose, e.action, e.outcome, e.detail,
        (count(*) over ())::text as total
      from audit_events e left join sites s on s.tenant_id = e.tenant_id and s.site_id = e.site_id
      where e.tenant_id = ${ctx.tenantId} and e.patient_ids @> array[${patientId}]::text[]
      order by e.recorded_at desc, e.seq desc limit ${count} offset ${offset}`.execute(svc.database.db)).rows;
  } catch (e) {
    throw FhirError.serviceUnavailable('access log unavailable', e);
  }
  const who = await resolveActors(svc.database.db, ctx.tenantId, rows.map((r) => ({ kind: r.actor_kind, id: r.actor_id, role: r.role })));
  await recordRead(svc, ctx, patientId, 'access-log');
  return {
    patientId,
    total: rows.length ? Number(rows[0].total) : 0,
    entries: rows.map((r) => {
      const self = r.actor_kind === 'patient' && ctx.actor.kind === 'patient' && r.actor_id === ctx.actor.id;
      const info = who({ kind: r.actor_kind, id: r.actor_id, role: r.role });
      return {
        event: r.leaf_index === null ? null : Number(r.leaf_index),
        at: r.at,
        actor: { kind: r.actor_kind, display: self ? 'Vous-même' : info.display, role: r.role, roleLabel: info.roleLabel, self },
        site: r.site_id ? { id: r.site_id, name: r.site_name } : null,
        action: r.action,
        purpose: r.purpose,
        outcome: r.outcome,
        breakGlass: isBreakGlass(r),
      };
    }),
  };
}

const notFound = (index: number) => new FhirError(404, [{ severity: 'error', code: 'not-found', diagnostics: `no access event ${index} for this patient` }]);

/** The tlog-proof receipt of event `index` (leaf index), which must name the patient. */
export async function accessReceipt(svc: AccessHistoryDeps, ctx: AccessContext, patientId: string, index: number): Promise<{ text: string; filename: string }> {
  await authorise(svc, ctx, patientId, 'access-receipt');
  const tenant = ctx.tenantId;
  const view = logView(svc);
  try {
    let snap = await view.snapshot(tenant);
    if (index < snap.base) throw notFound(index);
    if (!snap.checkpoint || snap.checkpoint.size <= index) {
      // Not yet under a signed checkpoint (they are made every 10 s): integrate and sign now.
      await svc.log.integrate(tenant);
      await svc.log.checkpoint(tenant);
      snap = await view.snapshot(tenant, { fresh: true });
      if (!snap.checkpoint || snap.checkpoint.size <= index) throw notFound(index);
    }
    const [entry] = await svc.log.entries(tenant, index, index + 1);
    if (!entry) throw notFound(index);
    const fields = JSON.parse(entry.toString('utf8')) as unknown[];
    if (!Array.isArray(fields[15]) || !(fields[15] as unknown[]).includes(patientId)) throw notFound(index);
    const proof = snap.tree.inclusionProof(index, snap.checkpoint.size);
    await recordRead(svc, ctx, patientId, 'access-receipt', `event=${index}`);
    return { text: formatReceipt({ index, proof, entry, checkpoint: snap.checkpoint.note }), filename: `cerbere-${tenant}-${index}.tlog-proof` };
  } catch (e) {
    if (e instanceof FhirError) throw e;
    throw FhirError.serviceUnavailable('access log unavailable', e);
  }
}
