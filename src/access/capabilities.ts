// Operations outside FHIR CRUD (export, prune, log reading, investigation…): the capability check and its
// recorded denial, so routes and workflows never decide by themselves.
import type { AccessContext } from '../core/context.ts';
import type { AccessRecorder } from '../core/access-event.ts';
import { FhirError } from '../fhir/outcome.ts';
import { can, isAllowed, type Capability, type Interaction } from './policy.ts';
import { denyNow, type Denial } from './denials.ts';

/** Throws 403 (the denial recorded as `denial`) unless the actor's role holds the capability. */
export function requireCapability(recorder: AccessRecorder, ctx: AccessContext, capability: Capability, denial: Denial, message = `capability ${capability} required`): void {
  if (!can(ctx.actor.role, capability)) denyNow(recorder, ctx, denial, FhirError.forbidden(message));
}

/** Throws 403 (the denial recorded as `denial`) unless the role may do this interaction on this type. */
export function requireInteraction(recorder: AccessRecorder, ctx: AccessContext, interaction: Interaction, type: string, denial: Denial, message: string): void {
  if (!isAllowed(ctx.actor.role, interaction, type)) denyNow(recorder, ctx, denial, FhirError.forbidden(message));
}
