// FHIR R4 REST routes under /fhir. Thin: parse the request, call the repository, shape the response.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../detect/services.ts';
import { FhirError, bundle } from '../fhir/outcome.ts';
import { SUPPORTED_TYPES } from '../fhir/validate.ts';
import { parseSearch } from '../fhir/search-query.ts';
import { capabilityStatement } from '../fhir/capability.ts';
import type { AccessContext } from '../core/context.ts';
import { PageTokens } from './page-token.ts';
import { processBundle, searchset } from './bundle.ts';
import { FHIR_JSON } from './http.ts';

type Params = { type: string; id: string; vid: string };

const isType = (t: string) => (SUPPORTED_TYPES as readonly string[]).includes(t);
export const baseUrl = (req: FastifyRequest) => `${req.protocol}://${req.host}/fhir`;
const ctxOf = (req: FastifyRequest): AccessContext => {
  if (!req.access) throw FhirError.unauthorized();
  return req.access;
};

function parseIfMatch(h: string | string[] | undefined): number | undefined {
  if (h === undefined) return undefined;
  const m = /^(?:W\/)?"(\d+)"$/.exec(String(h).trim());
  if (!m) throw FhirError.badRequest('If-Match must be an ETag like W/"3"');
  return Number(m[1]);
}

function sendVersion(reply: FastifyReply, versionId: number, lastUpdated: Date) {
  reply.header('ETag', `W/"${versionId}"`).header('Last-Modified', lastUpdated.toUTCString());
}

