// Blast radius: which patients did a set of accesses touch, and what kind of their data?
// Given any combination of actors, API tokens, IP ranges, sites, resource types, actions and a
// time window, returns the distinct patients concerned, the data categories per patient, first and
// last access, the number of events and their ids (the evidence: each id is an AuditEvent id and
// an access-log entry). Internal ids only: names are resolved by the DPO through the audited API.
//
// How an event maps to data categories (decided here, documented in docs/dpo-investigation.md):
//  - only events whose outcome is `success` count: a denied or failed request released nothing
//    (they are counted apart, as attempts);
//  - the categories of an event are the union over the resource types of its references:
//      Patient                                    → identity, contact, NIR (name, address/telecom, identifier)
//      Observation, DiagnosticReport              → results
//      ServiceRequest, Specimen, Appointment      → clinical
//      Practitioner, PractitionerRole, Organization, Location, Schedule, Slot → none (no patient data)
//      any other type                             → clinical (conservative);
//    an event naming patients but none of the types above counts as clinical;
//  - every patient named by the event (`patient_ids`) gets all of the event's categories. A search
//    returning Observations with `_include=Observation:subject` therefore marks each returned patient
//    with results AND identity/contact/NIR. The log does not keep which reference belongs to which
//    patient, so this over-approximates (never under-approximates) what one patient exposed;
//  - reads, searches and history are disclosures; creates, updates and deletes count as well
//    (the account could alter or erase the data) — filter with `action` to separate them;
//  - the role does not change the mapping: the repository records exactly what it released,
//    whatever the role.
import { isIP } from 'node:net';
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { AccessContext } from '../core/context.ts';
import type { AccessRecorder } from '../core/access-event.ts';
import { requireCapability } from '../access/capabilities.ts';
import { FhirError } from '../fhir/outcome.ts';

export const CATEGORIES = ['identity', 'contact', 'nir', 'clinical', 'results'] as const;
export type DataCategory = (typeof CATEGORIES)[number];
const BIT: Record<DataCategory, number> = { identity: 1, contact: 2, nir: 4, clinical: 8, results: 16 };

export const TYPE_CATEGORIES: Record<string, DataCategory[]> = {
  Patient: ['identity', 'contact', 'nir'],
  Observation: ['results'],
  DiagnosticReport: ['results'],
  ServiceRequest: ['clinical'],
  Specimen: ['clinical'],
  Appointment: ['clinical'],
  Practitioner: [],
  PractitionerRole: [],
  Organization: [],
  Location: [],
  Schedule: [],
  Slot: [],
};
/** Types not in the table above: assumed to carry clinical data. */
export const UNKNOWN_TYPE_CATEGORIES: DataCategory[] = ['clinical'];

const mask = (cats: DataCategory[]) => cats.reduce((m, c) => m | BIT[c], 0);
export const categoriesOf = (m: number): DataCategory[] => CATEGORIES.filter((c) => m & BIT[c]);

/** Categories of one event, from its references (same rules as the SQL below; used by tests and docs). */
export function eventCategories(resourceRefs: string[], patientIds: string[]): DataCategory[] {
  if (!patientIds.length) return [];
  let m = 0;
  for (const r of resourceRefs) m |= mask(TYPE_CATEGORIES[r.split('/')[0]] ?? UNKNOWN_TYPE_CATEGORIES);
  return categoriesOf(m || BIT.clinical);
}

export interface BlastCriteria {
  actors?: string[];
  tokens?: string[];
  /** CIDR ranges or single addresses, IPv4 or IPv6. IPv4-mapped IPv6 client addresses (::ffff:a.b.c.d) match IPv4 ranges. */
  cidrs?: string[];
  sites?: string[];
  types?: string[];
  actions?: string[];
  since: Date;
  until: Date;
}

export interface PatientExposure {
  patientId: string;
  categories: DataCategory[];
  first: string;
  last: string;
  eventCount: number;
  eventIds: string[];
}

export interface BlastRadius {
  tenantId: string;
  criteria: BlastCriteria;
  generatedAt: string;
  /** Successful events matching the criteria that named at least one patient. */
  events: number;
  /** Denied or failed requests matching the criteria (no data released). */
  attempts: number;
  patients: PatientExposure[];
  /** Distinct patients per category. */
  byCategory: Record<DataCategory, number>;
}

const ID = /^[A-Za-z0-9\-._:@]{1,128}$/;
const TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const ACTION = /^[a-z][a-z0-9-]{0,40}$/;

