// POST /fhir/Patient/{id}/$break-glass: emergency access to a patient outside the caller's care
// relationships, with a reason, for a limited time. Registered inside the authenticated /fhir scope
// by app.ts. The repository checks the capability, records the event (flagged for review) and
// honours the access on later reads and searches of that patient by the same actor.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../detect/services.ts';
import { FhirError } from '../fhir/outcome.ts';
import { FHIR_JSON } from './http.ts';

/** Reason and duration from a FHIR Parameters body ({reason: valueString, minutes: valueInteger}) or a plain object. */
export function parseBreakGlassBody(body: any, maxMinutes: number): { reason: string; minutes: number } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw FhirError.badRequest('the body must be a Parameters resource with a reason');
  let reason: unknown = body.reason;
  let minutes: unknown = body.minutes;
  if (body.resourceType === 'Parameters') {
    const p = Array.isArray(body.parameter) ? body.parameter : [];
    reason = p.find((x: any) => x?.name === 'reason')?.valueString;
    minutes = p.find((x: any) => x?.name === 'minutes')?.valueInteger;
  } else if (body.resourceType !== undefined) {
    throw FhirError.badRequest('the body must be a Parameters resource');
  }
  if (typeof reason !== 'string' || reason.trim().length < 10 || reason.length > 1000) {
    throw FhirError.badRequest('a reason of 10 to 1000 characters is required', ['reason']);
  }
  const m = minutes === undefined ? maxMinutes : minutes;
  if (typeof m !== 'number' || !Number.isInteger(m) || m < 1 || m > maxMinutes) {
    throw FhirError.badRequest(`minutes must be an integer between 1 and ${maxMinutes}`, ['minutes']);
  }
  return { reason: reason.trim(), minutes: m };
}

export function registerBreakGlassRoutes(app: FastifyInstance, services: Services): void {
  app.post<{ Params: { id: string } }>('/Patient/:id/$break-glass', async (req, reply) => {
    if (!req.access) throw FhirError.unauthorized();
    const { reason, minutes } = parseBreakGlassBody(req.body, services.config.breakGlassMaxMinutes);
    const g = await services.repo.openBreakGlass(req.access, req.params.id, reason, minutes);
    reply.code(201).type(FHIR_JSON);
    return {
      resourceType: 'Parameters',
      parameter: [
        { name: 'id', valueString: g.id },
        { name: 'patient', valueReference: { reference: `Patient/${req.params.id}` } },
        { name: 'expires', valueInstant: g.expiresAt.toISOString() },
      ],
    };
  });
}
