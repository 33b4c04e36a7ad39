// Who is calling: an account (session cookie or access token), an OAuth client, or an API token, with the
// declared purpose of use. Every authenticated route calls it; it decides identity, never access.
import type { FastifyRequest } from 'fastify';
import type { Services } from '../detect/services.ts';
import type { AccessContext } from '../core/context.ts';
import { FhirError } from '../fhir/outcome.ts';
import { DEFAULT_PURPOSE, isPurposeOfUse, PURPOSES_OF_USE } from '../core/purposes.ts';
import { accountAccessContext } from './auth-routes.ts';

declare module 'fastify' {
  interface FastifyRequest { access?: AccessContext }
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
