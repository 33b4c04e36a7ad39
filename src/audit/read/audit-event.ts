// FHIR AuditEvent views of the access log, shaped as IHE BALP (Basic Audit Log Patterns). They are
// produced on the fly from `audit_events` rows, never stored as FHIR resources. The id of an
// AuditEvent is the event's leaf index in the tenant's Merkle log (stable, unique, scoped by the tenant in every query).
//
// Mapping of an event (see docs/dpo-investigation.md):
//   type      FHIR REST interactions → audit-event-type#rest; logins/MFA → DCM 110114; exports → DCM 110106;
//             reads of the log itself (audit-*, blast-radius, log-*) → DCM 110101; anything else → DCM 110100.
//   subtype   restful-interaction code (read, vread, history-instance, search-type, create, update, delete)
//             and always urn:cerbere:action|<internal action name>.
//   action    C R U D E; outcome 0 success, 4 denied (refused by policy), 8 failure.
//   agent     the requesting actor (who = identifier urn:cerbere:actor:<kind>|<internal id>, role, site,
//             purpose of use), the client (DCM 110153, API token id, IP) and the server (DCM 110152).
//   entity    each resource reference (System Object / Domain Resource), the query (param names only,
//             never values: values are not in the log) and each patient (Person / Patient).
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '../../core/schema.ts';
import { EVENT_COLUMNS, type EventRow } from '../record/entry.ts';
import { FhirError } from '../../fhir/outcome.ts';
import { AUDIT_EVENT_SEARCH_PARAMS } from '../../fhir/audit-event-params.ts';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const REST = 'http://hl7.org/fhir/restful-interaction';
export const CERBERE_ACTION = 'urn:cerbere:action';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.';

/** Purposes of use that are v3-ActReason codes (others, e.g. "system", are given as text). */
const ACT_REASONS = new Set(['TREAT', 'ETREAT', 'HPAYMT', 'HOPERAT', 'PATRQT', 'PUBHLTH', 'HRESCH', 'HSYSADMIN', 'COVERAGE']);

interface Coding { system: string; code: string; display?: string }

/** Classification of internal action names, in order; `re` is used both in JS and as a PostgreSQL regex. */
interface ActionRule { re: string; type: Coding; action: 'C' | 'R' | 'U' | 'D' | 'E'; rest?: string; profile?: string }
const RULES: ActionRule[] = [
  { re: '^read$', type: { system: EVENT_TYPE, code: 'rest', display: 'Restful Operation' }, action: 'R', rest: 'read', profile: 'Read' },
  { re: '^vread$', type: { system: EVENT_TYPE, code: 'rest', display: 'Restful Operation' }, action: 'R', rest: 'vread', profile: 'Read' },
  { re: '^history$', type: { system: EVENT_TYPE, code: 'rest', display: 'Restful Operation' }, action: 'R', rest: 'history-instance', profile: 'Read' },
  { re: '^search$', type: { system: EVENT_TYPE, code: 'rest', display: 'Restful Operation' }, action: 'E', rest: 'search-type', profile: 'Query' },
  { re: '^create$', type: { system: EVENT_TYPE, code: 'rest', display: 'Restful Operation' }, action: 'C', rest: 'create', profile: 'Create' },
  { re: '^update$', type: { system: EVENT_TYPE, code: 'rest', display: 'Restful Operation' }, action: 'U', rest: 'update', profile: 'Update' },
  { re: '^delete$', type: { system: EVENT_TYPE, code: 'rest', display: 'Restful Operation' }, action: 'D', rest: 'delete', profile: 'Delete' },
  { re: '^(login|logout|mfa)', type: { system: DCM, code: '110114', display: 'User Authentication' }, action: 'E' },
  { re: '^export', type: { system: DCM, code: '110106', display: 'Export' }, action: 'R' },
  { re: '^(audit-|blast-radius|log-)', type: { system: DCM, code: '110101', display: 'Audit Log Used' }, action: 'E' },
];
const FALLBACK: ActionRule = { re: '', type: { system: DCM, code: '110100', display: 'Application Activity' }, action: 'E' };
const COMPILED = RULES.map((r) => ({ ...r, rx: new RegExp(r.re) }));

export function classifyAction(action: string): ActionRule {
  return COMPILED.find((r) => r.rx.test(action)) ?? FALLBACK;
}

const OUTCOME: Record<string, string> = { success: '0', denied: '4', failure: '8' };
const OUTCOME_BACK: Record<string, string> = { 0: 'success', 4: 'denied', 8: 'failure' };