export function registerFhirRoutes(app: FastifyInstance, services: Services): void {
  const { repo, config } = services;
  const pages = new PageTokens(services.keyring);

  app.get('/metadata', async (req, reply) => {
    reply.type(FHIR_JSON);
    return capabilityStatement(baseUrl(req), '0.1.0');
  });

  app.get<{ Params: Params }>('/:type/:id', async (req, reply) => {
    const { type, id } = req.params;
    if (id === '_history') throw FhirError.badRequest('type-level history is not supported');
    const r = await repo.read(ctxOf(req), type, id);
    sendVersion(reply, r.versionId, r.lastUpdated);
    return reply.type(FHIR_JSON).send(r.json);
  });

  app.get<{ Params: Params }>('/:type/:id/_history/:vid', async (req, reply) => {
    const { type, id, vid } = req.params;
    const r = await repo.vread(ctxOf(req), type, id, /^\d+$/.test(vid) ? Number(vid) : -1);
    sendVersion(reply, r.versionId, r.lastUpdated);
    return reply.type(FHIR_JSON).send(r.json);
  });

  app.get<{ Params: Params; Querystring: { _count?: string } }>('/:type/:id/_history', async (req, reply) => {
    const { type, id } = req.params;
    const n = Number(req.query._count ?? 50);
    if (!Number.isInteger(n) || n < 1) throw FhirError.badRequest('_count must be a positive integer', ['_count']);
    const count = Math.min(n, config.maxPageSize);
    const entries = await repo.history(ctxOf(req), type, id, { count });
    const base = baseUrl(req);
    reply.type(FHIR_JSON);
    return bundle('history', entries.map((e) => ({
      fullUrl: `${base}/${type}/${id}`,
      ...(e.resource ? { resource: e.resource } : {}),
      request: { method: e.method, url: e.method === 'POST' ? type : `${type}/${id}` },
      response: { status: e.deleted ? '204' : e.method === 'POST' ? '201' : '200', etag: `W/"${e.versionId}"`, lastModified: e.lastUpdated.toISOString() },
    })), { total: entries.length });
  });

  const search = async (req: FastifyRequest, reply: FastifyReply, type: string, pairs: [string, string][]) => {
    const ctx = ctxOf(req);
    if (!isType(type)) throw FhirError.notFoundType(type);
    let offset = 0;
    const page = pairs.find(([k]) => k === '_page');
    if (page) {
      const state = await pages.open(page[1], ctx.tenantId, type);
      if (!state) throw FhirError.badRequest('this paging link has expired or is invalid; run the search again', ['_page']);
      pairs = state.params;
      offset = state.offset;
    }
    const lenient = /handling=lenient/.test(String(req.headers.prefer ?? ''));
    const q = parseSearch(type, pairs, { maxCount: config.maxPageSize, lenient });
    if (offset) q.offset = offset;
    const r = await repo.search(ctx, q);
    const base = baseUrl(req);
    const link = async (o: number) => `${base}/${type}?_page=${await pages.seal(ctx.tenantId, type, pairs.filter(([k]) => k !== '_offset'), o)}`;
    const links = [{ relation: 'self', url: await link(q.offset) }];
    if (r.hasMore && q.count > 0) links.push({ relation: 'next', url: await link(q.offset + q.count) });
    if (q.offset > 0) links.push({ relation: 'previous', url: await link(Math.max(0, q.offset - q.count)) });
    reply.type(FHIR_JSON);
    return searchset(r, base, links);
  };

  app.get<{ Params: { type: string } }>('/:type', async (req, reply) => {
    const qs = req.url.indexOf('?');
    return search(req, reply, req.params.type, qs < 0 ? [] : [...new URLSearchParams(req.url.slice(qs + 1))]);
  });

  app.post<{ Params: { type: string } }>('/:type/_search', async (req, reply) => {
    const qs = req.url.indexOf('?');
    const fromUrl: [string, string][] = qs < 0 ? [] : [...new URLSearchParams(req.url.slice(qs + 1))];
    const body = Array.isArray(req.body) ? (req.body as [string, string][]) : [];
    if (req.body !== undefined && !Array.isArray(req.body)) throw FhirError.badRequest('_search expects application/x-www-form-urlencoded parameters');
    return search(req, reply, req.params.type, [...fromUrl, ...body]);
  });

  const respondWrite = (req: FastifyRequest, reply: FastifyReply, r: { resource: any; versionId: number; lastUpdated: Date; created: boolean }) => {
    sendVersion(reply, r.versionId, r.lastUpdated);
    reply.code(r.created ? 201 : 200).type(FHIR_JSON);
    if (r.created) reply.header('Location', `${baseUrl(req)}/${r.resource.resourceType}/${r.resource.id}/_history/${r.versionId}`);
    if (/return=minimal/.test(String(req.headers.prefer ?? ''))) return reply.send('');
    return reply.send(r.resource);
  };

  app.post<{ Params: { type: string } }>('/:type', async (req, reply) => {
    const { type } = req.params;
    if (!isType(type)) throw FhirError.notFoundType(type);
    if (req.headers['if-none-exist']) throw FhirError.badRequest('conditional create (If-None-Exist) is not supported');
    const body = req.body as any;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw FhirError.badRequest('the request body must be a FHIR resource');
    if (body.resourceType !== type) throw FhirError.badRequest(`resourceType must be ${type}`);
    const { id: _ignored, ...resource } = body; // the server assigns ids on create
    return respondWrite(req, reply, await repo.create(ctxOf(req), resource));
  });

  app.put<{ Params: Params }>('/:type/:id', async (req, reply) => {
    const { type, id } = req.params;
    const body = req.body as any;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw FhirError.badRequest('the request body must be a FHIR resource');
    if (body.id === undefined) throw FhirError.badRequest('the resource must carry its id');
    return respondWrite(req, reply, await repo.update(ctxOf(req), type, id, body, { ifMatch: parseIfMatch(req.headers['if-match']) }));
  });

  app.delete<{ Params: Params }>('/:type/:id', async (req, reply) => {
    const { type, id } = req.params;
    const r = await repo.delete(ctxOf(req), type, id);
    if (r) sendVersion(reply, r.versionId, r.lastUpdated);
    return reply.code(204).send();
  });

  app.post('/', async (req, reply) => {
    reply.type(FHIR_JSON);
    return processBundle(repo, ctxOf(req), req.body, baseUrl(req), config.maxPageSize);
  });
}
