// The library's issues re-written from a fixed vocabulary: no submitted value ever reaches diagnostics.
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { type IssueCode, type ValidationIssue } from './resource-types.ts';
import { type Engine } from './engine.ts';

// ---------------------------------------------------------------------------------------------------------
// Re-writing the library's issues into value-free ones

export const ELEMENT_NAME = /^_?[A-Za-z][A-Za-z0-9]{0,63}(\[x\])?$/;
// The first segment is a resource type (capitalised); the others are element names, which FHIR spells in
// lowerCamelCase. A key that does not look like one (e.g. "Jean Dupont", "Dupont") is not kept in a path.
export const PATH_ROOT = /^[A-Z][A-Za-z]{0,63}$/;
export const PATH_SEGMENT = /^(_?[a-z][A-Za-z0-9]{0,63}(\[x\])?)(\[\d{1,9}\])?$/;

/** Keeps the longest prefix of a path made only of element names and indexes. */
export function safePath(path: string | undefined): string | undefined {
  if (!path) {
    return undefined;
  }
  const [root, ...segments] = path.split('.');
  if (!PATH_ROOT.test(root)) {
    return undefined;
  }
  const out: string[] = [root];
  for (const seg of segments) {
    if (!PATH_SEGMENT.test(seg)) {
      break;
    }
    out.push(seg);
  }
  return out.join('.');
}

export interface Rule {
  re: RegExp;
  map: (m: RegExpExecArray, e: Engine) => { code: IssueCode; diagnostics: string } | null;
}

// Each known message shape, with what may be kept of it. Captured groups are only ever re-emitted when they
// come from the specification (constraint keys/descriptions, slice names) or are type names / numbers.
export const RULES: Rule[] = [
  { re: /^Missing required property$/, map: () => ({ code: 'required', diagnostics: 'Missing required element' }) },
  {
    re: /^Invalid number of values: expected (\d+)\.\.(\d+|\*), but found (\d+)$/,
    map: (m) => ({ code: 'structure', diagnostics: `Invalid number of values: expected ${m[1]}..${m[2]}, found ${m[3]}` }),
  },
  {
    re: /^Expected (array of values|single value) for property$/,
    map: (m) => ({ code: 'structure', diagnostics: m[1] === 'single value' ? 'Expected a single value, not an array' : 'Expected an array' }),
  },
  {
    re: /^Invalid additional property "[^]*"$/,
    map: () => ({ code: 'structure', diagnostics: 'Unknown element (not defined for this type)' }),
  },
  {
    re: /^Invalid JSON type: expected (string|number|boolean), but got (string|number|bigint|boolean|symbol|undefined|object|function)$/,
    map: (m) => ({ code: 'structure', diagnostics: `Invalid JSON type: expected ${m[1]}, got ${m[2]}` }),
  },
  {
    re: /^Invalid JSON type: [^]* is not a valid FHIR type$/,
    map: () => ({ code: 'processing', diagnostics: 'Element has an unknown primitive type' }),
  },
  {
    re: /^Invalid ([A-Za-z0-9]{1,32}) (format|value)$/,
    map: (m) => ({ code: 'value', diagnostics: `Invalid ${m[1]} ${m[2]}` }),
  },
  {
    re: /^(String must contain non-whitespace content|String cannot be larger than 1 MB|Invalid numeric value|Expected number to be an integer|Expected number to be in the range -?\d+\.\.\d+|base64Binary exceeds \d+ bytes|Value did not match expected pattern)$/,
    map: (m) => ({ code: 'value', diagnostics: m[1] }),
  },
  {
    re: /^(Invalid empty value|Invalid empty non-primitive value|Invalid null value|Invalid undefined value)$/,
    map: (m) => ({ code: 'structure', diagnostics: m[1] }),
  },
  {
    re: /^Incorrect number of values provided for slice '([A-Za-z0-9_\-.:]{1,64})': expected (\d+)\.\.(\d+|\*), but found (\d+)$/,
    map: (m) => ({ code: 'structure', diagnostics: `Incorrect number of values for slice '${m[1]}': expected ${m[2]}..${m[3]}, found ${m[4]}` }),
  },
  {
    // Constraint keys and descriptions come from the StructureDefinitions, not from the request.
    re: /^Constraint ([A-Za-z0-9\-.]{1,32}) not met: ([^]{0,500})$/,
    map: (m) => ({ code: 'invariant', diagnostics: `Constraint ${m[1]} not met: ${m[2]}` }),
  },
  {
    re: /^Error evaluating invariant expression$/,
    map: () => ({ code: 'processing', diagnostics: 'Error evaluating an invariant' }),
  },
  {
    // `got "X"` is the part of the submitted reference before the first '/' (or '?'). Only a relative
    // reference to a real resource type is a wrong target; for absolute URLs, urn:uuid: and the like the
    // library's check does not apply (their targets are checked when references are resolved).
    re: /^Invalid reference: got "([^]*)", expected [^]*$/,
    map: (m, e) =>
      /^[A-Z][A-Za-z]{1,63}$/.test(m[1]) && e.core.isResourceType(m[1])
        ? { code: 'structure', diagnostics: `Reference to a ${m[1]} is not allowed here` }
        : null,
  },
  {
    re: /^Conflicting choice of type properties: [^]*$/,
    map: () => ({ code: 'structure', diagnostics: 'More than one type given for a choice element ([x])' }),
  },
  {
    re: /^Type of primitive extension does not match the type of property [^]*$/,
    map: () => ({ code: 'structure', diagnostics: 'Primitive extension (_element) does not match the type of its element' }),
  },
];

