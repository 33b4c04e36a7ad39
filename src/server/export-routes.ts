// Export API for staff: request (capability export:bulk), second-person approval above the configured
// number of patients (export:approve, another principal), download of the encrypted file (exactly the
// approved scope), and release of Cerbère's key share before expiry. Registered by app.ts.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../detect/services.ts';
import type { Capability } from '../access/policy.ts';
import { requireCapability } from '../access/capabilities.ts';
import { FhirError } from '../fhir/outcome.ts';
import type { IssueCode } from '../fhir/validate.ts';
import { authenticate } from './authenticate.ts';
import { approveExport, buildExportBytes, ExportError, parseExpiry, releaseExportShare, requestExport } from '../ops/export.ts';
import { KeyProviderError } from '../vault/key-provider.ts';

const ID = /^[0-9a-f]{32}$/;

function toFhir(e: unknown): unknown {
  if (e instanceof ExportError) {
    const code: IssueCode = e.status === 404 ? 'not-found' : e.status === 403 ? 'forbidden' : e.status === 410 ? 'expired' : e.status === 409 ? 'conflict' : 'invalid';
    const issue = { severity: 'error' as const, code, diagnostics: e.message };
    return new FhirError(e.status, [issue]);
  }
  if (e instanceof KeyProviderError) return FhirError.serviceUnavailable('key provider unavailable');
  return e;
}

export async function registerExportRoutes(app: FastifyInstance, services: Services): Promise<void> {
  await app.register(async (r) => {
    r.addHook('onRequest', async (req) => { req.access = await authenticate(services, req); });
    const need = (req: FastifyRequest, c: Capability) => {
      requireCapability(services.audit, req.access!, c, { action: `export.${c}` });
      return req.access!;
    };
    const idOf = (req: FastifyRequest) => {
      const id = (req.params as { id: string }).id;
      if (!ID.test(id)) throw FhirError.badRequest('export id must be 32 hex characters');
      return id;
    };

    r.post('/', async (req, reply) => {
      const ctx = need(req, 'export:bulk');
      const b = (req.body ?? {}) as { patients?: unknown; all?: unknown; recipientKey?: unknown; expires?: unknown };
      if (typeof b.recipientKey !== 'string') throw FhirError.badRequest('recipientKey (X25519 public key, PEM) is required');
      if (b.all !== undefined && typeof b.all !== 'boolean') throw FhirError.badRequest('all must be a boolean');
      if (b.patients !== undefined && (!Array.isArray(b.patients) || !b.patients.every((p) => typeof p === 'string') || b.patients.length > 1_000_000)) throw FhirError.badRequest('patients must be an array of ids');
      if (!!b.all === !!b.patients) throw FhirError.badRequest('give either patients or all: true');
      try {
        const ms = parseExpiry(typeof b.expires === 'string' ? b.expires : '7d', services.config.keys.exportMaxDays);
        const res = await requestExport(services, ctx, { all: b.all === true, patients: b.patients as string[] | undefined, recipientKeyPem: b.recipientKey, expiresInMs: ms }, { requireApproval: true });
        reply.code(res.status === 'pending' ? 202 : 201).type('application/json');
        return res;
      } catch (e) { throw toFhir(e); }
    });

    r.post('/:id/approve', async (req) => {
      const ctx = need(req, 'export:approve');
      try { await approveExport(services, ctx, idOf(req)); } catch (e) { throw toFhir(e); }
      return { id: idOf(req), status: 'approved' };
    });

    r.get('/:id/file', async (req, reply) => {
      const ctx = need(req, 'export:bulk');
      try {
        const bytes = await buildExportBytes(services, ctx, idOf(req));
        reply.type('application/octet-stream').header('content-disposition', `attachment; filename="cerbere-export-${idOf(req)}.cbx"`);
        return bytes;
      } catch (e) { throw toFhir(e); }
    });

    r.post('/:id/key', async (req, reply) => {
      const ctx = need(req, 'export:bulk');
      try {
        const share = await releaseExportShare(services, ctx, idOf(req));
        const body = { id: idOf(req), share: share.toString('base64') };
        share.fill(0);
        reply.header('cache-control', 'no-store');
        return body;
      } catch (e) { throw toFhir(e); }
    });
  }, { prefix: '/exports' });
}
