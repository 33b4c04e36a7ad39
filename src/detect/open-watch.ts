// Builds the Watch head: the alert store, alert delivery (webhook, SMTP, syslog; a half-configured channel
// refuses to start), suspensions, release budgets and canaries.
import type { Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { Config } from '../core/config.ts';
import type { AuditRecorder } from '../audit/record/recorder.ts';
import type { ReleaseBudgets } from '../access/release-budget.ts';
import { Suspensions } from '../auth/suspensions.ts';
import { AlertStore, type StoredAlert } from './alert-store.ts';
import { Canaries } from './canaries.ts';
import { dispatcherFromSettings } from './delivery/dispatcher.ts';
import { Watch, type SessionEnder } from './watch.ts';

export function openWatch(db: Kysely<DB>, config: Config, audit: AuditRecorder, budgets: ReleaseBudgets, endSessions: SessionEnder, report: (m: string) => void): { watch: Watch; close(): Promise<void> } {
  const alerts = new AlertStore(db);
  const tenantOfAlert = new Map<string, string | null>();
  const dispatcher = dispatcherFromSettings(config.alertDelivery, {
    onOutcome: (o) => {
      const tenant = tenantOfAlert.get(o.alertId) ?? null;
      tenantOfAlert.delete(o.alertId);
      alerts.recordDelivery(tenant, o.alertId, o.channel, o.ok ? 'delivered' : 'failed', o.attempts, o.error).catch(() => report(`alert ${o.alertId}: delivery status not recorded`));
    },
  });
  const sink = dispatcher.channels.length ? {
    deliver: (a: StoredAlert) => {
      if (tenantOfAlert.size > 10_000) tenantOfAlert.clear();
      tenantOfAlert.set(a.id, a.tenantId);
      void dispatcher.dispatch({ id: a.id, tenantId: a.tenantId, kind: a.kind, severity: a.severity, state: a.state, actor: a.actor, tokenId: a.tokenId, firstAt: a.firstAt, lastAt: a.lastAt, patients: a.patients, summary: a.summary });
    },
  } : undefined;
  const watch = new Watch({
    alerts, sink, suspensions: new Suspensions(db), budgets, canaries: new Canaries(db), audit, endSessions,
  });
  return { watch, close: () => dispatcher.close({ abort: true }) };
}
