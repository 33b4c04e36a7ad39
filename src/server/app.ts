// The Fastify application: security headers, authentication, error mapping, routes.
// Routes are thin: they parse, call the repository, and format FHIR responses.
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import helmet from 'helmet';
import rateLimit from '@fastify/rate-limit';
import type { Services } from '../detect/services.ts';
import { errorToOutcome, FhirError, operationOutcome } from '../fhir/outcome.ts';
import { registerFhirRoutes } from './fhir-routes.ts';
import { registerLogRoutes } from './log-routes.ts';
import { registerWatchRoutes } from './watch-routes.ts';
import { registerAccessHistoryRoutes } from './access-history-routes.ts';
import { registerExportRoutes } from './export-routes.ts';
import { registerAuditRoutes } from './audit-routes.ts';
import { registerAuthRoutes } from './auth-routes.ts';
import { authenticate } from './authenticate.ts';
import { FHIR_JSON } from './http.ts';
import { registerBreakGlassRoutes } from './break-glass-routes.ts';
import { registerEraseRoutes } from './erase-routes.ts';
import { loadFhirDefinitions } from '../fhir/validate.ts';
import { registerPages } from './pages.ts';


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
