// References of a resource (relative and urn:uuid), for the repository's in-tenant check.

// ---------------------------------------------------------------------------------------------------------
// References

/**
 * Every `Reference.reference` string in the resource — relative (`Patient/123`), absolute, conditional,
 * `urn:uuid:`, contained (`#x`) — including those in contained resources, extensions and primitive
 * extensions (`_element`). `path` locates the Reference element itself, e.g. `Observation.performer[0]`,
 * `Observation._status.extension[0].valueReference`.
 *
 * Deliberately schema-free (works on unvalidated input and cannot miss a reference hidden where a typed
 * walk would not look): any object with a string `reference` property counts, except `valueExpression`
 * (an Expression, whose `reference` is a plain uri). The few other R4 elements named `reference` that are
 * not References (DetectedIssue.reference, Immunization.education.reference) are on no supported type and
 * would only appear inside contained resources; they are then over-reported, never under-reported.
 */
export function extractReferences(resource: unknown): Array<{ path: string; reference: string }> {
  const out: Array<{ path: string; reference: string }> = [];
  if (!resource || typeof resource !== 'object') {
    return out;
  }
  const rootName = typeof (resource as { resourceType?: unknown }).resourceType === 'string'
    ? ((resource as { resourceType: string }).resourceType)
    : '';
  const stack: Array<{ value: unknown; path: string; key: string }> = [{ value: resource, path: rootName, key: '' }];
  while (stack.length) {
    const { value, path, key } = stack.pop() as { value: unknown; path: string; key: string };
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i], path: `${path}[${i}]`, key });
      }
      continue;
    }
    if (!value || typeof value !== 'object') {
      continue;
    }
    const o = value as Record<string, unknown>;
    if (typeof o.reference === 'string' && key !== 'valueExpression') {
      out.push({ path, reference: o.reference });
    }
    const keys = Object.keys(o);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i];
      const child = o[k];
      if (child && typeof child === 'object') {
        stack.push({ value: child, path: path ? `${path}.${k}` : k, key: k });
      }
    }
  }
  return out;
}
