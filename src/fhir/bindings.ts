// Required-strength value set bindings, which the library collects but does not check.
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';
import { type ValidationIssue } from './resource-types.ts';
import { type Token, type Expansion, type Engine, indexTerminology } from './engine.ts';
import { makeIssue } from './issues.ts';

// ---------------------------------------------------------------------------------------------------------
// Value set expansion (only what can be done locally and exactly: enumerated concepts, or whole code
// systems shipped with complete content; anything with filters or external code systems is not checked).

export function findCodeSystem(e: Engine, url: string): CodeSystem | undefined {
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

export function codeSystemCodes(e: Engine, url: string): Set<string> | undefined {
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

export function expandValueSet(e: Engine, canonical: string, depth = 0): Expansion | null {
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

export function computeExpansion(e: Engine, vs: ValueSet, depth: number): Expansion | null {
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

export function primitive(v: unknown): unknown {
  return v !== null && typeof v === 'object' ? (v as { valueOf(): unknown }).valueOf() : v;
}

export function codingMatches(exp: Expansion, coding: unknown): boolean {
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

export function checkBindings(e: Engine, tokens: Record<string, Token[]>, issues: ValidationIssue[]): void {
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
