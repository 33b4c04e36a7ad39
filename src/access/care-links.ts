// Care relationships as data: which patient, site and practitioner a resource links (orders, specimens,
// appointments, treating physicians), until when, and the compartment tokens that let a scoped search
// find a patient's resources in SQL. Maintained by the decider (decider.ts) inside each write.
import { sql, type Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { TenantKeys } from '../vault/keyring.ts';
import { blindToken } from '../vault/blind-index.ts';
import { patientOf } from '../fhir/search-params.ts';

/** meta.tag system naming the site (sites.site_id) where an order, specimen or appointment takes place. */
export const SITE_TAG_SYSTEM = 'urn:cerbere:site';

/** Types whose writes create care relationships (see linksOf). */
export const LINK_SOURCES = new Set(['Patient', 'ServiceRequest', 'Specimen', 'Appointment']);

/** The patient's compartment token: in the tokens of every resource of their compartment. */
/** The patient's compartment token under the newest index key (stored in care_links and break_glass). */
export function compartmentToken(keys: TenantKeys, patientId: string): string {
  return blindToken(keys.tokenKey('_compartment', 'patient'), patientId).toString();
}

/** Under every active index key: two while an index-key rotation runs, so rows match either. */
export function compartmentTokens(keys: TenantKeys, patientId: string): string[] {
  return keys.tokenKeysFor('_compartment', 'patient').map((k) => blindToken(k, patientId).toString());
}

/** After an index-key rotation: stored compartment tokens are recomputed under the newest key. */
export async function retokenLinks(db: Kysely<DB>, keys: TenantKeys, tenantId: string): Promise<void> {
  for (const table of ['care_links', 'break_glass'] as const) {
    const ids = (await db.selectFrom(table).select('patient_id').distinct().where('tenant_id', '=', tenantId).execute()).map((r) => r.patient_id);
    for (let i = 0; i < ids.length; i += 5000) {
      const chunk = ids.slice(i, i + 5000);
      await sql`update ${sql.table(table)} t set patient_token = x.tok::bigint from unnest(${chunk}::text[], ${chunk.map((p) => compartmentToken(keys, p))}::text[]) as x(p, tok)
        where t.tenant_id = ${tenantId} and t.patient_id = x.p`.execute(db);
    }
  }
}

/** Adds the compartment token to a resource's blind-index tokens (when it belongs to a patient). */
export function withCompartmentToken(keys: TenantKeys, resource: any, tokens: string[]): string[] {
  const p = patientOf(resource);
  if (!p) return tokens;
  return [...new Set([...tokens, ...compartmentTokens(keys, p)])];
}

export const arr = (x: any): any[] => (x == null ? [] : Array.isArray(x) ? x : [x]);
const practitionerIds = (...xs: any[]): string[] => xs.flatMap(arr)
  .map((r: any) => (typeof r?.reference === 'string' ? /^Practitioner\/([A-Za-z0-9\-.]{1,64})$/.exec(r.reference)?.[1] : undefined))
  .filter((x): x is string => !!x);
export const siteOf = (r: any): string | null => {
  const t = arr(r?.meta?.tag).find((x: any) => x?.system === SITE_TAG_SYSTEM && typeof x.code === 'string');
  return t ? t.code : null;
};

export interface Link { patientId: string; siteId: string; practitionerId: string }

const time = (x: unknown): number | null => {
  if (typeof x !== 'string') return null;
  const t = Date.parse(x);
  return Number.isFinite(t) ? t : null;
};

/**
 * The date a relationship from an order, specimen or appointment counts from: the latest of its
 * clinical dates (order authored/occurrence, specimen collection/reception, appointment start/end)
 * and `writtenAt` (the write being made, so a back-dated import or an update extends it). null for a
 * Patient: a treating physician named there stays linked until the Patient no longer names them.
 */
export function linkDate(r: any, writtenAt: number): number | null {
  if (!r || r.resourceType === 'Patient') return null;
  const dates = r.resourceType === 'ServiceRequest' ? [r.authoredOn, r.occurrenceDateTime, r.occurrencePeriod?.start, r.occurrencePeriod?.end]
    : r.resourceType === 'Specimen' ? [r.receivedTime, r.collection?.collectedDateTime, r.collection?.collectedPeriod?.end]
      : r.resourceType === 'Appointment' ? [r.start, r.end] : [];
  return Math.max(writtenAt, ...dates.map(time).filter((t): t is number => t !== null));
}

/** SQL: the care relationship row c still gives access (not expired). */
export const LIVE = sql`(c.expires_at is null or c.expires_at > now())`;

/** The care relationships a resource explains: an order, specimen or appointment at a site; a treating physician. */
export function linksOf(r: any): Link[] {
  if (!r || !LINK_SOURCES.has(r.resourceType)) return [];
  const patientId = patientOf(r);
  if (!patientId) return [];
  if (r.resourceType === 'Appointment' && ['cancelled', 'noshow', 'entered-in-error'].includes(r.status)) return [];
  if (r.resourceType === 'ServiceRequest' && ['revoked', 'entered-in-error'].includes(r.status)) return [];
  const out: Link[] = [];
  const site = r.resourceType === 'Patient' ? null : siteOf(r);
  if (site) out.push({ patientId, siteId: site, practitionerId: '' });
  const prs = r.resourceType === 'Patient' ? practitionerIds(r.generalPractitioner)
    : r.resourceType === 'ServiceRequest' ? practitionerIds(r.requester, r.performer)
      : r.resourceType === 'Appointment' ? practitionerIds(...arr(r.participant).map((p: any) => p?.actor)) : [];
  for (const p of new Set(prs)) out.push({ patientId, siteId: '', practitionerId: p });
  return out;
}

