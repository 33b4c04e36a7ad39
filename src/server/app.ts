// The Fastify application: security headers, authentication, error mapping, routes.
// Routes are thin: they parse, call the repository, and format FHIR responses.
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import helmet from 'helmet';
import rateLimit from '@fastify/rate-limit';
import type { Services } from '../detect/services.ts';
import { errorToOutcome, FhirError, operationOutcome } from '../fhir/outcome.ts';
import type { AccessContext } from '../core/context.ts';
import { registerFhirRoutes } from './fhir-routes.ts';
import { registerLogRoutes } from './log-routes.ts';
import { registerWatchRoutes } from './watch-routes.ts';
import { registerAccessHistoryRoutes } from './access-history-routes.ts';
import { registerExportRoutes } from './export-routes.ts';
import { registerAuditRoutes } from './audit-routes.ts';
import { accountAccessContext, registerAuthRoutes } from './auth-routes.ts';
import { registerBreakGlassRoutes } from './break-glass-routes.ts';
import { registerEraseRoutes } from './erase-routes.ts';
import { loadFhirDefinitions } from '../fhir/validate.ts';
import { registerPages } from './pages.ts';
import { DEFAULT_PURPOSE, isPurposeOfUse, PURPOSES_OF_USE } from '../core/purposes.ts';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';


declare module 'fastify' {
  interface FastifyRequest { access?: AccessContext }
}

export interface AppOptions { logLevel?: string | false; rateLimitPerMinute?: number }

export async function buildApp(services: Services, opts: AppOptions = {}): Promise<FastifyInstance> {
  loadFhirDefinitions(); // once per process, so the first request does not pay ≈0.8 s
  const app = Fastify({
    logger: opts.logLevel ? { level: opts.logLevel, redact: ['req.headers.authorization'] } : false,
    // Fastify's own request lines would print URLs with query strings: we log route patterns instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 8 * 1024 * 1024,
    return503OnClosing: true,
    // Query strings may carry search values: never let them into logs.
    requestIdHeader: false,
    // req.ip comes from X-Forwarded-For only when the connection comes from a configured proxy.
    trustProxy: services.config.keys.trustProxy.length ? services.config.keys.trustProxy : false,
  });

  // Strict CSP for the pages (and harmless on API answers): scripts and styles from this origin only,
  // no inline script, no framing; no upgrade-insecure-requests, TLS is the proxy's job (HSTS is sent).
  // Built once: @fastify/helmet rebuilds helmet's middleware on every request (≈ 20 µs each, measured).
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'"], connectSrc: ["'self'"],
        fontSrc: ["'self'"], objectSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'self'"], frameAncestors: ["'none'"],
      },
    },
  });
  app.addHook('onRequest', (req, reply, done) => securityHeaders(req.raw, reply.raw, (err?: unknown) => done(err as Error | undefined)));
  await app.register(rateLimit, {
    max: opts.rateLimitPerMinute ?? 600_000,
    timeWindow: 60_000,
    keyGenerator: (req) => (req.headers.authorization ?? '').slice(-24) || req.ip,
    errorResponseBuilder: () => new FhirError(429, [{ severity: 'error', code: 'throttled', diagnostics: 'too many requests' }]),
  });

  app.addContentTypeParser(['application/fhir+json'], { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, [...new URLSearchParams(String(body))]);
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, outcome } = errorToOutcome(err);
    if (status >= 500) req.log.error({ code: (err as any)?.code, cause: (err as any)?.cause?.code, route: req.routeOptions?.url }, 'request failed');
    reply.code(status).type(FHIR_JSON).send(outcome);
  });
  app.setNotFoundHandler((_req, reply) => {
    reply.code(404).type(FHIR_JSON).send(operationOutcome([{ severity: 'error', code: 'not-found', diagnostics: 'no such endpoint' }]));
  });
  app.addHook('onResponse', async (req, reply) => {
    req.log.info({ method: req.method, route: req.routeOptions?.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.get('/healthz', async (_req, reply) => {
    try {
      await services.provider.check();
      await services.database.db.selectFrom('tenants').select('tenant_id').limit(1).execute();
      return { status: 'ok' };
    } catch {
      reply.code(503);
      return { status: 'unavailable' };
    }
  });

  await registerAuthRoutes(app, services);

  await app.register(async (fhir) => {
    fhir.addHook('onRequest', async (req) => {
      if (req.method === 'GET' && (req.url === '/fhir/metadata' || req.url.startsWith('/fhir/metadata?'))) return;
      req.access = await authenticate(services, req);
    });
    registerBreakGlassRoutes(fhir, services);
    registerFhirRoutes(fhir, services);
    registerAccessHistoryRoutes(fhir, services);
    registerAuditRoutes(fhir, services);
    registerEraseRoutes(fhir, services);
  }, { prefix: '/fhir' });

  await registerLogRoutes(app, services);
  await registerExportRoutes(app, services);
  await registerWatchRoutes(app, services);
  await registerPages(app);

  return app;
}

export async function authenticate(services: Services, req: FastifyRequest): Promise<AccessContext> {
  const purposeHeader = req.headers['x-purpose-of-use'];
  if (Array.isArray(purposeHeader)) throw FhirError.badRequest('X-Purpose-Of-Use must be given once');
  const purpose = typeof purposeHeader === 'string' ? purposeHeader.toUpperCase() : DEFAULT_PURPOSE;
  if (!isPurposeOfUse(purpose)) throw FhirError.badRequest(`X-Purpose-Of-Use must be one of ${PURPOSES_OF_USE.join(', ')}`);
  // Accounts (access token or session cookie with CSRF on writes) and OAuth clients; null for API tokens.
  const account = await accountAccessContext(services, req, purpose);
  if (account) return notSuspended(services, account);
  const h = req.headers.authorization;
  if (!h || !h.startsWith('Bearer ')) throw FhirError.unauthorized();
  let principal;
  try { principal = await services.tokens.verify(h.slice(7).trim()); } catch {
    throw FhirError.serviceUnavailable('database unavailable');
  }
  if (!principal) throw FhirError.unauthorized();
  return notSuspended(services, {
    tenantId: principal.tenantId,
    actor: { kind: 'token', id: principal.tokenId, role: principal.role },
    purpose,
    client: { tokenId: principal.tokenId, ip: req.ip },
  });
}

/** A suspended credential (spent release budget, high-severity alert, DPO) is refused until an administrator restores it. */
async function notSuspended(services: Services, ctx: AccessContext): Promise<AccessContext> {
  let suspended: boolean;
  try { suspended = await services.watch.suspensions.isSuspended(ctx.tenantId, ctx.actor); } catch {
    throw FhirError.serviceUnavailable('database unavailable');
  }
  if (suspended) throw FhirError.forbidden('this credential is suspended after a security alert; an administrator must restore it');
  return ctx;
}
