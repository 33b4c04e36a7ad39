// POST /fhir/Patient/{id}/$erase: crypto-shredding of one patient by the data-protection officer
// (capability patient:erase, checked in the repository). Registered by app.ts inside /fhir.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../detect/services.ts';
import { FhirError, operationOutcome } from '../fhir/outcome.ts';
import { erasePatient, ERASE_REASONS, type EraseReason } from '../ops/erasure.ts';
import { FHIR_JSON } from './http.ts';

export function registerEraseRoutes(app: FastifyInstance, services: Services): void {
  app.post<{ Params: { id: string } }>('/Patient/:id/$erase', async (req, reply) => {
    if (!req.access) throw FhirError.unauthorized();
    const body: any = req.body;
    // A FHIR Parameters resource: { parameter: [{ name: 'reason', valueCode: 'gdpr-art17' }] }.
    const param = Array.isArray(body?.parameter) ? body.parameter.find((p: any) => p?.name === 'reason') : undefined;
    const reason = param?.valueCode;
    if (body?.resourceType !== 'Parameters' || typeof reason !== 'string' || !(ERASE_REASONS as readonly string[]).includes(reason)) {
      throw FhirError.badRequest(`body must be a Parameters resource with a "reason" valueCode among ${ERASE_REASONS.join(', ')}`);
    }
    const r = await erasePatient(services, req.access, req.params.id, reason as EraseReason);
    if (!r) throw FhirError.notFound('Patient', req.params.id);
    reply.type(FHIR_JSON);
    return operationOutcome([{ severity: 'information', code: 'deleted',
      diagnostics: `patient erased: key destroyed, ${r.resources} resources and ${r.history} history versions removed` }]);
  });
}
