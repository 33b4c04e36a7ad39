// Keeps every access-log entry within the C2SP tlog-tiles limit (65,535 bytes per entry in a bundle).
//
// An event that names many resources or patients (a bulk import, an export, a large search) is
// recorded as n consecutive events ("parts"): the same actor, purpose, action and outcome, each with
// a slice of the references and patient ids and `part=k/n` appended to its detail. The parts of one
// event are appended in one statement, so they take consecutive leaf positions: part k of n at
// position p is followed by part k+1 at p+1. Each part also carries the bare resource types of the
// whole event (e.g. "Observation"), so the blast radius gives each patient the same data categories
// as the unsplit event would. Access history and the blast radius query rows, so they see every
// resource and patient of the event through its parts.
import { ENTRY_FORMAT } from './entry.ts';
import type { AccessContext } from '../../core/context.ts';

/** The fields of an access event that go into its entry (recorder.ts's AccessEvent). */
interface AccessEvent { action: string; outcome: 'success' | 'denied' | 'failure'; resourceRefs: string[]; patientIds: string[]; detail?: string }

/** An entry bundle's length prefix is a uint16 (C2SP tlog-tiles; log/tiles.ts MAX_ENTRY_SIZE, the same limit). */
export const MAX_ENTRY_SIZE = 0xffff;
/** Widest values the database can assign: leaf index, seq and the formatted time. */
const WIDEST = [Number.MAX_SAFE_INTEGER, '9223372036854775807', '2026-01-01T00:00:00.000000Z'] as const;
/** Room kept for the `;part=k/n` suffix. */
const PART_SUFFIX_MAX = ';part=999999/999999'.length;

const jsonBytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v), 'utf8');

/** Upper bound of the entry's size for this event, whatever position, seq and time it is given. */
export function entrySizeBound(ctx: AccessContext, e: AccessEvent, detail = e.detail ?? null, refs = e.resourceRefs, patients = e.patientIds): number {
  return jsonBytes([
    ENTRY_FORMAT, ctx.tenantId, ...WIDEST, ctx.actor.kind, ctx.actor.id, ctx.actor.role, ctx.actor.siteId ?? null,
    ctx.client?.tokenId ?? null, ctx.client?.ip ?? null, ctx.purpose, e.action, e.outcome, refs, patients, detail,
  ]);
}

/** The event itself when its entry fits, else its parts (see the header). Patient ids are de-duplicated. */
export function fitToEntryLimit(ctx: AccessContext, e: AccessEvent, limit = MAX_ENTRY_SIZE): AccessEvent[] {
  const patients = [...new Set(e.patientIds)];
  if (entrySizeBound(ctx, e, e.detail ?? null, e.resourceRefs, patients) <= limit) {
    return patients.length === e.patientIds.length ? [e] : [{ ...e, patientIds: patients }];
  }
  const types = [...new Set(e.resourceRefs.map((r) => r.split('/')[0]))];
  const fixed = entrySizeBound(ctx, e, (e.detail ?? '') + 'x'.repeat(PART_SUFFIX_MAX), types, []);
  const room = limit - fixed;
  // Each element costs its JSON text plus a comma; one element must always fit.
  const cost = (s: string) => jsonBytes(s) + 1;
  const widest = Math.max(0, ...e.resourceRefs.map(cost), ...patients.map(cost));
  if (room < widest) throw new RangeError('an access event field is too large for the access log');
  const refParts = chunk(e.resourceRefs, cost, room);
  // Patients are spread over as many parts as needed, using the room their part's references leave.
  const parts: { refs: string[]; patients: string[] }[] = refParts.map((refs) => ({ refs, patients: [] }));
  let next = 0;
  for (const part of parts) {
    let left = room - part.refs.reduce((n, r) => n + cost(r), 0);
    while (next < patients.length && cost(patients[next]) <= left) { left -= cost(patients[next]); part.patients.push(patients[next++]); }
  }
  for (const more of chunk(patients.slice(next), cost, room)) parts.push({ refs: [], patients: more });
  const n = parts.length;
  return parts.map((p, i) => ({
    action: e.action, outcome: e.outcome,
    resourceRefs: [...types.filter((t) => t !== ''), ...p.refs],
    patientIds: p.patients,
    detail: `${e.detail ? `${e.detail};` : ''}part=${i + 1}/${n}`,
  }));
}

function chunk(items: readonly string[], cost: (s: string) => number, room: number): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let used = 0;
  for (const s of items) {
    const c = cost(s);
    if (used + c > room && cur.length) { out.push(cur); cur = []; used = 0; }
    cur.push(s);
    used += c;
  }
  if (cur.length) out.push(cur);
  return out;
}
