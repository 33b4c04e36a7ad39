// The Watch head's one place of action: alerts are stored and delivered, and credentials are contained.
// - a spent release budget (from the repository's access decision) → a critical `budget` alert and the
//   credential suspended at once, in the request that spent it;
// - a detector's candidate → stored (de-duplicated); when new or worse it is delivered; at severity high or
//   critical the credential behind it is suspended;
// - a DPO or administrator acknowledges or closes alerts, suspends or restores credentials.
// Every suspension, restoration and alert state change is an access event (who, which credential, why).
import type { AccessContext } from '../core/context.ts';
import type { AuditRecorder } from '../audit/record/recorder.ts';
import type { AlertCandidate, Severity } from '../core/watch-types.ts';
import type { Suspensions, Principal } from '../auth/suspensions.ts';
import type { ReleaseBudgets } from '../access/release-budget.ts';
import type { AlertStore, StoredAlert } from './alert-store.ts';
import type { Canaries } from './canaries.ts';
import { dedupKey } from './types.ts';

/** Kinds of principal a suspension applies to (system jobs are never suspended). */
export const CONTAINABLE = new Set(['token', 'client', 'user', 'patient']);
const SUSPEND_AT: Severity[] = ['high', 'critical'];
const VOLUME_KINDS = new Set(['volume', 'enumeration']);

export interface AlertSink { deliver(alert: StoredAlert): void }
/** Ends a staff or patient account's sessions when it is suspended. */
export type SessionEnder = (tenantId: string, accountId: string, reason: string) => Promise<unknown>;

export interface WatchDeps {
  alerts: AlertStore;
  suspensions: Suspensions;
  budgets: ReleaseBudgets;
  canaries: Canaries;
  audit: AuditRecorder;
  sink?: AlertSink;
  endSessions?: SessionEnder;
}

const systemOf = (tenantId: string): AccessContext => ({ tenantId, actor: { kind: 'system', id: 'watch', role: 'system' }, purpose: 'HSYSADMIN' });

export class Watch {
  /** Alerts raised by this instance (tests and the operator's status). */
  raised = 0;

  constructor(private readonly deps: WatchDeps) {}

  get alerts(): AlertStore { return this.deps.alerts; }
  get suspensions(): Suspensions { return this.deps.suspensions; }
  get budgets(): ReleaseBudgets { return this.deps.budgets; }
  get canaries(): Canaries { return this.deps.canaries; }

  /** A detector's (or the sentinel's) candidate: store, deliver when new or worse, contain at high severity. */
  async raise(c: AlertCandidate): Promise<StoredAlert> {
    const { alert, fresh } = await this.deps.alerts.raise(c);
    this.raised++;
    if (fresh) this.deps.sink?.deliver(alert);
    if (c.tenantId && c.actor && CONTAINABLE.has(c.actor.kind) && SUSPEND_AT.includes(alert.severity) && !(await this.withinRaisedBudget(c))) {
      await this.contain(c.tenantId, c.actor, `alert ${alert.kind} (${alert.severity})`, alert.id);
    }
    return alert;
  }

  /** Volume alone is what an administrator approved for a credential with a raised budget: alert, don't suspend. */
  private async withinRaisedBudget(c: AlertCandidate): Promise<boolean> {
    if (!VOLUME_KINDS.has(c.kind) || !c.tenantId || !c.actor) return false;
    return (await this.deps.budgets.limitOf(c.tenantId, c.actor.kind, c.actor.id)) > this.deps.budgets.config.patients;
  }

  /** The repository's access decision found the budget spent: alert and suspend before answering. */
  async budgetSpent(ctx: AccessContext, used: number, limit: number, requested: number): Promise<void> {
    const tokenId = ctx.client?.tokenId ?? (ctx.actor.kind === 'token' || ctx.actor.kind === 'client' ? ctx.actor.id : null);
    await this.raise({
      tenantId: ctx.tenantId, kind: 'budget', severity: 'critical', actor: { kind: ctx.actor.kind, id: ctx.actor.id }, tokenId,
      at: new Date(), patients: used, evidence: [],
      summary: `${ctx.actor.kind} ${ctx.actor.id} (role ${ctx.actor.role}) reached its release budget: ${used} patients without a care relationship in the window (limit ${limit}); a request for ${requested} more was refused and the credential suspended`,
      dedupKey: dedupKey(ctx.tenantId, 'budget', { tokenId, actor: { ...ctx.actor, siteId: ctx.actor.siteId ?? null } }),
    });
  }

  /** Suspends a credential (idempotent) and ends its sessions; recorded in the access log. */
  async contain(tenantId: string, p: Principal, reason: string, alertId: string | null, by: AccessContext = systemOf(tenantId)): Promise<boolean> {
    if (!CONTAINABLE.has(p.kind)) return false;
    const changed = await this.deps.suspensions.suspend(tenantId, p, reason, { kind: by.actor.kind, id: by.actor.id }, alertId);
    if (!changed) return false;
    if ((p.kind === 'user' || p.kind === 'patient') && this.deps.endSessions) await this.deps.endSessions(tenantId, p.id, 'suspended');
    await this.deps.audit.record(by, { action: 'credential.suspend', outcome: 'success', resourceRefs: [], patientIds: [], detail: `principal=${p.kind}:${p.id};alert=${alertId ?? 'none'}` });
    return true;
  }

  /** An administrator restores a suspended credential; its release budget starts a new window. */
  async restore(by: AccessContext, p: Principal, reason: string): Promise<boolean> {
    const changed = await this.deps.suspensions.restore(by.tenantId, p, reason, { kind: by.actor.kind, id: by.actor.id });
    if (!changed) return false;
    await this.deps.budgets.resetWindow(by.tenantId, p.kind, p.id);
    await this.deps.audit.record(by, { action: 'credential.restore', outcome: 'success', resourceRefs: [], patientIds: [], detail: `principal=${p.kind}:${p.id}` });
    return true;
  }

  async setAlertState(by: AccessContext, id: string, state: 'acknowledged' | 'closed', note: string | null): Promise<StoredAlert | null> {
    const a = await this.deps.alerts.setState(by.tenantId, id, state, { kind: by.actor.kind, id: by.actor.id }, note);
    if (a) await this.deps.audit.record(by, { action: `alert.${state === 'closed' ? 'close' : 'ack'}`, outcome: 'success', resourceRefs: [], patientIds: [], detail: `alert=${id}` });
    return a;
  }
}
