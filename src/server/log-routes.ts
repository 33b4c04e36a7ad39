// Read-only HTTP views of the access log, for principals with capability log:read in the tenant:
//
//   GET /log/{tenant}/checkpoint                       latest signed checkpoint (C2SP tlog-checkpoint)
//   GET /log/{tenant}/tile/{L}/{N}[.p/{W}]             hash tiles (C2SP tlog-tiles)
//   GET /log/{tenant}/tile/entries/{N}[.p/{W}]         entry bundles (uint16 length-prefixed entries)
//   GET /log/{tenant}/entry/{I}                         one entry, whole (for an oversized entry's stand-in)
//   GET /log/{tenant}/proof/inclusion?index=I[&size=N] inclusion proof (JSON, base64 hashes)
//   GET /log/{tenant}/proof/consistency?from=M[&to=N]  consistency proof (JSON, base64 hashes)
//
// Nothing beyond the latest signed checkpoint is served. Another tenant's log answers exactly like a
// tenant that does not exist (404). Reading entries is recorded as an access event; tiles of hashes,
// checkpoints and proofs release no event content and are not.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../detect/services.ts';
import type { AccessContext } from '../core/context.ts';
import { FhirError } from '../fhir/outcome.ts';
import { can } from '../access/policy.ts';
import { TENANT_ID } from '../auth/api-tokens.ts';
import { authenticate } from './authenticate.ts';
import { logView, LogInconsistentError, type LogSnapshot } from '../audit/log/log-view.ts';
import { MissingNodeError } from '../audit/log/tree.ts';
import { encodeEntryBundle, MAX_ENTRY_SIZE, parseTilePath, readHashTile, TILE_WIDTH, tileWidth } from '../audit/log/tiles.ts';
import { oversizedStandIn } from '../audit/record/entry.ts';

const IMMUTABLE = 'private, max-age=31536000, immutable';
const notFound = () => new FhirError(404, [{ severity: 'error', code: 'not-found', diagnostics: 'no such endpoint' }]);
const pruned = () => new FhirError(404, [{ severity: 'error', code: 'not-found', diagnostics: 'this part of the access log was pruned (retention)' }]);

/** Maps failures of the log's storage to fail-closed answers; FhirErrors pass through. */
export async function logGuard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof FhirError) throw e;
    if (e instanceof MissingNodeError) throw pruned();
    if (e instanceof LogInconsistentError) throw FhirError.serviceUnavailable('the stored access log does not match its signed checkpoint; run cerbere audit verify', e);
    throw FhirError.serviceUnavailable('access log unavailable', e);
  }
}

function parseIndex(v: unknown, name: string, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(v) || !Number.isSafeInteger(Number(v))) throw FhirError.badRequest(`${name} must be a non-negative integer`, [name]);
  return Number(v);
}

