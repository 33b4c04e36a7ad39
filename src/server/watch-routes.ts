// The DPO's security API (docs/detection.md): alerts of the tenant and of the host, an alert's evidence and
// its actor's timeline, acknowledge/close, suspend/restore a credential. For principals with capability
// security:watch (restore: security:restore). Internal ids and counts only; every change is an access event.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../detect/services.ts';
import type { AccessContext } from '../core/context.ts';
import { FhirError } from '../fhir/outcome.ts';
import { can, type Capability } from '../access/policy.ts';
import { authenticate } from './authenticate.ts';
import { actorTimeline } from '../audit/read/actor-timeline.ts';
import { ALERT_STATES, type StoredAlert } from '../detect/alert-store.ts';
import { CONTAINABLE } from '../detect/watch.ts';

const ID = /^[A-Za-z0-9._:@-]{1,100}$/;

async function allowed(services: Services, req: FastifyRequest, cap: Capability): Promise<AccessContext> {
  const ctx = await authenticate(services, req);
  if (!can(ctx.actor.role, cap)) {
    await services.audit.record(ctx, { action: 'security-read', outcome: 'denied', resourceRefs: [], patientIds: [], detail: `capability=${cap}` }).catch(() => {});
    throw FhirError.forbidden(`role ${ctx.actor.role} may not ${cap === 'security:restore' ? 'restore credentials' : 'see or handle security alerts'}`);
  }
  return ctx;
}

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw FhirError.badRequest('the body must be a JSON object');
  return b as Record<string, unknown>;
}

function note(b: Record<string, unknown>): string | null {
  if (b.note === undefined || b.note === null || b.note === '') return null;
  if (typeof b.note !== 'string' || b.note.length > 500) throw FhirError.badRequest('note must be a text of at most 500 characters', ['note']);
  return b.note;
}

function principalOf(b: Record<string, unknown>): { kind: string; id: string; reason: string } {
  const { kind, id, reason } = b;
  if (typeof kind !== 'string' || !CONTAINABLE.has(kind)) throw FhirError.badRequest('kind must be token, client, user or patient', ['kind']);
  if (typeof id !== 'string' || !ID.test(id)) throw FhirError.badRequest('id is not a credential id', ['id']);
  if (typeof reason !== 'string' || reason.trim().length < 10 || reason.length > 500) throw FhirError.badRequest('a reason of 10 to 500 characters is required', ['reason']);
  return { kind, id, reason: reason.trim() };
}

export async function registerWatchRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const w = services.watch;
  const labels = async (tenantId: string, alerts: StoredAlert[]) => {
    const suspended = new Set((await w.suspensions.list(tenantId)).map((s) => `${s.kind}:${s.id}`));
    return alerts.map((a) => ({ ...a, evidence: undefined, credentialState: a.actor && CONTAINABLE.has(a.actor.kind) ? (suspended.has(`${a.actor.kind}:${a.actor.id}`) ? 'suspended' : 'active') : undefined }));
  };

  app.get<{ Querystring: { state?: string } }>('/watch/alerts', async (req) => {
    const ctx = await allowed(services, req, 'security:watch');
    const state = req.query.state ?? 'open';
    if (state !== 'all' && !(ALERT_STATES as readonly string[]).includes(state)) throw FhirError.badRequest('state must be open, acknowledged, closed or all', ['state']);
    const alerts = await w.alerts.list(ctx.tenantId, { state: state as 'all' });
    await services.audit.record(ctx, { action: 'security-read', outcome: 'success', resourceRefs: [], patientIds: [], detail: `alerts=${alerts.length}` });
    return { alerts: await labels(ctx.tenantId, alerts) };
  });

  app.get<{ Params: { id: string } }>('/watch/alerts/:id', async (req) => {
    const ctx = await allowed(services, req, 'security:watch');
    const a = ID.test(req.params.id) ? await w.alerts.get(ctx.tenantId, req.params.id) : null;
    if (!a) throw FhirError.notFound('Alert', req.params.id.slice(0, 64));
    const timeline = a.actor && a.tenantId ? await actorTimeline(services.database.db, a.tenantId, a.actor) : [];
    await services.audit.record(ctx, { action: 'security-read', outcome: 'success', resourceRefs: [], patientIds: [], detail: `alert=${a.id}` });
    const [labelled] = await labels(ctx.tenantId, [a]);
    return { ...labelled, evidence: a.evidence, history: a.history, timeline };
  });

  for (const [verb, state] of [['ack', 'acknowledged'], ['close', 'closed']] as const) {
    app.post<{ Params: { id: string } }>(`/watch/alerts/:id/${verb}`, async (req) => {
      const ctx = await allowed(services, req, 'security:watch');
      const n = note(body(req));
      const a = ID.test(req.params.id) ? await w.setAlertState(ctx, req.params.id, state, n) : null;
      if (!a) throw FhirError.notFound('Alert', req.params.id.slice(0, 64));
      return (await labels(ctx.tenantId, [a]))[0];
    });
  }

  const credential = async (tenantId: string, kind: string, id: string) => {
    const s = await w.suspensions.get(tenantId, { kind, id });
    const active = s && !s.restoredAt;
    const budget = await w.budgets.usage(tenantId, kind, id);
    const db = services.database.db;
    const who = kind === 'token' ? await db.selectFrom('api_tokens').select(['label', 'role']).where('tenant_id', '=', tenantId).where('token_id', '=', id).executeTakeFirst()
      : kind === 'client' ? await db.selectFrom('oauth_clients').select(['label', 'role']).where('tenant_id', '=', tenantId).where('client_id', '=', id).executeTakeFirst()
        : await db.selectFrom('accounts').select(['role', 'account_id as label']).where('tenant_id', '=', tenantId).where('account_id', '=', id).executeTakeFirst();
    return {
      kind, id, label: who?.label ?? id, role: who?.role ?? '', state: active ? 'suspended' : 'active', suspendedAt: active ? s.suspendedAt.toISOString() : null,
      reason: active ? s.reason : null, alertId: active ? s.alertId : null, budget,
    };
  };

  app.get<{ Querystring: { state?: string } }>('/watch/credentials', async (req) => {
    const ctx = await allowed(services, req, 'security:watch');
    const all = req.query.state === 'all';
    if (req.query.state !== undefined && !['all', 'suspended'].includes(req.query.state)) throw FhirError.badRequest('state must be suspended or all', ['state']);
    const rows = await w.suspensions.list(ctx.tenantId, { all });
    return { credentials: await Promise.all(rows.map((r) => credential(ctx.tenantId, r.kind, r.id))) };
  });

  app.post('/watch/credentials/suspend', async (req) => {
    const ctx = await allowed(services, req, 'security:watch');
    const p = principalOf(body(req));
    if (p.kind === ctx.actor.kind && p.id === ctx.actor.id) throw FhirError.badRequest('you cannot suspend your own credential');
    await w.contain(ctx.tenantId, p, p.reason, null, ctx);
    return credential(ctx.tenantId, p.kind, p.id);
  });

  app.post('/watch/credentials/restore', async (req) => {
    const ctx = await allowed(services, req, 'security:restore');
    const p = principalOf(body(req));
    if (!(await w.restore(ctx, p, p.reason))) throw FhirError.conflict(`${p.kind} ${p.id} is not suspended`);
    return credential(ctx.tenantId, p.kind, p.id);
  });
}
