// The events this process appended, held until integration: the recorder knows every field of its own
// events, and the append returns the three the database assigns (position, seq, time), so the
// integrator hashes them without reading them back. Events it does not hold (written inside a write's
// transaction, by another process, past the bound) are read from the database as before.
//
// It assumes a committed event stays at its position. A database that loses commits while the server
// runs (failover to an asynchronous replica) breaks the connections first: the recorder and the
// integrator clear the cache on any failure, so positions handed out again are read back.
import type { EntryFields } from './entry.ts';

/** Rough memory of one held event beyond its arrays' strings (object, fixed fields, map entry). */
const OVERHEAD = 400;

export class LeafCache {
  private readonly tenants = new Map<string, Map<number, { fields: EntryFields; bytes: number }>>();
  private held = 0;
  private bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  get size(): number { return this.held; }

  /** Only for committed events: the integrator takes what it finds here as stored at that position. */
  add(tenantId: string, leafIndex: number, fields: EntryFields): void {
    let bytes = OVERHEAD + (fields.detail?.length ?? 0);
    for (const s of fields.resource_refs) bytes += s.length + 16;
    for (const s of fields.patient_ids) bytes += s.length + 16;
    if (this.bytes + bytes > this.maxBytes) return; // integration is behind: it will read these from the database
    let m = this.tenants.get(tenantId);
    if (!m) this.tenants.set(tenantId, (m = new Map()));
    const old = m.get(leafIndex);
    if (old) this.bytes -= old.bytes; else this.held++;
    m.set(leafIndex, { fields, bytes });
    this.bytes += bytes;
  }

  get(tenantId: string, leafIndex: number): EntryFields | undefined {
    return this.tenants.get(tenantId)?.get(leafIndex)?.fields;
  }

  /** Drops the tenant's events below `size` (integrated, by this process or another). */
  forgetBelow(tenantId: string, size: number): void {
    const m = this.tenants.get(tenantId);
    if (!m) return;
    for (const [i, e] of m) if (i < size) { m.delete(i); this.held--; this.bytes -= e.bytes; }
    if (!m.size) this.tenants.delete(tenantId);
  }

  clear(): void {
    this.tenants.clear();
    this.held = 0;
    this.bytes = 0;
  }
}