export function rewriteIssue(e: Engine, rootType: string, issue: OperationOutcomeIssue): ValidationIssue | null {
  const text = issue.details?.text ?? '';
  let expressionPath = issue.expression?.[0];
  // The choice-of-type warnings carry a bare element name, relative to the object that holds it.
  if (expressionPath && !expressionPath.includes('.') && expressionPath !== rootType && ELEMENT_NAME.test(expressionPath)) {
    expressionPath = undefined;
  }
  for (const rule of RULES) {
    const m = rule.re.exec(text);
    if (m) {
      const mapped = rule.map(m, e);
      if (!mapped) {
        return null;
      }
      // Everything kept is a spec violation: the few library "warnings" (reference target type, two types for
      // one choice element) are real errors for this server, so all issues are errors.
      return makeIssue(mapped.code, mapped.diagnostics, expressionPath);
    }
  }
  if (issue.severity !== 'error' && issue.severity !== 'fatal') {
    return null; // unknown informational output of the library: not a reason to reject
  }
  return makeIssue('invalid', 'Invalid content', expressionPath);
}

export function makeIssue(code: IssueCode, diagnostics: string, path: string | undefined): ValidationIssue {
  const issue: ValidationIssue = { severity: 'error', code, diagnostics };
  const p = safePath(path);
  if (p) {
    issue.expression = [p];
  }
  return issue;
}

/** String leaves of a value (bounded), used to make sure no diagnostics repeats one of them. */
export function stringLeaves(value: unknown, out: Set<string>, limit = 20_000): void {
  const stack: unknown[] = [value];
  while (stack.length && out.size < limit) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.length >= 4) {
        out.add(v);
      }
    } else if (Array.isArray(v)) {
      stack.push(...v);
    } else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (k !== 'resourceType') {
          stack.push(child);
        }
      }
    }
  }
}

export function scrubIssues(resource: unknown, issues: ValidationIssue[]): ValidationIssue[] {
  if (!issues.length) {
    return issues;
  }
  const leaves = new Set<string>();
  stringLeaves(resource, leaves);
  const seen = new Set<string>();
  const out: ValidationIssue[] = [];
  for (const issue of issues) {
    for (const leaf of leaves) {
      if (issue.diagnostics.includes(leaf)) {
        issue.diagnostics = 'Invalid content';
        break;
      }
    }
    const key = `${issue.code}\u0000${issue.diagnostics}\u0000${issue.expression?.join(',') ?? ''}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(issue);
    }
  }
  return out;
}
