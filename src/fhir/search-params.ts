// Search parameters Cerbère indexes, per resource type. Each extractor returns raw values;
// the store normalises them and turns them into blind-index tokens. Exact match only.

export type ParamKind = 'token' | 'string' | 'date' | 'reference' | 'identifier' | 'email' | 'phone';

export interface RawToken { system?: string; code: string }
export type RawValue = string | RawToken;

export interface SearchParamDef {
  name: string;
  kind: ParamKind;
  extract(r: any): RawValue[];
  /** For references: the resource types a bare id may point to. */
  targets?: string[];
  /** Parameters whose index a query of this one also matches, under their own subkeys (`name` = family, given or text):
   *  what they index is not indexed again under this one. */
  covers?: string[];
  /** Token parameter whose values are FHIR codes, never with a system: `|code` and `code` mean the same, one token is indexed. */
  codes?: boolean;
}

const arr = <T>(x: T | T[] | undefined | null): T[] => (x == null ? [] : Array.isArray(x) ? x : [x]);
const codings = (cc: any): RawToken[] => arr(cc).flatMap((c: any) => arr(c?.coding)).filter((c: any) => c?.code).map((c: any) => ({ system: c.system, code: String(c.code) }));
const refs = (...xs: any[]): string[] => xs.flatMap((x) => arr(x)).map((x: any) => x?.reference).filter((s: any): s is string => typeof s === 'string');
const code = (v: any): RawToken[] => (typeof v === 'string' || typeof v === 'boolean' ? [{ code: String(v) }] : []);
const identifiers = (r: any): RawToken[] => arr(r.identifier).filter((i: any) => i?.value).map((i: any) => ({ system: i.system, code: String(i.value) }));
const humanNames = (r: any) => arr<any>(r.name);
const family = (r: any): string[] => humanNames(r).map((n) => n.family).filter(Boolean);
const given = (r: any): string[] => humanNames(r).flatMap((n) => arr<string>(n.given));
const nameTexts = (r: any): string[] => humanNames(r).map((n) => n.text).filter(Boolean);
const telecom = (r: any, system: string): string[] => arr<any>(r.telecom).filter((t) => t?.system === system && t.value).map((t) => String(t.value));
const period = (p: any): string[] => (p?.start ? [p.start] : []);

const P = (name: string, kind: ParamKind, extract: (r: any) => RawValue[], targets?: string[]): SearchParamDef => ({ name, kind, extract, targets });
// A token parameter over a FHIR `code` (gender, status…): its values never carry a system.
const C = (name: string, extract: (r: any) => RawValue[]): SearchParamDef => ({ name, kind: 'token', extract, codes: true });

const personParams = [
  P('identifier', 'identifier', identifiers),
  P('family', 'string', family),
  P('given', 'string', given),
  { ...P('name', 'string', nameTexts), covers: ['family', 'given'] },
  P('email', 'email', (r) => telecom(r, 'email')),
  P('phone', 'phone', (r) => telecom(r, 'phone')),
  C('gender', (r) => code(r.gender)),
];

// subject (any target) and patient (Patient targets only), shared by the clinical types.
const subjectParams = [
  P('subject', 'reference', (r) => refs(r.subject), ['Patient']),
  P('patient', 'reference', (r) => refs(r.subject).filter((s) => s.startsWith('Patient/')), ['Patient']),
];

