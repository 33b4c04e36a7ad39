// Turns resources and search criteria into blind-index tokens (bigint as decimal strings).
// The same normalisation runs on both sides, so equal values meet without any plaintext stored.
import { SEARCH_PARAMS, type RawValue, type SearchParamDef } from '../fhir/search-params.ts';
import { normalizeNir } from '../fhir/nir.ts';
import { FHIR_ID_REGEX } from '../fhir/validate.ts';
import { normalizeDate, normalizeEmail, normalizePhone, normalizeText } from '../vault/normalize.ts';
import { blindToken, dateBucketValues, dateRangeBuckets } from '../vault/blind-index.ts';
import type { TenantKeys } from '../vault/keyring.ts';

const identifierValue = (v: string): string => normalizeNir(v) ?? v.trim();

function refValues(ref: string, targets?: string[]): string[] {
  // Relative "Type/id" (optionally with /_history/n); absolute URLs keep their last two segments. The bare id
  // too when its type is not one of the parameter's targets: a bare-id query asks for Target/id under each target.
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(ref);
  if (!m) return [];
  return targets?.includes(m[1]) ? [`${m[1]}/${m[2]}`] : [`${m[1]}/${m[2]}`, m[2]];
}

/** Normalised strings to index for one raw value of a parameter. */
export function indexValues(def: SearchParamDef, raw: RawValue): string[] {
  switch (def.kind) {
    case 'string': { const n = normalizeText(String(raw)); return n ? [n] : []; }
    case 'email': { const n = normalizeEmail(String(raw)); return n ? [n] : []; }
    case 'phone': { const n = normalizePhone(String(raw)); return n ? [n] : []; }
    case 'reference': return refValues(String(raw), def.targets);
    case 'date': { const d = normalizeDate(String(raw)); return d ? dateBucketValues(d) : []; }
    case 'identifier':
    case 'token': {
      const t = typeof raw === 'string' ? { code: raw } : raw;
      const c = def.kind === 'identifier' ? identifierValue(t.code) : t.code.trim();
      return def.codes && !t.system ? [`*|${c}`] : [`${t.system ?? ''}|${c}`, `*|${c}`];
    }
  }
}

/** All tokens of a resource, deduplicated. */
export function resourceTokens(keys: TenantKeys, resource: any): string[] {
  const defs = SEARCH_PARAMS[resource.resourceType] ?? [];
  const out = new Set<string>();
  for (const def of defs) {
    const raws = def.extract(resource);
    if (!raws.length) continue;
    // Values deduplicated before hashing (e.g. a given name in both the official and the usual name).
    const values = new Set<string>();
    for (const raw of raws) for (const v of indexValues(def, raw)) values.add(v);
    // One token per active index key version (two while an index key rotation runs).
    for (const sub of keys.tokenKeysFor(resource.resourceType, def.name)) for (const v of values) out.add(blindToken(sub, v).toString());
  }
  return [...out];
}

export class SearchValueError extends Error {}

const DATE_PREFIXES = ['eq', 'ge', 'gt', 'le', 'lt'] as const;

/** Normalised strings a query value must match (any of them). */
export function queryValues(def: SearchParamDef, value: string): string[] {
  switch (def.kind) {
    case 'string': {
      const n = normalizeText(value);
      if (!n) throw new SearchValueError(`empty value for ${def.name}`);
      return [n];
    }
    case 'email': {
      const n = normalizeEmail(value);
      if (!n) throw new SearchValueError(`${def.name} is not a valid e-mail address`);
      return [n];
    }
    case 'phone': {
      const n = normalizePhone(value);
      if (!n) throw new SearchValueError(`${def.name} is not a valid phone number`);
      return [n];
    }
    case 'reference': {
      const v = value.trim();
      // A bare id: Target/id under each target type, and the bare id (indexed for other types, and by earlier versions).
      if (FHIR_ID_REGEX.test(v)) return [...(def.targets ?? []).map((t) => `${t}/${v}`), v];
      const r = refValues(v);
      if (!r.length) throw new SearchValueError(`${def.name} must be a reference like Type/id`);
      return [r[0]];
    }
    case 'date': {
      const m = /^(eq|ge|gt|le|lt|ne|sa|eb|ap)?(.+)$/.exec(value.trim());
      const prefix = (m?.[1] ?? 'eq') as (typeof DATE_PREFIXES)[number];
      if (!DATE_PREFIXES.includes(prefix)) throw new SearchValueError(`date prefix ${m?.[1]} is not supported (use eq, ge, gt, le, lt)`);
      const d = normalizeDate(m?.[2] ?? '');
      if (!d) throw new SearchValueError(`${def.name} must be a date (YYYY, YYYY-MM or YYYY-MM-DD)`);
      return dateRangeBuckets(prefix, d);
    }
    case 'identifier':
    case 'token': {
      const bar = value.indexOf('|');
      const norm = (c: string) => (def.kind === 'identifier' ? identifierValue(c) : c.trim());
      if (bar < 0) return [`*|${norm(value)}`];
      // A code parameter indexes `*|code` only: asking for no system is asking for any.
      if (def.codes && bar === 0) return [`*|${norm(value.slice(1))}`];
      return [`${value.slice(0, bar)}|${norm(value.slice(bar + 1))}`];
    }
  }
}

/** Tokens for one query value (OR inside), under the tenant's index subkey for that parameter (and those it covers). */
export function queryTokens(keys: TenantKeys, type: string, def: SearchParamDef, values: string[]): string[] {
  const out = new Set<string>();
  const qs = values.flatMap((v) => queryValues(def, v));
  // Matches rows indexed under any active index key version (search keeps working during a re-index).
  for (const name of [def.name, ...(def.covers ?? [])]) for (const sub of keys.tokenKeysFor(type, name)) for (const q of qs) out.add(blindToken(sub, q).toString());
  return [...out];
}
