// Parses FHIR search parameters into a SearchQuery the repository can run. Strict by default:
// an unknown parameter or modifier is an error, not silently ignored (a typo must not widen results).
import { COMMON_PARAMS, searchParam, SEARCH_PARAMS, type SearchParamDef } from './search-params.ts';
import { FhirError } from './outcome.ts';
import { FHIR_ID_REGEX as ID } from './validate.ts';

export interface Criterion { def: SearchParamDef; values: string[] }
export interface TimeBound { op: '>=' | '<'; at: Date }
export interface IncludeSpec { sourceType: string; param: SearchParamDef; targetType: string | null; raw: string }

export interface SearchQuery {
  type: string;
  criteria: Criterion[];
  ids: string[] | null;
  lastUpdated: TimeBound[];
  count: number;
  offset: number;
  sort: 'asc' | 'desc' | null;
  include: IncludeSpec[];
  total: boolean;
  summaryCount: boolean;
}


function splitValues(v: string): string[] {
  // Commas separate alternatives (OR); "\," is a literal comma.
  return v.split(/(?<!\\),/).map((s) => s.replace(/\\,/g, ',')).filter((s) => s.length > 0);
}

function parseInstantBounds(raw: string): TimeBound[] {
  const m = /^(eq|ge|gt|le|lt)?(\d{4}(?:-\d{2}(?:-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?)?)?)$/.exec(raw);
  if (!m) throw FhirError.badRequest('_lastUpdated must be a date or instant with an optional eq/ge/gt/le/lt prefix', ['_lastUpdated']);
  const prefix = m[1] ?? 'eq';
  const v = m[2];
  const start = new Date(v.length === 4 ? `${v}-01-01T00:00:00Z` : v.length === 7 ? `${v}-01T00:00:00Z` : v.length === 10 ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(start.getTime()) || start.getUTCFullYear() < 1) throw FhirError.badRequest('_lastUpdated is not a valid date', ['_lastUpdated']);
  const end = new Date(start);
  if (v.length === 4) end.setUTCFullYear(end.getUTCFullYear() + 1);
  else if (v.length === 7) end.setUTCMonth(end.getUTCMonth() + 1);
  else if (v.length === 10) end.setUTCDate(end.getUTCDate() + 1);
  else end.setTime(end.getTime() + 1);
  switch (prefix) {
    case 'eq': return [{ op: '>=', at: start }, { op: '<', at: end }];
    case 'ge': return [{ op: '>=', at: start }];
    case 'gt': return [{ op: '>=', at: end }];
    case 'le': return [{ op: '<', at: end }];
    default: return [{ op: '<', at: start }];
  }
}

export function parseSearch(type: string, params: Iterable<[string, string]>, opts: { maxCount: number; defaultCount?: number; lenient?: boolean }): SearchQuery {
  if (!SEARCH_PARAMS[type]) throw FhirError.badRequest(`resource type ${type} is not supported`);
  const q: SearchQuery = { type, criteria: [], ids: null, lastUpdated: [], count: opts.defaultCount ?? 20, offset: 0, sort: null, include: [], total: false, summaryCount: false };
  for (const [key, value] of params) {
    const [name, modifier] = key.split(':', 2);
    if (name.startsWith('_') && modifier !== undefined) {
      if (opts.lenient) continue;
      throw FhirError.badRequest(`modifiers are not supported on ${name.replace(/[^A-Za-z_]/g, '')}`);
    }
    if (name === '_id') {
      const ids = splitValues(value);
      if (!ids.every((i) => ID.test(i))) throw FhirError.badRequest('_id must be a list of resource ids', ['_id']);
      q.ids = q.ids ? q.ids.filter((i) => ids.includes(i)) : ids;
    } else if (name === '_lastUpdated') {
      q.lastUpdated.push(...parseInstantBounds(value));
    } else if (name === '_count') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw FhirError.badRequest('_count must be a non-negative integer', ['_count']);
      q.count = Math.min(n, opts.maxCount);
    } else if (name === '_offset') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0 || n > 1_000_000) throw FhirError.badRequest('_offset must be a non-negative integer', ['_offset']);
      q.offset = n;
    } else if (name === '_sort') {
      if (value === '_lastUpdated') q.sort = 'asc';
      else if (value === '-_lastUpdated') q.sort = 'desc';
      else throw FhirError.badRequest('only _sort=_lastUpdated and _sort=-_lastUpdated are supported', ['_sort']);
    } else if (name === '_include') {
      const [src, p, target] = value.split(':');
      const def = src ? searchParam(src, p ?? '') : undefined;
      if (src !== type || !def || def.kind !== 'reference' || (target && !def.targets?.includes(target))) {
        throw FhirError.badRequest(`_include=${value.replace(/[^A-Za-z:-]/g, '')} is not supported on ${type}`, ['_include']);
      }
      q.include.push({ sourceType: src, param: def, targetType: target ?? null, raw: value });
    } else if (name === '_total') {
      if (!['none', 'estimate', 'accurate'].includes(value)) throw FhirError.badRequest('_total must be none, estimate or accurate', ['_total']);
      q.total = value !== 'none';
    } else if (name === '_summary') {
      if (value === 'count') q.summaryCount = true;
      else if (value !== 'false') throw FhirError.badRequest('only _summary=count is supported', ['_summary']);
    } else if (name === '_format') {
      if (!/json/.test(value)) throw FhirError.badRequest('only JSON is supported', ['_format']);
    } else if ((COMMON_PARAMS as readonly string[]).includes(name)) {
      if (!opts.lenient) throw FhirError.badRequest(`${name} is not supported`, [name]);
    } else {
      const def = searchParam(type, name);
      if (!def) {
        if (opts.lenient) continue;
        throw FhirError.badRequest(`unknown search parameter ${name.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 40)} for ${type}`);
      }
      if (modifier !== undefined && !(modifier === 'exact' && def.kind === 'string')) {
        throw FhirError.badRequest(`modifier :${modifier.replace(/[^A-Za-z-]/g, '').slice(0, 20)} is not supported on ${name} (exact match only)`, [name]);
      }
      const values = splitValues(value);
      if (!values.length) throw FhirError.badRequest(`${name} needs a value`, [name]);
      q.criteria.push({ def, values });
    }
  }
  return q;
}
