// FHIR operations of the patient's access history, registered inside the /fhir scope (authenticated):
//   GET /fhir/Patient/{id}/$access-log[?_count=N&_offset=K]   Parameters, one `access` per event, newest first
//   GET /fhir/Patient/{id}/$access-receipt?event=N             text/plain C2SP tlog-proof of event N
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../detect/services.ts';
import type { AccessContext } from '../core/context.ts';
import { FhirError } from '../fhir/outcome.ts';
import { FHIR_ID_REGEX } from '../fhir/validate.ts';
import { accessHistory, accessReceipt, type AccessHistoryEntry } from '../audit/read/access-history.ts';

const ctxOf = (req: FastifyRequest): AccessContext => {
  if (!req.access) throw FhirError.unauthorized();
  return req.access;
};

function int(v: string | undefined, name: string, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v) || Number(v) > max) throw FhirError.badRequest(`${name} must be an integer between 0 and ${max}`, [name]);
  return Number(v);
}

function part(e: AccessHistoryEntry, receiptUrl: string | null) {
  return [
    ...(e.event === null ? [] : [{ name: 'event', valueInteger: e.event }]),
    { name: 'date', valueInstant: e.at },
    { name: 'actor', valueString: e.actor.display },
    { name: 'actorKind', valueCode: e.actor.kind },
    { name: 'role', valueCode: e.actor.role },
    { name: 'roleLabel', valueString: e.actor.roleLabel },
    ...(e.site ? [{ name: 'site', valueString: e.site.name ?? e.site.id }] : []),
    { name: 'action', valueCode: e.action },
    { name: 'purpose', valueCode: e.purpose },
    { name: 'outcome', valueCode: e.outcome },
    { name: 'breakGlass', valueBoolean: e.breakGlass },
    ...(receiptUrl ? [{ name: 'receipt', valueUrl: receiptUrl }] : []),
  ];
}

export function registerAccessHistoryRoutes(fhir: FastifyInstance, services: Services): void {
  fhir.get<{ Params: { id: string }; Querystring: { _count?: string; _offset?: string } }>('/Patient/:id/$access-log', async (req, reply) => {
    const { id } = req.params;
    if (!FHIR_ID_REGEX.test(id)) throw FhirError.badRequest('invalid id');
    const h = await accessHistory(services, ctxOf(req), id, { count: int(req.query._count, '_count', 100, 1000) || 1, offset: int(req.query._offset, '_offset', 0, 1_000_000) });
    const base = `${req.protocol}://${req.host}/fhir/Patient/${id}`;
    reply.type('application/fhir+json; charset=utf-8').header('cache-control', 'no-store');
    return {
      resourceType: 'Parameters',
      parameter: [
        { name: 'patient', valueReference: { reference: `Patient/${id}` } },
        { name: 'total', valueInteger: h.total },
        ...h.entries.map((e) => ({ name: 'access', part: part(e, e.event === null ? null : `${base}/$access-receipt?event=${e.event}`) })),
      ],
    };
  });

  fhir.get<{ Params: { id: string }; Querystring: { event?: string } }>('/Patient/:id/$access-receipt', async (req, reply) => {
    const { id } = req.params;
    if (!FHIR_ID_REGEX.test(id)) throw FhirError.badRequest('invalid id');
    if (req.query.event === undefined) throw FhirError.badRequest('event is required', ['event']);
    const r = await accessReceipt(services, ctxOf(req), id, int(req.query.event, 'event', 0, Number.MAX_SAFE_INTEGER));
    return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="${r.filename}"`).send(r.text);
  });
}