export async function registerLogRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const view = logView(services);

  /** The principal, if it may read this tenant's log; 404 for any other tenant, 403 for a role without log:read. */
  const authorise = async (req: FastifyRequest, tenant: string): Promise<AccessContext> => {
    const ctx = await authenticate(services, req);
    if (!TENANT_ID.test(tenant) || ctx.tenantId !== tenant) {
      await services.audit.record(ctx, { action: 'log-read', outcome: 'denied', resourceRefs: [], patientIds: [], detail: 'other-tenant' }).catch(() => {});
      throw notFound();
    }
    if (!can(ctx.actor.role, 'log:read')) {
      await services.audit.record(ctx, { action: 'log-read', outcome: 'denied', resourceRefs: [], patientIds: [] }).catch(() => {});
      throw FhirError.forbidden(`role ${ctx.actor.role} may not read the access log`);
    }
    return ctx;
  };

  const signed = async (tenant: string): Promise<LogSnapshot & { checkpoint: NonNullable<LogSnapshot['checkpoint']> }> => {
    const snap = await logGuard(() => view.snapshot(tenant));
    if (!snap.checkpoint) throw new FhirError(404, [{ severity: 'error', code: 'not-found', diagnostics: 'the access log has no signed checkpoint yet' }]);
    return snap as LogSnapshot & { checkpoint: NonNullable<LogSnapshot['checkpoint']> };
  };

  type P = { tenant: string; '*': string };

  app.get<{ Params: P }>('/log/:tenant/checkpoint', async (req, reply) => {
    await authorise(req, req.params.tenant);
    const { checkpoint } = await signed(req.params.tenant);
    return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(checkpoint.note);
  });

  app.get<{ Params: P }>('/log/:tenant/tile/*', async (req, reply: FastifyReply) => {
    const ctx = await authorise(req, req.params.tenant);
    const ref = parseTilePath(`tile/${req.params['*']}`);
    if (!ref) throw notFound();
    const { checkpoint, tree, base } = await signed(req.params.tenant);
    const size = checkpoint.size;
    if (ref.kind === 'hashes') {
      const width = tileWidth(ref.level, ref.index, size);
      // A full tile only once it is full; a partial one of any width the log has reached.
      if (width === 0 || ref.width > width) throw notFound();
      const bytes = await logGuard(async () => readHashTile(tree, ref.level, ref.index, trimSize(ref.level, ref.index, ref.width)));
      return reply.type('application/octet-stream').header('cache-control', ref.width === TILE_WIDTH ? IMMUTABLE : 'private, no-cache').send(bytes);
    }
    const start = ref.index * TILE_WIDTH;
    if (start + ref.width > size) throw notFound();
    if (start < base) throw pruned();
    const entries = await logGuard(() => services.log.entries(req.params.tenant, start, start + ref.width));
    if (entries.length !== ref.width) throw FhirError.serviceUnavailable('the stored access log does not match its signed checkpoint; run cerbere audit verify');
    await logGuard(() => services.audit.record(ctx, { action: 'log-read', outcome: 'success', resourceRefs: [], patientIds: [], detail: `entries=${start}..${start + ref.width - 1}` }));
    // Entries over the bundle format's limit (written before events were split) travel as stand-ins.
    const bundled = entries.map((e, i) => (e.length > MAX_ENTRY_SIZE ? oversizedStandIn(req.params.tenant, start + i, e) : e));
    return reply.type('application/octet-stream').header('cache-control', ref.width === TILE_WIDTH ? IMMUTABLE : 'private, no-cache').send(encodeEntryBundle(bundled));
  });

  app.get<{ Params: { tenant: string; index: string } }>('/log/:tenant/entry/:index', async (req, reply) => {
    const ctx = await authorise(req, req.params.tenant);
    const index = parseIndex(req.params.index, 'index');
    const { checkpoint, base } = await signed(req.params.tenant);
    if (index >= checkpoint.size) throw notFound();
    if (index < base) throw pruned();
    const [entry] = await logGuard(() => services.log.entries(req.params.tenant, index, index + 1));
    if (!entry) throw FhirError.serviceUnavailable('the stored access log does not match its signed checkpoint; run cerbere audit verify');
    await logGuard(() => services.audit.record(ctx, { action: 'log-read', outcome: 'success', resourceRefs: [], patientIds: [], detail: `entries=${index}..${index}` }));
    return reply.type('application/octet-stream').header('cache-control', IMMUTABLE).send(entry);
  });

  app.get<{ Params: P; Querystring: { index?: string; size?: string } }>('/log/:tenant/proof/inclusion', async (req) => {
    await authorise(req, req.params.tenant);
    const { checkpoint, tree, base } = await signed(req.params.tenant);
    const size = parseIndex(req.query.size, 'size', checkpoint.size);
    const index = parseIndex(req.query.index, 'index');
    if (size > checkpoint.size) throw FhirError.badRequest(`size is beyond the latest signed checkpoint (${checkpoint.size})`, ['size']);
    if (index >= size) throw FhirError.badRequest('index must be below size', ['index']);
    if (index < base) throw pruned();
    return logGuard(async () => ({
      index, size,
      leafHash: tree.leafHash(index).toString('base64'),
      rootHash: tree.root(size).toString('base64'),
      proof: tree.inclusionProof(index, size).map((h) => h.toString('base64')),
      ...(size === checkpoint.size ? { checkpoint: checkpoint.note } : {}),
    }));
  });

  app.get<{ Params: P; Querystring: { from?: string; to?: string } }>('/log/:tenant/proof/consistency', async (req) => {
    await authorise(req, req.params.tenant);
    const { checkpoint, tree, base } = await signed(req.params.tenant);
    const to = parseIndex(req.query.to, 'to', checkpoint.size);
    const from = parseIndex(req.query.from, 'from');
    if (to > checkpoint.size) throw FhirError.badRequest(`to is beyond the latest signed checkpoint (${checkpoint.size})`, ['to']);
    if (from < 1 || from > to) throw FhirError.badRequest('need 1 ≤ from ≤ to (a consistency proof from an empty tree is meaningless)', ['from']);
    if (from < base) throw pruned();
    return logGuard(async () => ({
      from, to,
      fromRoot: tree.root(from).toString('base64'),
      toRoot: tree.root(to).toString('base64'),
      proof: tree.consistencyProof(from, to).map((h) => h.toString('base64')),
      ...(to === checkpoint.size ? { checkpoint: checkpoint.note } : {}),
    }));
  });
}

/** The smallest tree size at which tile (level, index) has `width` hashes: tiles are served as of that size. */
function trimSize(level: number, index: number, width: number): number {
  return (index * TILE_WIDTH + width) * TILE_WIDTH ** level;
}