export const SEARCH_PARAMS: Record<string, SearchParamDef[]> = {
  Patient: [
    ...personParams,
    P('birthdate', 'date', (r) => (r.birthDate ? [r.birthDate] : [])),
    P('general-practitioner', 'reference', (r) => refs(r.generalPractitioner), ['Practitioner', 'Organization', 'PractitionerRole']),
    P('organization', 'reference', (r) => refs(r.managingOrganization), ['Organization']),
    C('active', (r) => code(r.active)),
  ],
  Practitioner: [...personParams, C('active', (r) => code(r.active))],
  PractitionerRole: [
    P('identifier', 'identifier', identifiers),
    P('practitioner', 'reference', (r) => refs(r.practitioner), ['Practitioner']),
    P('organization', 'reference', (r) => refs(r.organization), ['Organization']),
    P('location', 'reference', (r) => refs(r.location), ['Location']),
    P('role', 'token', (r) => codings(r.code)),
    P('specialty', 'token', (r) => codings(r.specialty)),
    C('active', (r) => code(r.active)),
  ],
  Organization: [
    P('identifier', 'identifier', identifiers),
    P('name', 'string', (r) => [r.name, ...arr<string>(r.alias)].filter(Boolean)),
    P('type', 'token', (r) => codings(r.type)),
    P('partof', 'reference', (r) => refs(r.partOf), ['Organization']),
    C('active', (r) => code(r.active)),
  ],
  Location: [
    P('identifier', 'identifier', identifiers),
    P('name', 'string', (r) => [r.name, ...arr<string>(r.alias)].filter(Boolean)),
    P('organization', 'reference', (r) => refs(r.managingOrganization), ['Organization']),
    C('status', (r) => code(r.status)),
    P('type', 'token', (r) => codings(r.type)),
  ],
  ServiceRequest: [
    P('identifier', 'identifier', identifiers),
    ...subjectParams,
    P('code', 'token', (r) => codings(r.code)),
    C('status', (r) => code(r.status)),
    C('intent', (r) => code(r.intent)),
    P('requester', 'reference', (r) => refs(r.requester), ['Practitioner', 'PractitionerRole', 'Organization']),
    P('authored', 'date', (r) => (r.authoredOn ? [r.authoredOn] : [])),
    P('specimen', 'reference', (r) => refs(r.specimen), ['Specimen']),
  ],
  Specimen: [
    P('identifier', 'identifier', (r) => [...identifiers(r), ...(r.accessionIdentifier?.value ? [{ system: r.accessionIdentifier.system, code: r.accessionIdentifier.value }] : [])]),
    ...subjectParams,
    P('type', 'token', (r) => codings(r.type)),
    C('status', (r) => code(r.status)),
    P('collected', 'date', (r) => (r.collection?.collectedDateTime ? [r.collection.collectedDateTime] : period(r.collection?.collectedPeriod))),
    P('request', 'reference', (r) => refs(r.request), ['ServiceRequest']),
  ],
  Observation: [
    P('identifier', 'identifier', identifiers),
    ...subjectParams,
    P('code', 'token', (r) => codings(r.code)),
    P('category', 'token', (r) => codings(r.category)),
    C('status', (r) => code(r.status)),
    P('date', 'date', (r) => (r.effectiveDateTime ? [r.effectiveDateTime] : r.effectiveInstant ? [r.effectiveInstant] : period(r.effectivePeriod))),
    P('specimen', 'reference', (r) => refs(r.specimen), ['Specimen']),
    P('based-on', 'reference', (r) => refs(r.basedOn), ['ServiceRequest']),
    P('performer', 'reference', (r) => refs(r.performer), ['Practitioner', 'PractitionerRole', 'Organization']),
  ],
  DiagnosticReport: [
    P('identifier', 'identifier', identifiers),
    ...subjectParams,
    P('code', 'token', (r) => codings(r.code)),
    P('category', 'token', (r) => codings(r.category)),
    C('status', (r) => code(r.status)),
    P('date', 'date', (r) => (r.effectiveDateTime ? [r.effectiveDateTime] : period(r.effectivePeriod))),
    P('result', 'reference', (r) => refs(r.result), ['Observation']),
    P('based-on', 'reference', (r) => refs(r.basedOn), ['ServiceRequest']),
    P('specimen', 'reference', (r) => refs(r.specimen), ['Specimen']),
  ],
  Appointment: [
    P('identifier', 'identifier', identifiers),
    P('patient', 'reference', (r) => refs(arr<any>(r.participant).map((p) => p.actor)).filter((s) => s.startsWith('Patient/')), ['Patient']),
    P('actor', 'reference', (r) => refs(arr<any>(r.participant).map((p) => p.actor)), ['Patient', 'Practitioner', 'PractitionerRole', 'Location']),
    P('practitioner', 'reference', (r) => refs(arr<any>(r.participant).map((p) => p.actor)).filter((s) => s.startsWith('Practitioner/')), ['Practitioner']),
    P('location', 'reference', (r) => refs(arr<any>(r.participant).map((p) => p.actor)).filter((s) => s.startsWith('Location/')), ['Location']),
    C('status', (r) => code(r.status)),
    P('date', 'date', (r) => (r.start ? [r.start] : [])),
    P('service-type', 'token', (r) => codings(r.serviceType)),
    P('slot', 'reference', (r) => refs(r.slot), ['Slot']),
    P('based-on', 'reference', (r) => refs(r.basedOn), ['ServiceRequest']),
  ],
  Schedule: [
    P('identifier', 'identifier', identifiers),
    P('actor', 'reference', (r) => refs(r.actor), ['Practitioner', 'PractitionerRole', 'Location', 'Patient']),
    C('active', (r) => code(r.active)),
    P('date', 'date', (r) => period(r.planningHorizon)),
    P('service-type', 'token', (r) => codings(r.serviceType)),
  ],
  Slot: [
    P('identifier', 'identifier', identifiers),
    P('schedule', 'reference', (r) => refs(r.schedule), ['Schedule']),
    C('status', (r) => code(r.status)),
    P('start', 'date', (r) => (r.start ? [r.start] : [])),
    P('service-type', 'token', (r) => codings(r.serviceType)),
  ],
};

/** Search parameters that apply to every type and are not blind-indexed. */
export const COMMON_PARAMS = ['_id', '_lastUpdated', '_count', '_sort', '_include', '_total', '_summary', '_elements', '_format', '_page'] as const;

export function searchParam(type: string, name: string): SearchParamDef | undefined {
  return SEARCH_PARAMS[type]?.find((p) => p.name === name);
}

/** The Patient a resource belongs to (its compartment), as an id, or null. */
export function patientOf(r: any): string | null {
  if (r?.resourceType === 'Patient') return r.id ?? null;
  const candidates = [r?.subject, r?.patient, ...arr<any>(r?.participant).map((p) => p?.actor)];
  for (const c of candidates) {
    const m = typeof c?.reference === 'string' ? /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(c.reference) : null;
    if (m) return m[1];
  }
  return null;
}