/** Checks and normalises criteria; throws FhirError 400 with a value-free message. */
export function checkCriteria(c: BlastCriteria): BlastCriteria {
  if (!(c.since instanceof Date) || Number.isNaN(c.since.getTime()) || !(c.until instanceof Date) || Number.isNaN(c.until.getTime())) {
    throw FhirError.badRequest('since and until must be dates with a time zone (ISO 8601)');
  }
  if (c.since >= c.until) throw FhirError.badRequest('since must be before until');
  const list = (name: string, xs: string[] | undefined, re: RegExp) => {
    if (!xs?.length) return undefined;
    if (xs.length > 1000) throw FhirError.badRequest(`too many values for ${name}`);
    if (xs.some((x) => !re.test(x))) throw FhirError.badRequest(`${name} has an invalid value`);
    return [...new Set(xs)];
  };
  return {
    actors: list('actor', c.actors, ID),
    tokens: list('token', c.tokens, ID),
    cidrs: c.cidrs?.length ? [...new Set(c.cidrs.map(normaliseCidr))] : undefined,
    sites: list('site', c.sites, ID),
    types: list('type', c.types, TYPE),
    actions: list('action', c.actions, ACTION),
    since: c.since,
    until: c.until,
  };
}

/** `a.b.c.d[/n]` or `v6[/n]` → canonical text accepted by PostgreSQL's inet. */
export function normaliseCidr(raw: string): string {
  const s = raw.trim();
  const [addr, bits, ...extra] = s.split('/');
  const v = isIP(addr);
  if (!v || extra.length || addr.includes('%')) throw FhirError.badRequest('ip must be an IPv4 or IPv6 address or CIDR range (no zone id)');
  const max = v === 4 ? 32 : 128;
  const n = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(n >= 0 && n <= max)) throw FhirError.badRequest('ip has an invalid prefix length');
  return `${addr.toLowerCase()}/${n}`;
}

// Client addresses as stored (text) → inet; an IPv4-mapped IPv6 address is read as IPv4. The plain
// cast costs ≈1 µs a row; a stored address PostgreSQL cannot parse makes it fail, and the query is
// then re-run with cerbere_try_inet (migration 5, slower), which turns malformed values into NULL.
const ipInet = (safe: boolean) => sql.raw(safe
  ? `cerbere_try_inet(case when e.ip ilike '::ffff:%.%' then substr(e.ip, 8) else e.ip end)`
  : `(case when e.ip ilike '::ffff:%.%' then substr(e.ip, 8) else e.ip end)::inet`);

/** SQL bitmask of an event's categories (same rules as eventCategories). */
function eventMaskSql(): RawBuilder<unknown> {
  const cases = Object.entries(TYPE_CATEGORIES).map(([t, cats]) => `when '${t}' then ${mask(cats)}`).join(' ');
  return sql.raw(`coalesce(nullif((select bit_or(case split_part(r, '/', 1) ${cases} else ${mask(UNKNOWN_TYPE_CATEGORIES)} end)
    from unnest(m.resource_refs) r), 0), ${BIT.clinical})`);
}

function conditions(tenantId: string, c: BlastCriteria, safeIp: boolean): RawBuilder<unknown>[] {
  const w = [sql`e.tenant_id = ${tenantId}`, sql`e.recorded_at >= ${c.since}`, sql`e.recorded_at < ${c.until}`];
  if (c.actors) w.push(sql`e.actor_id = any(${c.actors}::text[])`);
  if (c.tokens) w.push(sql`e.client_id = any(${c.tokens}::text[])`);
  if (c.sites) w.push(sql`e.site_id = any(${c.sites}::text[])`);
  if (c.actions) w.push(sql`e.action = any(${c.actions}::text[])`);
  if (c.types) w.push(sql`exists (select 1 from unnest(e.resource_refs) r where split_part(r, '/', 1) = any(${c.types}::text[]))`);
  if (c.cidrs) w.push(sql`${ipInet(safeIp)} <<= any(${c.cidrs}::inet[])`);
  return w;
}

