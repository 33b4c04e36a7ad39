// Validation and blind indexing of bulk-import resources: the same in the import workers and, for
// small batches, inline on the main thread.
import { hasErrors, validateResource, type ValidationIssue } from '../fhir/validate.ts';
import { resourceTokens } from './indexer.ts';
import { withCompartmentToken } from '../access/care-links.ts';
import type { TenantKeys } from '../vault/keyring.ts';

/** Per resource: its validation issues, and its blind-index tokens with the compartment token (none when invalid). */
export function validateAndIndex(keys: TenantKeys, resources: readonly unknown[]): { issues: ValidationIssue[][]; tokens: string[][] } {
  const issues = resources.map((r) => validateResource(r));
  return { issues, tokens: resources.map((r, i) => (hasErrors(issues[i]) ? [] : withCompartmentToken(keys, r, resourceTokens(keys, r)))) };
}
