// The events this process appended, held until integration: the recorder knows every field of its own
// events, and the append returns the three the database assigns (position, seq, time), so the
// integrator hashes them without reading them back. Events it does not hold (written inside a write's
// transaction, by another process, or past the bound) are read from the database as before.
import type { EntryFields } from './entry.ts';

export class LeafCache {
  private readonly tenants = new Map<string, Map<number, EntryFields>>();
  private held = 0;

  constructor(private readonly max = 100_000) {}

  get size(): number { return this.held; }

  /** Only for committed events: the integrator takes what it finds here as stored at that position. */
  add(tenantId: string, leafIndex: number, fields: EntryFields): void {
    if (this.held >= this.max) return; // integration is behind: it will read these from the database
    let m = this.tenants.get(tenantId);
    if (!m) this.tenants.set(tenantId, (m = new Map()));
    if (!m.has(leafIndex)) this.held++;
    m.set(leafIndex, fields);
  }

  get(tenantId: string, leafIndex: number): EntryFields | undefined {
    return this.tenants.get(tenantId)?.get(leafIndex);
  }

  /** Drops the tenant's events below `size` (integrated, by this process or another). */
  forgetBelow(tenantId: string, size: number): void {
    const m = this.tenants.get(tenantId);
    if (!m) return;
    for (const i of m.keys()) if (i < size) { m.delete(i); this.held--; }
    if (!m.size) this.tenants.delete(tenantId);
  }
}
