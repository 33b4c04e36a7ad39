// The patient-release budget (pure, no I/O).
//
// Every principal (staff account, patient account, API token, OAuth client) may receive at most
// `limit` distinct patients WITHOUT a justification in a rolling 24 hours. A justification is a
// real care relationship, the patient's own record, or an active break-glass; the breadth of a
// role (scope `tenant` of service and reader tokens, of receptionists) is NOT one. Reads by id,
// searches, _include, history, bundles and exports all count, per patient: a search that returns
// 50 patients charges the unexplained ones among them. A patient counts once per window.
//
// All or nothing per request: a request whose new unexplained patients would take the principal
// over its limit releases nothing and marks the budget spent; while spent (24 hours from the
// refusal), every request with a new unexplained patient is refused, whatever its size (justified
// patients still flow: care is never blocked by the budget), until a person sets the principal's
// limit, with a reason, which lifts the cut-off. Default limit 200 for every role; overrides per principal.
//
// State lives behind `BudgetStore`, whose one operation is the atomic check-and-add, so it can move
// to PostgreSQL (one row per principal and patient, in a transaction) or Redis (a sorted set per
// principal and a Lua script) without changing the callers.

export const DEFAULT_LIMIT = 200;
export const WINDOW_MS = 24 * 60 * 60 * 1000;

export interface ReserveResult { ok: boolean; used: number }

/** Atomic per principal: add `patientIds` (already filtered to unexplained ones) unless that takes it over `limit`. */
export interface BudgetStore {
  reserve(key: string, patientIds: readonly string[], limit: number, now: number, windowMs: number): ReserveResult | Promise<ReserveResult>;
  /** Distinct unexplained patients in the window. */
  used(key: string, now: number, windowMs: number): number | Promise<number>;
  /** Lift a cut-off (after a person set a new limit). */
  lift(key: string): void | Promise<void>;
}

export interface SyncBudgetStore extends BudgetStore {
  reserve(key: string, patientIds: readonly string[], limit: number, now: number, windowMs: number): ReserveResult;
  used(key: string, now: number, windowMs: number): number;
  lift(key: string): void;
}

/** In memory: per principal, patient → time it was last released. At most `limit` entries each. */
export class InMemoryBudgetStore implements SyncBudgetStore {
  private readonly m = new Map<string, Map<string, number>>();
  private readonly spentUntil = new Map<string, number>();

  reserve(key: string, patientIds: readonly string[], limit: number, now: number, windowMs: number): ReserveResult {
    const s = this.window(key, now, windowMs);
    const fresh = [...new Set(patientIds)].filter((p) => !s.has(p));
    const cut = (this.spentUntil.get(key) ?? 0) > now;
    if (fresh.length && (cut || s.size + fresh.length > limit)) {
      if (!cut) this.spentUntil.set(key, now + windowMs);
      return { ok: false, used: s.size };
    }
    // Re-released patients move to the end, so the map stays ordered by last release time.
    for (const p of patientIds) { s.delete(p); s.set(p, now); }
    return { ok: true, used: s.size };
  }

  used(key: string, now: number, windowMs: number): number { return this.window(key, now, windowMs).size; }

  lift(key: string): void { this.spentUntil.delete(key); }

  private window(key: string, now: number, windowMs: number): Map<string, number> {
    let s = this.m.get(key);
    if (!s) { s = new Map(); this.m.set(key, s); }
    for (const [p, at] of s) { if (at > now - windowMs) break; s.delete(p); }
    return s;
  }
}

export interface Override { limit: number; reason: string; by: string; until?: number }

export interface ChargeResult {
  allowed: boolean;
  /** Patients released by this request (all of them when allowed, none when refused). */
  released: string[];
  /** The budget is at its limit (this or a later unexplained patient is refused). */
  spent: boolean;
  used: number;
  limit: number;
  /** How many of the request's patients were unexplained. */
  unexplained: number;
}

export class Budget<S extends BudgetStore = InMemoryBudgetStore> {
  private readonly overrides = new Map<string, Override>();
  constructor(readonly store: S, readonly defaultLimit = DEFAULT_LIMIT, readonly windowMs = WINDOW_MS) {}

  /** Raise (or lower) one principal's limit, with a reason and who decided; optionally until a time. */
  override(key: string, o: Override): void {
    if (!o.reason.trim()) throw new Error('a budget override needs a reason');
    if (!Number.isInteger(o.limit) || o.limit < 0) throw new Error('a budget limit is a non-negative integer');
    this.overrides.set(key, o);
    void this.store.lift(key);
  }

  limitOf(key: string, now: number): number {
    const o = this.overrides.get(key);
    return o && (o.until === undefined || now < o.until) ? o.limit : this.defaultLimit;
  }

  /** Charge a request with a synchronous store (memory). */
  charge(this: Budget<SyncBudgetStore>, key: string, patientIds: readonly string[], explained: (p: string) => boolean, now: number): ChargeResult {
    const limit = this.limitOf(key, now);
    const unexplained = [...new Set(patientIds.filter((p) => !explained(p)))];
    const r = this.store.reserve(key, unexplained, limit, now, this.windowMs);
    return result(patientIds, unexplained.length, r, limit);
  }

  /** Charge a request with any store (a shared one is asynchronous). */
  async chargeAsync(key: string, patientIds: readonly string[], explained: (p: string) => boolean, now: number): Promise<ChargeResult> {
    const limit = this.limitOf(key, now);
    const unexplained = [...new Set(patientIds.filter((p) => !explained(p)))];
    const r = await this.store.reserve(key, unexplained, limit, now, this.windowMs);
    return result(patientIds, unexplained.length, r, limit);
  }
}

function result(patientIds: readonly string[], unexplained: number, r: ReserveResult, limit: number): ChargeResult {
  return {
    allowed: r.ok,
    released: r.ok ? [...new Set(patientIds)] : [],
    spent: !r.ok || r.used >= limit,
    used: r.used,
    limit,
    unexplained,
  };
}

/** The budget key of a principal: its token or client if any, else its account. */
export function principalKey(tenantId: string, actor: { kind: string; id: string }, tokenId: string | null): string {
  return tokenId ? `${tenantId}|token:${tokenId}` : `${tenantId}|${actor.kind}:${actor.id}`;
}
