// batch and transaction Bundles. A transaction is one database transaction: urn:uuid references
// are rewritten to the ids the server assigns, writes happen in FHIR's order (DELETE, POST, PUT),
// references are checked once all are written, and any failure rolls everything back.
import { randomUUID } from 'node:crypto';
import type { Repository, SearchResult } from '../store/repository.ts';
import type { AccessContext } from '../core/context.ts';
import { FhirError, bundle, errorToOutcome } from '../fhir/outcome.ts';
import { parseSearch } from '../fhir/search-query.ts';

interface Req { index: number; method: string; type: string; id?: string; query?: [string, string][]; resource?: any; fullUrl?: string; ifMatch?: number }

const ORDER: Record<string, number> = { DELETE: 0, POST: 1, PUT: 2, GET: 3 };

function parseEntry(e: any, index: number): Req {
  const method = String(e?.request?.method ?? '').toUpperCase();
  const url = String(e?.request?.url ?? '');
  if (!(method in ORDER)) throw FhirError.badRequest(`entry ${index}: request.method must be GET, POST, PUT or DELETE`, [`Bundle.entry[${index}].request.method`]);
  const m = /^([A-Z][A-Za-z]+)(?:\/([A-Za-z0-9\-.]{1,64}))?(?:\?(.*))?$/.exec(url.replace(/^\//, ''));
  if (!m) throw FhirError.badRequest(`entry ${index}: request.url must be Type, Type/id or Type?query`, [`Bundle.entry[${index}].request.url`]);
  if (e?.request?.ifNoneExist || (m[3] !== undefined && method !== 'GET')) throw FhirError.badRequest(`entry ${index}: conditional operations are not supported`);
  let ifMatch: number | undefined;
  if (e?.request?.ifMatch) {
    const m = /^(?:W\/)?"(\d{1,9})"$/.exec(String(e.request.ifMatch).trim());
    if (!m) throw FhirError.badRequest(`entry ${index}: request.ifMatch must be an ETag like W/"3"`);
    ifMatch = Number(m[1]);
  }
  const req: Req = { index, method, type: m[1], id: m[2], query: m[3] !== undefined ? [...new URLSearchParams(m[3])] : undefined, resource: e?.resource, fullUrl: e?.fullUrl, ifMatch };
  if ((method === 'PUT' || method === 'DELETE') && !req.id) throw FhirError.badRequest(`entry ${index}: ${method} needs Type/id`);
  if ((method === 'POST' || method === 'PUT') && (!req.resource || req.resource.resourceType !== req.type)) throw FhirError.badRequest(`entry ${index}: resource must be a ${req.type}`);
  return req;
}

function rewriteReferences(node: any, map: Map<string, string>, depth = 0): void {
  if (depth > 64) throw FhirError.badRequest('resource nested too deeply');
  if (Array.isArray(node)) { for (const x of node) rewriteReferences(x, map, depth + 1); return; }
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    if (k === 'reference' && typeof v === 'string' && map.has(v)) node[k] = map.get(v);
    else if (typeof v === 'object') rewriteReferences(v, map, depth + 1);
  }
}

const versionResponse = (status: string, base: string, r: { resource?: any; versionId: number; lastUpdated: Date }, type: string, id: string) => ({
  status, location: `${base}/${type}/${id}/_history/${r.versionId}`, etag: `W/"${r.versionId}"`, lastModified: r.lastUpdated.toISOString(),
});

async function runGet(repo: Repository, ctx: AccessContext, r: Req, base: string, maxCount: number): Promise<any> {
  if (r.id) {
    const res = await repo.read(ctx, r.type, r.id);
    return { resource: JSON.parse(res.json), response: { status: '200 OK', etag: `W/"${res.versionId}"`, lastModified: res.lastUpdated.toISOString() } };
  }
  const s = await repo.search(ctx, parseSearch(r.type, r.query ?? [], { maxCount }));
  return { resource: searchset(s, base), response: { status: '200 OK' } };
}

/** A searchset Bundle from a repository search: matches, then included resources. */
export function searchset(r: SearchResult, base: string, link?: Array<{ relation: string; url: string }>): any {
  return bundle('searchset', [
    ...r.matches.map((res) => ({ fullUrl: `${base}/${res.resourceType}/${res.id}`, resource: res, search: { mode: 'match' } })),
    ...r.includes.map((res) => ({ fullUrl: `${base}/${res.resourceType}/${res.id}`, resource: res, search: { mode: 'include' } })),
  ], { ...(r.total !== undefined ? { total: r.total } : {}), ...(link ? { link } : {}) });
}

export async function processBundle(repo: Repository, ctx: AccessContext, body: any, base: string, maxCount: number): Promise<any> {
  if (!body || body.resourceType !== 'Bundle') throw FhirError.badRequest('POST /fhir expects a Bundle');
  if (body.type !== 'batch' && body.type !== 'transaction') throw FhirError.badRequest('Bundle.type must be batch or transaction');
  const entries: any[] = Array.isArray(body.entry) ? body.entry : [];
  if (entries.length > 1000) throw FhirError.badRequest('a Bundle may hold at most 1000 entries');

  if (body.type === 'batch') {
    const out = [];
    for (let i = 0; i < entries.length; i++) {
      try {
        const r = parseEntry(entries[i], i);
        if (r.method === 'GET') out.push(await runGet(repo, ctx, r, base, maxCount));
        else if (r.method === 'POST') { const { id: _x, ...res } = r.resource; const w = await repo.create(ctx, res); out.push({ resource: w.resource, response: versionResponse('201 Created', base, w, r.type, w.resource.id) }); }
        else if (r.method === 'PUT') { const w = await repo.update(ctx, r.type, r.id!, r.resource, { ifMatch: r.ifMatch }); out.push({ resource: w.resource, response: versionResponse(w.created ? '201 Created' : '200 OK', base, w, r.type, r.id!) }); }
        else { await repo.delete(ctx, r.type, r.id!); out.push({ response: { status: '204 No Content' } }); }
      } catch (e) {
        const { status, outcome } = errorToOutcome(e);
        out.push({ response: { status: String(status), outcome } });
      }
    }
    return bundle('batch-response', out);
  }

  const reqs = entries.map(parseEntry);
  // Pre-assign ids so entries can reference each other by fullUrl.
  const map = new Map<string, string>();
  const newIds = new Map<number, string>();
  for (const r of reqs) {
    if (r.method === 'POST') {
      const id = randomUUID();
      newIds.set(r.index, id);
      if (r.fullUrl) map.set(r.fullUrl, `${r.type}/${id}`);
    } else if (r.method === 'PUT' && r.fullUrl) map.set(r.fullUrl, `${r.type}/${r.id}`);
  }
  for (const r of reqs) if (r.resource) rewriteReferences(r.resource, map);
  const results = new Array<any>(reqs.length);
  const sorted = [...reqs].sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index);
  await repo.transaction(ctx, async (ops) => {
    for (const r of sorted) {
      if (r.method === 'DELETE') { await ops.delete(r.type, r.id!); results[r.index] = { response: { status: '204 No Content' } }; }
      else if (r.method === 'POST') {
        const { id: _x, ...res } = r.resource;
        const w = await ops.create(res, newIds.get(r.index));
        results[r.index] = { fullUrl: `${base}/${r.type}/${w.resource.id}`, resource: w.resource, response: versionResponse('201 Created', base, w, r.type, w.resource.id) };
      } else if (r.method === 'PUT') {
        const w = await ops.update(r.type, r.id!, r.resource, r.ifMatch);
        results[r.index] = { fullUrl: `${base}/${r.type}/${r.id}`, resource: w.resource, response: versionResponse(w.created ? '201 Created' : '200 OK', base, w, r.type, r.id!) };
      }
    }
  });
  // Reads run after the commit so they see the transaction's writes and are audited as reads;
  // the writes are committed, so a failed read is reported in its entry, not as a failed Bundle.
  for (const r of sorted) {
    if (r.method !== 'GET') continue;
    try { results[r.index] = await runGet(repo, ctx, r, base, maxCount); } catch (e) {
      const { status, outcome } = errorToOutcome(e);
      results[r.index] = { response: { status: String(status), outcome } };
    }
  }
  return bundle('transaction-response', results);
}
