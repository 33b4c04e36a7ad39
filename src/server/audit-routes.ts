// Investigation routes under /fhir (registered inside the authenticated /fhir scope by app.ts):
//   GET  /fhir/AuditEvent, POST /fhir/AuditEvent/_search   BALP AuditEvents built from the access log
//   GET  /fhir/AuditEvent/{id}
//   POST /fhir/$blast-radius                               patients touched by a set of accesses
// Static segments take precedence over /fhir/:type in Fastify's router. Roles come from the policy
// (AuditEvent read/search: dpo, auditor; $blast-radius: capability audit:investigate). Every use is
// itself an access event, written before the answer leaves.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../detect/services.ts';
import type { AccessContext } from '../core/context.ts';
import { FhirError, bundle } from '../fhir/outcome.ts';
import { requireInteraction } from '../access/capabilities.ts';
import { parseAuditEventSearch, readAuditEvent, searchAuditEvents, toAuditEvent } from '../audit/read/audit-event.ts';
import { assertInvestigator, criteriaFromParameters, investigate, toBundle, toCsv, toParameters } from '../respond/blast-radius.ts';
import { PageTokens } from './page-token.ts';
import { FHIR_JSON } from './http.ts';

const baseUrl = (req: FastifyRequest) => `${req.protocol}://${req.host}/fhir`;
const ctxOf = (req: FastifyRequest): AccessContext => {
  if (!req.access) throw FhirError.unauthorized();
  return req.access;
};

export function registerAuditRoutes(app: FastifyInstance, services: Services): void {
  const { database, audit, config } = services;
  const db = database.db;
  const pages = new PageTokens(services.keyring);

  const recordOrFail = async (ctx: AccessContext, action: string, refs: string[], detail?: string) => {
    try {
      await audit.record(ctx, { action, outcome: 'success', resourceRefs: refs, patientIds: [], detail });
    } catch {
      throw FhirError.serviceUnavailable('access log unavailable');
    }
  };
  const allow = (ctx: AccessContext, interaction: 'read' | 'search', action: string) =>
    requireInteraction(audit, ctx, interaction, 'AuditEvent', { action, resourceRefs: ['AuditEvent'] }, `role ${ctx.actor.role} may not ${interaction} AuditEvent`);
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try { return await fn(); } catch (e) {
      if (e instanceof FhirError) throw e;
      throw FhirError.serviceUnavailable('database unavailable', e);
    }
  };

  app.get<{ Params: { id: string } }>('/AuditEvent/:id', async (req, reply) => {
    const ctx = ctxOf(req);
    allow(ctx, 'read', 'audit-read');
    const row = await guard(() => readAuditEvent(db, ctx.tenantId, req.params.id));
    if (!row) {
      audit.record(ctx, { action: 'audit-read', outcome: 'failure', resourceRefs: ['AuditEvent'], patientIds: [], detail: 'status=404' }).catch(() => {});
      throw FhirError.notFound('AuditEvent', /^\d{1,18}$/.test(req.params.id) ? req.params.id : 'unknown');
    }
    await recordOrFail(ctx, 'audit-read', [`AuditEvent/${row.leaf}`]);
    return reply.type(FHIR_JSON).send(toAuditEvent(ctx.tenantId, row));
  });

  const search = async (req: FastifyRequest, reply: FastifyReply, pairs: [string, string][]) => {
    const ctx = ctxOf(req);
    allow(ctx, 'search', 'audit-search');
    let after: { at: string; seq: string } | undefined;
    const page = pairs.find(([k]) => k === '_page');
    if (page) {
      const state = await pages.open(page[1], ctx.tenantId, 'AuditEvent');
      if (!state) throw FhirError.badRequest('this paging link has expired or is invalid; run the search again', ['_page']);
      const cursor = state.params.find(([k]) => k === '_cursor');
      pairs = state.params.filter(([k]) => k !== '_cursor');
      if (cursor) { const [at, seq] = cursor[1].split('|'); after = { at, seq }; }
    }
    const q = parseAuditEventSearch(pairs, config.maxPageSize);
    const r = await guard(() => searchAuditEvents(db, ctx.tenantId, q, after));
    // The search is an access to the log: recorded with the parameter names, not their values.
    await recordOrFail(ctx, 'audit-search', [], `params=${[...new Set(q.params.map(([k]) => k))].join(',')};results=${r.rows.length}`);
    const base = baseUrl(req);
    const keep: [string, string][] = [...q.params, ['_count', String(q.count)], ['_sort', q.sort === 'desc' ? '-date' : 'date']];
    const link = async (extra: [string, string][]) => `${base}/AuditEvent?_page=${await pages.seal(ctx.tenantId, 'AuditEvent', [...keep, ...extra], 0)}`;
    const links = [{ relation: 'self', url: await link(after ? [['_cursor', `${after.at}|${after.seq}`]] : []) }];
    if (r.next) links.push({ relation: 'next', url: await link([['_cursor', `${r.next.at}|${r.next.seq}`]]) });
    reply.type(FHIR_JSON);
    return bundle('searchset', r.rows.map((row) => ({
      fullUrl: `${base}/AuditEvent/${row.leaf}`,
      resource: toAuditEvent(ctx.tenantId, row),
      search: { mode: 'match' },
    })), { link: links });
  };

  app.get('/AuditEvent', async (req, reply) => {
    const qs = req.url.indexOf('?');
    return search(req, reply, qs < 0 ? [] : [...new URLSearchParams(req.url.slice(qs + 1))]);
  });

  app.post('/AuditEvent/_search', async (req, reply) => {
    const qs = req.url.indexOf('?');
    const fromUrl: [string, string][] = qs < 0 ? [] : [...new URLSearchParams(req.url.slice(qs + 1))];
    if (req.body !== undefined && !Array.isArray(req.body)) throw FhirError.badRequest('_search expects application/x-www-form-urlencoded parameters');
    return search(req, reply, [...fromUrl, ...((req.body as [string, string][] | undefined) ?? [])]);
  });

  app.post('/$blast-radius', async (req, reply) => {
    const ctx = ctxOf(req);
    assertInvestigator(audit, ctx);
    const { criteria, format } = criteriaFromParameters(req.body);
    const r = await investigate(db, audit, ctx, criteria);
    if (format === 'csv') return reply.type('text/csv; charset=utf-8').header('Content-Disposition', 'attachment; filename="blast-radius.csv"').send(toCsv(r));
    return reply.type(FHIR_JSON).send(format === 'bundle' ? toBundle(r) : toParameters(r));
  });
}
