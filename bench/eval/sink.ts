// Where the evaluation's access attempts go. `AccessSink` is the seam: the in-memory sink below
// applies the release budget (refusing when spent, which cuts the attacker off) and commits each
// attempt as a CommittedAccessEvent with its log position, as the server's access log would; a
// later change plugs the real server in behind the same interface.
import type { CommittedAccessEvent } from '../../src/core/watch-types.ts';
import { Budget, InMemoryBudgetStore, principalKey, type ChargeResult } from '../../src/detect/budget.ts';
import { READ_ACTIONS, WRITE_ACTIONS, justifies, type ActorRef } from '../../src/detect/types.ts';
import type { Link, World } from './world.ts';

export interface AccessAttempt {
  at: number;
  tenantId: string;
  actor: ActorRef;
  tokenId: string | null;
  ip: string | null;
  purpose: string;
  action: string;
  /** The outcome the server would give without the budget (failure: unknown id, wrong password). */
  outcome: 'success' | 'denied' | 'failure';
  resourceRefs: string[];
  /** Patients the request would release (or write to). */
  patientIds: string[];
  detail: string | null;
  /** 'legit' or the scenario name. */
  label: string;
  /** Attack instance, or null. */
  instance: string | null;
  /** Legitimate session, or null. */
  session: string | null;
  /** Care relationships this attempt creates when it succeeds (an order, a booking, a result). */
  links?: { patientId: string; link: Omit<Link, 'at' | 'by'> }[];
  /** Minutes of break-glass this attempt opens on its patient. */
  breakGlassMinutes?: number;
}

export interface SinkResult { event: CommittedAccessEvent; refused: boolean; charge: ChargeResult | null }

export interface AccessSink {
  submit(a: AccessAttempt): SinkResult;
}

export class InMemorySink implements AccessSink {
  readonly budget = new Budget(new InMemoryBudgetStore());
  private position = 0;
  constructor(private readonly world: World) {}

  submit(a: AccessAttempt): SinkResult {
    this.world.now = a.at;
    let outcome = a.outcome;
    let patientIds = a.patientIds;
    let detail = a.detail;
    let charge: ChargeResult | null = null;
    // A write that creates a care relationship (a booking, an order) or a break-glass explains itself.
    if (outcome === 'success') {
      for (const l of a.links ?? []) this.world.addLink(l.patientId, { ...l.link, at: a.at, by: a.actor.id });
      if (a.breakGlassMinutes) for (const p of a.patientIds) this.world.openBreakGlass(a.actor.id, p, a.at + a.breakGlassMinutes * 60_000);
    }
    if (outcome === 'success' && patientIds.length && (READ_ACTIONS.has(a.action) || WRITE_ACTIONS.has(a.action))) {
      const key = principalKey(a.tenantId, a.actor, a.tokenId);
      charge = this.budget.charge(key, patientIds, (p) => justifies(this.world.explain(a.tenantId, a.actor, p)), a.at);
      if (!charge.allowed) {
        outcome = 'denied';
        patientIds = [];
        detail = `budget=spent used=${charge.used} limit=${charge.limit}`;
      }
    }
    const event: CommittedAccessEvent = {
      tenantId: a.tenantId, position: this.position++, at: new Date(a.at), actor: a.actor, tokenId: a.tokenId, ip: a.ip,
      purpose: a.purpose, action: a.action, outcome, resourceRefs: a.resourceRefs, patientIds, detail,
    };
    return { event, refused: charge !== null && !charge.allowed, charge };
  }
}
