// Canonical encoding of an access event as a Merkle log entry (version 1).
//
// entry = UTF-8 of JSON.stringify([
//   "cerbere-audit/1", tenant_id, leaf_index (number), seq (decimal string),
//   recorded_at (UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ", microseconds), actor_kind, actor_id, role,
//   site_id, client_id, ip, purpose, action, outcome, resource_refs (string[]), patient_ids (string[]), detail ])
// Absent values are null. Fixed field order, internal ids only (no name, NIR or clinical value).
// The tenant and the leaf index are part of the entry, so an event cannot be moved to another
// position or another tenant's log without its leaf hash changing.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '../../core/schema.ts';
import { leafHash, textLeafHash } from '../merkle/merkle.ts';

export const ENTRY_FORMAT = 'cerbere-audit/1';

/** Event columns as selected by `EVENT_COLUMNS` (recorded_at already formatted by the database). */
export interface EventRow {
  seq: string; at: string; actor_kind: string; actor_id: string; role: string; site_id: string | null;
  client_id: string | null; ip: string | null; purpose: string; action: string; outcome: string;
  /** JSON text of the text[] columns (PostgreSQL's array_to_json): much cheaper to fetch than arrays. */
  resource_refs: string; patient_ids: string; detail: string | null;
}

/** recorded_at as the entry writes it: UTC, microseconds, formatted by the database at full precision. */
export const RECORDED_AT = `to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The SQL select list for EventRow; the timestamp is formatted by PostgreSQL at full precision.
 *  seq is aliased as text: ORDER BY must name the table column (e.seq), not the alias. */
export const EVENT_COLUMNS: RawBuilder<unknown> = sql.raw(`seq::text as seq,
  ${RECORDED_AT} as at,
  actor_kind, actor_id, role, site_id, client_id, ip, purpose, action, outcome,
  array_to_json(resource_refs)::text as resource_refs, array_to_json(patient_ids)::text as patient_ids, detail`);

/** The same fields as one JSON array text per row, laid out as the entry (format and tenant null, leaf_index a number):
 *  one text column costs the driver far less to parse than fourteen (`audit verify` reads every event). */
export const ENTRY_JSON: RawBuilder<unknown> = sql.raw(`json_build_array(null, null, leaf_index, seq::text,
  ${RECORDED_AT}, actor_kind, actor_id, role, site_id, client_id, ip,
  purpose, action, outcome, resource_refs, patient_ids, detail)::text as entry`);

/** A candidate for the entry's exact text, built by PostgreSQL (`audit verify`'s fast path): PostgreSQL escapes
 *  strings in JSON as JSON.stringify does, so for stored events this is byte for byte the canonical entry and
 *  its hash can be compared without parsing. A mismatch proves nothing by itself: verify then recomputes the
 *  entry with JSON.stringify (ENTRY_JSON) before calling the event altered, so the entry never depends on
 *  PostgreSQL's formatting; a match is conclusive (SHA-256, and JSON string escaping is reversible). */
export function entryTextSql(tenantId: string): RawBuilder<unknown> {
  const str = (expr: string) => `coalesce(to_json(${expr})::text, 'null')`;
  const fields = ['seq::text', RECORDED_AT, 'actor_kind', 'actor_id', 'role',
    'site_id', 'client_id', 'ip', 'purpose', 'action', 'outcome'].map(str);
  fields.push(`coalesce(array_to_json(resource_refs)::text, '[]')`, `coalesce(array_to_json(patient_ids)::text, '[]')`, str('detail'));
  return sql`(${JSON.stringify([ENTRY_FORMAT, tenantId]).slice(0, -1)}::text || ',' || leaf_index::text || ',' || ${sql.raw(fields.join(" || ',' || "))} || ']')`;
}

/** Parses an ENTRY_JSON row; its stored leaf index is at [2]. */
export function parseEntryJson(text: string): unknown[] {
  const a: unknown = JSON.parse(text);
  if (!Array.isArray(a) || a.length !== 17 || typeof a[2] !== 'number') throw new TypeError('not an ENTRY_JSON row');
  return a;
}

/** entryLeafHash of a parsed ENTRY_JSON row taken as the entry at `leafIndex` of `tenantId` (fills in the array). */
export function jsonEntryLeafHash(tenantId: string, leafIndex: number, a: unknown[]): Buffer {
  a[0] = ENTRY_FORMAT;
  a[1] = tenantId;
  a[2] = leafIndex;
  if (!Array.isArray(a[14])) a[14] = [];
  if (!Array.isArray(a[15])) a[15] = [];
  return textLeafHash(JSON.stringify(a));
}

export function encodeEntry(tenantId: string, leafIndex: number, e: EventRow): Buffer {
  return Buffer.from(entryText(tenantId, leafIndex, eventFields(e)), 'utf8');
}

/** The entry's fields with the arrays as arrays: what the recorder holds for the events it appended. */
export type EntryFields = Omit<EventRow, 'resource_refs' | 'patient_ids'> & { resource_refs: readonly string[]; patient_ids: readonly string[] };

function eventFields(e: EventRow): EntryFields {
  return { ...e, resource_refs: strings(e.resource_refs), patient_ids: strings(e.patient_ids) };
}

function entryText(tenantId: string, leafIndex: number, e: EntryFields): string {
  return JSON.stringify([
    ENTRY_FORMAT, tenantId, leafIndex, e.seq, e.at, e.actor_kind, e.actor_id, e.role, e.site_id, e.client_id, e.ip,
    e.purpose, e.action, e.outcome, e.resource_refs, e.patient_ids, e.detail,
  ]);
}

// Re-serialised by JSON.stringify, so the entry never depends on PostgreSQL's JSON formatting.
function strings(json: string): string[] {
  const a = JSON.parse(json ?? '[]');
  return Array.isArray(a) ? a : [];
}

/** leafHash(encodeEntry(…)), hashing the text directly (no intermediate Buffer). */
export function entryLeafHash(tenantId: string, leafIndex: number, e: EventRow): Buffer {
  return textLeafHash(entryText(tenantId, leafIndex, eventFields(e)));
}

/** The same leaf hash from fields held in memory (the database's formatting of seq and time included). */
export function fieldsLeafHash(tenantId: string, leafIndex: number, f: EntryFields): Buffer {
  return textLeafHash(entryText(tenantId, leafIndex, f));
}

/** Format of the stand-in an entry bundle carries for an entry over 65,535 bytes. Only logs written before
 *  events were split (entry-split.ts) hold such entries. The stand-in names the entry's position, its size
 *  and its leaf hash (base64); the entry itself is served whole at `<prefix>/entry/<index>`, and a verifier
 *  checks SHA-256(0x00 ‖ entry) against the level-0 tile, as for any other entry. */
export const OVERSIZED_FORMAT = 'cerbere-audit/oversized/1';

export function oversizedStandIn(tenantId: string, leafIndex: number, entry: Uint8Array): Buffer {
  const hash = leafHash(entry);
  return Buffer.from(JSON.stringify([OVERSIZED_FORMAT, tenantId, leafIndex, entry.length, hash.toString('base64')]), 'utf8');
}

/** Entries of a tenant's log larger than a tlog-tiles bundle carries (see OVERSIZED_FORMAT), by position. */
export async function oversizedEntries(db: Kysely<DB>, tenantId: string): Promise<number[]> {
  const r = await sql<{ leaf: string }>`select leaf_index::text as leaf from audit_events
    where tenant_id = ${tenantId} and octet_length(${entryTextSql(tenantId)}) > ${0xffff} order by leaf_index`.execute(db);
  return r.rows.map((x) => Number(x.leaf));
}