const coding = (c: Coding) => ({ system: c.system, code: c.code, ...(c.display ? { display: c.display } : {}) });
const strings = (json: string): string[] => { const a = JSON.parse(json ?? '[]'); return Array.isArray(a) ? a.map(String) : []; };

function purposeConcept(purpose: string) {
  return ACT_REASONS.has(purpose) ? { coding: [{ system: ACT_REASON, code: purpose }] } : { text: purpose };
}

/** Reference (or identifier) for a `resource_refs` element: `Type/id`, `Type/id/_history/n`, `Type/#hash` or `Type`. */
function entityWhat(ref: string): Record<string, unknown> {
  const unknown = /^([A-Z][A-Za-z]+)\/#(-?[0-9a-f]+)$/.exec(ref);
  if (unknown) return { type: unknown[1], identifier: { system: 'urn:cerbere:unknown-id-hash', value: unknown[2] } };
  if (/^[A-Z][A-Za-z]+$/.test(ref)) return { type: ref };
  return { reference: ref };
}

/** One access event as a FHIR R4 AuditEvent (BALP-shaped). */
export function toAuditEvent(tenantId: string, row: LoggedRow): any {
  const rule = classifyAction(row.action);
  const refs = strings(row.resource_refs);
  const patients = strings(row.patient_ids);
  const success = row.outcome === 'success';
  const profile = success && rule.profile ? `${BALP}${patients.length ? 'Patient' : ''}${rule.profile}` : null;
  const purpose = purposeConcept(row.purpose);
  const writes = rule.action === 'C' || rule.action === 'U' || rule.action === 'D';
  const agent: any[] = [{
    type: { coding: [writes ? { system: PARTICIPATION, code: 'AUT', display: 'author (originator)' } : { system: PARTICIPATION, code: 'IRCP', display: 'information recipient' }] },
    role: [{ coding: [{ system: 'urn:cerbere:role', code: row.role }] }],
    who: { identifier: { system: `urn:cerbere:actor:${row.actor_kind}`, value: row.actor_id } },
    requestor: true,
    ...(row.site_id ? { location: { identifier: { system: 'urn:cerbere:site', value: row.site_id } } } : {}),
    purposeOfUse: [purpose],
  }];
  if (row.client_id || row.ip) {
    agent.push({
      type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
      ...(row.client_id ? { who: { identifier: { system: 'urn:cerbere:api-token', value: row.client_id } } } : {}),
      requestor: false,
      ...(row.ip ? { network: { address: row.ip, type: '2' } } : {}),
    });
  }
  agent.push({ type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] }, who: { display: 'Cerbère FHIR server' }, requestor: false });

  const entity: any[] = refs.map((ref) => ({
    what: entityWhat(ref),
    type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
    role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
  }));
  if (row.action === 'search' || row.action === 'audit-search') {
    // The log keeps the names of the parameters, never their values.
    entity.push({
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
      query: Buffer.from(row.detail ?? '', 'utf8').toString('base64'),
    });
  }
  for (const p of patients) {
    entity.push({ what: { reference: `Patient/${p}` }, type: { system: ENTITY_TYPE, code: '1', display: 'Person' }, role: { system: OBJECT_ROLE, code: '1', display: 'Patient' } });
  }
  const subtype = [{ system: CERBERE_ACTION, code: row.action }];
  if (rule.rest) subtype.unshift({ system: REST, code: rule.rest });
  return {
    resourceType: 'AuditEvent',
    id: row.leaf,
    ...(profile ? { meta: { profile: [profile] } } : {}),
    type: coding(rule.type),
    subtype: subtype.map(coding),
    action: rule.action,
    recorded: row.at,
    outcome: OUTCOME[row.outcome] ?? '8',
    ...(!success ? { outcomeDesc: row.detail ? `${row.outcome} (${row.detail})` : row.outcome } : {}),
    purposeOfEvent: [purpose],
    agent,
    source: {
      site: `cerbere/${tenantId}`,
      observer: { display: 'Cerbère' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    ...(entity.length ? { entity } : {}),
  };
}

// ---- search ---------------------------------------------------------------------------------

export { AUDIT_EVENT_SEARCH_PARAMS };

export interface AuditEventQuery {
  where: RawBuilder<unknown>[];
  count: number;
  sort: 'asc' | 'desc';
  /** The parameters that define the search (kept in paging tokens), without _count/_sort. */
  params: [string, string][];
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const splitValues = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
const tokenCode = (v: string): { system?: string; code: string } => {
  const i = v.indexOf('|');
  return i < 0 ? { code: v } : { system: v.slice(0, i) || undefined, code: v.slice(i + 1) };
};

/** [start, end) of a FHIR date/dateTime/instant at its own precision. Throws on anything else. */
export function dateRange(value: string): { start: Date; end: Date } {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/.exec(value);
  if (!m) throw FhirError.badRequest('date must be a FHIR date or dateTime (e.g. ge2026-01-31 or lt2026-01-31T12:00:00Z)', ['date']);
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  if (h !== undefined && tz === undefined) throw FhirError.badRequest('a date with a time must carry a time zone (Z or ±hh:mm)', ['date']);
  const Y = Number(y), M = mo ? Number(mo) - 1 : 0, D = d ? Number(d) : 1;
  const off = tz && tz !== 'Z' ? (tz[0] === '-' ? -1 : 1) * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) : 0;
  const base = Date.UTC(Y, M, D, h ? Number(h) : 0, mi ? Number(mi) : 0, s ? Number(s) : 0) - off * 60_000;
  const fracMs = frac ? Number(frac) * 1000 : 0;
  const start = new Date(base + Math.floor(fracMs));
  let end: Date;
  if (!mo) end = new Date(Date.UTC(Y + 1, 0, 1));
  else if (!d) end = new Date(Date.UTC(Y, M + 1, 1));
  else if (h === undefined) end = new Date(Date.UTC(Y, M, D + 1));
  else if (s === undefined) end = new Date(base + 60_000);
  else if (!frac) end = new Date(base + 1000);
  else end = new Date(base + Math.floor(fracMs) + 1);
  if (Number.isNaN(start.getTime()) || M > 11 || D > 31) throw FhirError.badRequest('date is not a valid date', ['date']);
  return { start, end };
}

function dateCondition(raw: string): RawBuilder<unknown> {
  const m = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(.*)$/.exec(raw)!;
  const prefix = m[1] ?? 'eq';
  const { start, end } = dateRange(m[2]);
  switch (prefix) {
    case 'eq': return sql`(recorded_at >= ${start} and recorded_at < ${end})`;
    case 'ge': return sql`recorded_at >= ${start}`;
    case 'gt': return sql`recorded_at >= ${end}`;
    case 'le': return sql`recorded_at < ${end}`;
    case 'lt': return sql`recorded_at < ${start}`;
    default: throw FhirError.badRequest('date supports the prefixes eq, ge, gt, le, lt', ['date']);
  }
}

const REST_CODES = new Map(RULES.filter((r) => r.rest).map((r) => [r.rest!, r.re.slice(1, -1)]));
const or = (parts: RawBuilder<unknown>[]) => (parts.length === 1 ? parts[0] : sql`(${sql.join(parts, sql` or `)})`);

/** The SQL expression of an event's classification (type code or action code), from the same rules as toAuditEvent. */
function classSql(pick: (r: ActionRule) => string): RawBuilder<unknown> {
  return sql`(case ${sql.join(RULES.map((r) => sql`when action ~ ${r.re} then ${pick(r)}`), sql` `)} else ${pick(FALLBACK)} end)`;
}

function typeCondition(v: string): RawBuilder<unknown> {
  const { system, code } = tokenCode(v);
  if (system && system !== EVENT_TYPE && system !== DCM) return sql`false`;
  return sql`${classSql((r) => r.type.code)} = ${code}`;
}

function subtypeCondition(v: string): RawBuilder<unknown> {
  const { system, code } = tokenCode(v);
  const conds: RawBuilder<unknown>[] = [];
  if ((!system || system === REST) && REST_CODES.has(code)) conds.push(sql`action = ${REST_CODES.get(code)!}`);
  if (!system || system === CERBERE_ACTION) conds.push(sql`action = ${code}`);
  return conds.length ? or(conds) : sql`false`;
}

/** Parses AuditEvent search parameters (FHIR semantics: commas are OR, repeated parameters are AND). */
export function parseAuditEventSearch(pairs: [string, string][], maxCount: number): AuditEventQuery {
  const where: RawBuilder<unknown>[] = [];
  const params: [string, string][] = [];
  let count = Math.min(20, maxCount);
  let sort: 'asc' | 'desc' = 'desc';
  for (const [rawKey, value] of pairs) {
    const key = rawKey.trim();
    if (key === '_count') {
      const n = Number(value);
      if (!/^\d+$/.test(value) || n < 1) throw FhirError.badRequest('_count must be a positive integer', ['_count']);
      count = Math.min(n, maxCount);
      continue;
    }
    if (key === '_sort') {
      if (value === '-date' || value === '-_lastUpdated') sort = 'desc';
      else if (value === 'date' || value === '_lastUpdated') sort = 'asc';
      else throw FhirError.badRequest('_sort must be date or -date', ['_sort']);
      continue;
    }
    if (key === '_format' || key === '_pretty') continue;
    const values = splitValues(value);
    if (!values.length) throw FhirError.badRequest(`${key.replace(/[^A-Za-z_-]/g, '')} needs a value`, [key.replace(/[^A-Za-z_-]/g, '')]);
    switch (key) {
      case '_id': {
        const ids = values.filter((x) => /^\d{1,18}$/.test(x));
        where.push(ids.length ? sql`leaf_index = any(${ids}::bigint[])` : sql`false`);
        break;
      }
      case 'date':
        where.push(or(values.map(dateCondition)));
        break;
      case 'patient': {
        const ids = values.map((x) => x.replace(/^Patient\//, ''));
        if (ids.some((x) => !ID.test(x))) throw FhirError.badRequest('patient must be Patient/id or id', ['patient']);
        where.push(sql`patient_ids && ${ids}::text[]`);
        break;
      }
      case 'agent': {
        const ids = values.map((x) => tokenCode(x).code.replace(/^[A-Za-z]+\//, ''));
        where.push(sql`actor_id = any(${ids}::text[])`);
        break;
      }
      case 'address':
        where.push(sql`ip = any(${values}::text[])`);
        break;
      case 'entity': {
        if (values.some((x) => !/^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(x))) throw FhirError.badRequest('entity must be Type/id', ['entity']);
        where.push(or(values.map((x) => x.startsWith('Patient/')
          ? sql`(patient_ids @> array[${x.slice(8)}]::text[] and exists (select 1 from unnest(resource_refs) r where r = ${x} or r like ${x + '/_history/%'}))`
          : sql`exists (select 1 from unnest(resource_refs) r where r = ${x} or r like ${x + '/_history/%'})`)));
        break;
      }
      case 'action': {
        const codes = values.map((x) => tokenCode(x).code);
        if (codes.some((c) => !/^[CRUDE]$/.test(c))) throw FhirError.badRequest('action must be C, R, U, D or E', ['action']);
        where.push(sql`${classSql((r) => r.action)} = any(${codes}::text[])`);
        break;
      }
      case 'outcome': {
        const outs = values.map((x) => OUTCOME_BACK[tokenCode(x).code]);
        if (outs.some((o) => !o)) throw FhirError.badRequest('outcome must be 0, 4 or 8', ['outcome']);
        where.push(sql`outcome = any(${outs}::text[])`);
        break;
      }
      case 'type':
        where.push(or(values.map(typeCondition)));
        break;
      case 'subtype':
        where.push(or(values.map(subtypeCondition)));
        break;
      default:
        throw FhirError.badRequest(/^[A-Za-z_][A-Za-z0-9_:.-]{0,40}$/.test(key) ? `unknown search parameter ${key} for AuditEvent` : 'unknown search parameter', [key.slice(0, 40)]);
    }
    params.push([key, value]);
  }
  return { where, count, sort, params };
}

/** An event with its leaf index (its AuditEvent id). */
export type LoggedRow = EventRow & { leaf: string };

export interface AuditEventPage { rows: LoggedRow[]; next: { at: string; seq: string } | null }

/** One page of the tenant's events, newest first by default; keyset paging on (recorded_at, leaf_index). */
export async function searchAuditEvents(db: Kysely<DB>, tenantId: string, q: AuditEventQuery, after?: { at: string; seq: string }): Promise<AuditEventPage> {
  const conds = [sql`tenant_id = ${tenantId}`, ...q.where];
  if (after) {
    conds.push(q.sort === 'desc'
      ? sql`(recorded_at, leaf_index) < (${after.at}::timestamptz, ${after.seq}::bigint)`
      : sql`(recorded_at, leaf_index) > (${after.at}::timestamptz, ${after.seq}::bigint)`);
  }
  const order = q.sort === 'desc' ? sql`e.recorded_at desc, e.leaf_index desc` : sql`e.recorded_at, e.leaf_index`;
  const rows = (await sql<LoggedRow>`select ${EVENT_COLUMNS}, leaf_index::text as leaf from audit_events e where ${sql.join(conds, sql` and `)}
    order by ${order} limit ${q.count + 1}`.execute(db)).rows;
  const more = rows.length > q.count;
  const page = rows.slice(0, q.count);
  const last = page[page.length - 1];
  return { rows: page, next: more && last ? { at: last.at, seq: last.leaf } : null };
}

export async function readAuditEvent(db: Kysely<DB>, tenantId: string, id: string): Promise<LoggedRow | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  return (await sql<LoggedRow>`select ${EVENT_COLUMNS}, leaf_index::text as leaf from audit_events e where tenant_id = ${tenantId} and leaf_index = ${id}::bigint`.execute(db)).rows[0];
}
