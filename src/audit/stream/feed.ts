// What the integrator hands over after each committed integration: the committed access-event stream
// (stream.ts) implements it; the integrator (src/audit/log/integrator.ts) only knows this interface.
import type { EntryFields } from '../record/entry.ts';

export interface IntegratedFeed {
  /** Whether anyone listens to this tenant's events (the integrator collects nothing otherwise). */
  wants(tenantId: string): boolean;
  /** Positions first.. of the tenant, just committed to the log, in order. */
  offer(tenantId: string, first: number, events: EntryFields[]): void;
}