const TS = (col: string) => sql.raw(`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);

type Row = { events: string; attempts: string; patient_id: string | null; mask: number; first: string; last: string; n: string; ids: string };

/** One scan of the matching events: per-patient aggregates, plus the totals on every row (or alone). */
function query(db: Kysely<DB>, tenantId: string, c: BlastCriteria, safeIp: boolean) {
  const where = sql.join(conditions(tenantId, c, safeIp), sql` and `);
  return sql<Row>`
    with m as materialized (
      select e.leaf_index, e.recorded_at, e.outcome, e.patient_ids, e.resource_refs from audit_events e where ${where}
    ), ev as (
      select m.leaf_index, m.recorded_at, m.patient_ids, ${eventMaskSql()} as mask from m where m.outcome = 'success' and cardinality(m.patient_ids) > 0
    ), per as (
      select p as patient_id, bit_or(ev.mask)::int as mask, ${TS('min(ev.recorded_at)')} as first, ${TS('max(ev.recorded_at)')} as last,
        count(*)::text as n, string_agg(ev.leaf_index::text, ' ' order by ev.leaf_index) as ids
      from ev cross join lateral unnest(ev.patient_ids) as p group by p
    ), totals as (
      select count(*) filter (where outcome = 'success' and cardinality(patient_ids) > 0)::text as events,
        count(*) filter (where outcome <> 'success')::text as attempts from m
    )
    select t.events, t.attempts, per.* from totals t left join per on true order by per.patient_id`.execute(db);
}

/** Runs the query (no authorisation, no recording: see investigate()). */
export async function computeBlastRadius(db: Kysely<DB>, tenantId: string, criteria: BlastCriteria): Promise<BlastRadius> {
  const c = checkCriteria(criteria);
  let rows: Row[];
  try {
    rows = (await query(db, tenantId, c, false)).rows;
  } catch (e) {
    // 22P02: a stored client address is not a valid inet; answer anyway, through the tolerant cast.
    if (!c.cidrs || (e as { code?: string })?.code !== '22P02') throw e;
    rows = (await query(db, tenantId, c, true)).rows;
  }
  const byCategory = Object.fromEntries(CATEGORIES.map((k) => [k, 0])) as Record<DataCategory, number>;
  const patients = rows.filter((r) => r.patient_id !== null).map((r) => {
    const categories = categoriesOf(r.mask);
    for (const k of categories) byCategory[k]++;
    return { patientId: r.patient_id!, categories, first: r.first, last: r.last, eventCount: Number(r.n), eventIds: r.ids.split(' ') };
  });
  return {
    tenantId, criteria: c, generatedAt: new Date().toISOString(),
    events: Number(rows[0]?.events ?? 0), attempts: Number(rows[0]?.attempts ?? 0), patients, byCategory,
  };
}

/** A compact, value-free description of the criteria for the access event of the query itself. */
function describe(c: BlastCriteria, r?: BlastRadius): string {
  const parts = [`since=${c.since.toISOString()}`, `until=${c.until.toISOString()}`];
  for (const [k, v] of [['actor', c.actors], ['token', c.tokens], ['ip', c.cidrs], ['site', c.sites], ['type', c.types], ['action', c.actions]] as const) {
    if (v?.length) parts.push(`${k}=${v.join(',')}`);
  }
  if (r) parts.push(`patients=${r.patients.length}`, `events=${r.events}`);
  const s = parts.join(';');
  return s.length > 2000 ? s.slice(0, 1997) + '...' : s;
}

/** 403 (recorded as a denied access event) unless the role has capability `audit:investigate`. */
export function assertInvestigator(audit: AccessRecorder, ctx: AccessContext): void {
  requireCapability(audit, ctx, 'audit:investigate', { action: 'blast-radius' }, `role ${ctx.actor.role} may not run a blast-radius investigation`);
}

/**
 * Authorised, recorded blast radius: the caller needs capability `audit:investigate`; the query is
 * an access event (action `blast-radius`, no patient ids: it releases internal ids, not patient
 * data, and must not appear in the patients' own access history) written before the result leaves.
 */
export async function investigate(db: Kysely<DB>, audit: AccessRecorder, ctx: AccessContext, criteria: BlastCriteria): Promise<BlastRadius> {
  assertInvestigator(audit, ctx);
  const c = checkCriteria(criteria);
  let result: BlastRadius;
  try {
    result = await computeBlastRadius(db, ctx.tenantId, c);
  } catch (e) {
    if (e instanceof FhirError) throw e;
    throw FhirError.serviceUnavailable('database unavailable', e);
  }
  try {
    await audit.record(ctx, { action: 'blast-radius', outcome: 'success', resourceRefs: [], patientIds: [], detail: describe(c, result) });
  } catch {
    throw FhirError.serviceUnavailable('access log unavailable');
  }
  return result;
}

// ---- output formats ---------------------------------------------------------------------------

/** One line per patient: internal id, categories (;-separated), first and last access, event count, event ids (space-separated). */
export function toCsv(r: BlastRadius): string {
  const lines = ['patient_id,categories,first_access,last_access,event_count,event_ids'];
  for (const p of r.patients) lines.push([p.patientId, p.categories.join(';'), p.first, p.last, p.eventCount, p.eventIds.join(' ')].join(','));
  return lines.join('\n') + '\n';
}

const criteriaParams = (c: BlastCriteria) => [
  { name: 'since', valueInstant: c.since.toISOString() },
  { name: 'until', valueInstant: c.until.toISOString() },
  ...(c.actors ?? []).map((v) => ({ name: 'actor', valueString: v })),
  ...(c.tokens ?? []).map((v) => ({ name: 'token', valueString: v })),
  ...(c.cidrs ?? []).map((v) => ({ name: 'ip', valueString: v })),
  ...(c.sites ?? []).map((v) => ({ name: 'site', valueString: v })),
  ...(c.types ?? []).map((v) => ({ name: 'type', valueCode: v })),
  ...(c.actions ?? []).map((v) => ({ name: 'action', valueCode: v })),
];

/** FHIR Parameters: the criteria, totals, distinct patients per category, and one `patient` part per patient. */
export function toParameters(r: BlastRadius): any {
  return {
    resourceType: 'Parameters',
    parameter: [
      ...criteriaParams(r.criteria),
      { name: 'generated', valueInstant: r.generatedAt },
      { name: 'patientCount', valueInteger: r.patients.length },
      { name: 'eventCount', valueInteger: r.events },
      { name: 'attemptCount', valueInteger: r.attempts },
      ...CATEGORIES.map((k) => ({ name: 'category', part: [{ name: 'code', valueCode: k }, { name: 'patientCount', valueInteger: r.byCategory[k] }] })),
      ...r.patients.map((p) => ({
        name: 'patient',
        part: [
          { name: 'patient', valueReference: { reference: `Patient/${p.patientId}` } },
          ...p.categories.map((k) => ({ name: 'category', valueCode: k })),
          { name: 'firstAccess', valueInstant: p.first },
          { name: 'lastAccess', valueInstant: p.last },
          { name: 'eventCount', valueInteger: p.eventCount },
          ...p.eventIds.map((id) => ({ name: 'event', valueReference: { reference: `AuditEvent/${id}` } })),
        ],
      })),
    ],
  };
}

/** FHIR Bundle (collection): a List of the Patient references, then the Parameters summary. */
export function toBundle(r: BlastRadius): any {
  const list = {
    resourceType: 'List',
    status: 'current',
    mode: 'snapshot',
    title: 'Patients touched (blast radius)',
    code: { coding: [{ system: 'urn:cerbere:list', code: 'blast-radius' }] },
    date: r.generatedAt,
    ...(r.patients.length
      ? { entry: r.patients.map((p) => ({ item: { reference: `Patient/${p.patientId}` } })) }
      : { emptyReason: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason', code: 'nilknown' }] } }),
  };
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: r.generatedAt,
    entry: [
      { fullUrl: `urn:uuid:${randomUUID()}`, resource: list },
      { fullUrl: `urn:uuid:${randomUUID()}`, resource: toParameters(r) },
    ],
  };
}

/** Reads FHIR Parameters (the API's input) into criteria. */
export function criteriaFromParameters(body: any): { criteria: BlastCriteria; format: 'parameters' | 'bundle' | 'csv' } {
  if (!body || body.resourceType !== 'Parameters' || (body.parameter !== undefined && !Array.isArray(body.parameter))) {
    throw FhirError.badRequest('$blast-radius expects a FHIR Parameters resource');
  }
  const c: Partial<BlastCriteria> & Record<string, any> = {};
  let format: 'parameters' | 'bundle' | 'csv' = 'parameters';
  const add = (k: string, v: string) => { (c[k] ??= []).push(v); };
  for (const p of body.parameter ?? []) {
    const name = typeof p?.name === 'string' ? p.name : '';
    const v = p?.valueString ?? p?.valueCode ?? p?.valueId ?? p?.valueDateTime ?? p?.valueInstant ?? p?.valueReference?.reference;
    if (typeof v !== 'string') throw FhirError.badRequest(`parameter ${name.replace(/[^A-Za-z]/g, '').slice(0, 30)} needs a string, code or dateTime value`);
    switch (name) {
      case 'actor': add('actors', v.replace(/^[A-Za-z]+\//, '')); break;
      case 'token': add('tokens', v); break;
      case 'ip': add('cidrs', v); break;
      case 'site': add('sites', v.replace(/^Location\//, '')); break;
      case 'type': add('types', v); break;
      case 'action': add('actions', v); break;
      case 'since': c.since = parseInstant(v, 'since'); break;
      case 'until': c.until = parseInstant(v, 'until'); break;
      case 'format':
        if (v !== 'parameters' && v !== 'bundle' && v !== 'csv') throw FhirError.badRequest('format must be parameters, bundle or csv');
        format = v;
        break;
      default: throw FhirError.badRequest(/^[A-Za-z]{1,40}$/.test(name) ? `unknown parameter ${name}` : 'unknown parameter');
    }
  }
  if (!c.since || !c.until) throw FhirError.badRequest('since and until are required');
  return { criteria: checkCriteria(c as BlastCriteria), format };
}

/** ISO 8601 instant with a time zone (a bare date means midnight UTC). */
export function parseInstant(v: string, name: string): Date {
  const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(v);
  const d = ok ? new Date(v.length === 10 ? `${v}T00:00:00Z` : v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw FhirError.badRequest(`${name} must be an ISO 8601 date-time with a time zone`);
  return d;
}
