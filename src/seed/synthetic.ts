// Deterministic generator of synthetic French lab data as FHIR R4 resources.
//
//   const gen = createGenerator(42, { tenant: 'demo' });
//   const patient = gen.patient();                       // no id: the caller assigns it
//   const panel = gen.labPanel('Patient/123', { requester: 'Practitioner/9', performer: 'Organization/1' });
//   // panel.entries: [{ fullUrl: 'urn:uuid:…', resource, request: { method: 'POST', url: 'Observation' } }, …]
//   //   ServiceRequest(s), then the Specimen, the Observations, and last the DiagnosticReport.
//   //   Every reference *between* these resources is a `urn:uuid:` that is the fullUrl of another entry,
//   //   so `toTransactionBundle(panel.entries)` can be POSTed as is, or the caller can give each entry an id
//   //   and rewrite the references (see materialize() in seed.ts). References to the patient, requester
//   //   and performer are whatever strings the caller passed.
//
// Same seed and options ⇒ same output, call for call (a small sfc32 PRNG, never Math.random, and a
// fixed reference date instead of "now"). The people are invented: names are drawn independently
// from curated lists, phone numbers come from the ranges ARCEP reserves for fiction, e-mail domains are
// reserved example domains, NIRs are well-formed but carried under the INS *test* OID.

import type {
  Address, Bundle, BundleEntry, CodeableConcept, ContactPoint, DiagnosticReport, HumanName, Identifier, Observation,
  ObservationReferenceRange, Organization, Patient, Practitioner, Quantity, Reference, ServiceRequest, Specimen,
} from '@medplum/fhirtypes';
import { INS_OID, nirKey } from '../fhir/nir.ts';
import {
  ADDRESS_COMPLEMENTS, BIRTH_COUNTRIES, CITIES, DEPARTMENTS, DIVERSE_SURNAMES, ERA_START_YEARS, FEMALE_NAMES, LAB_NAMES, LIEUX_DITS,
  LIEUX_DITS_BZH, MALE_NAMES, MUTUELLES, REGIONAL_SHARE, REGIONAL_SURNAMES, SPECIALTIES, STREET_NAMES, STREET_TYPES, SURNAMES,
  type City, type Department,
} from './french-data.ts';

// ---------------------------------------------------------------------------------------------
// Public API

export const INS_NIR_SYSTEM = `urn:oid:${INS_OID.TEST}`;
export const INS_TYPE_SYSTEM = 'http://interopsante.org/fhir/CodeSystem/fr-v2-0203';
export const RPPS_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.1';
export const FINESS_SYSTEM = 'urn:oid:1.2.250.1.71.4.2.2';
export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';
export const UCUM = 'http://unitsofmeasure.org';
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
export const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
export const mrnSystem = (tenant: string): string => `https://cerbere.example/fhir/mrn/${tenant}`;

/** Domains used for e-mail addresses: RFC 2606 / RFC 6761 reserved names only, never a real provider. */
export const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net', 'exemple.test', 'courriel.example'] as const;

export interface GeneratorOptions {
  /** Tenant id, used in the MRN system `https://cerbere.example/fhir/mrn/<tenant>` (default 'demo'). */
  tenant?: string;
  /** "Today" for ages and lab dates, YYYY-MM-DD. Fixed by default so output does not drift with the clock. */
  referenceDate?: string;
  /** First MRN number (D00000001 by default); pass the next free number when seeding a tenant twice. */
  mrnStart?: number;
  /**
   * Mixed into the urn:uuid stream only: the resources stay identical, the uuids differ. Use it when the
   * same seed is loaded twice into one tenant and the uuids become ids (otherwise they would collide).
   */
  idSalt?: string;
  /**
   * 'fiction' (default): every number lies in the ranges ARCEP reserves for fiction (06 39 98, 01 99 00,
   * 02 61 91, 03 53 01, 04 65 71, 05 36 49 — never assigned to anyone). 'any': random 06/07 mobiles and
   * zone-consistent landlines, more varied but possibly someone's real number — never use it with a
   * platform that may send SMS or place calls.
   */
  phones?: 'fiction' | 'any';
}

export type PanelKind = 'cbc' | 'glucose' | 'creatinine' | 'hba1c' | 'lipids' | 'hiv' | 'hbs' | 'hcv' | 'bloodGroup';
export const PANEL_KINDS: readonly PanelKind[] = ['cbc', 'glucose', 'creatinine', 'hba1c', 'lipids', 'hiv', 'hbs', 'hcv', 'bloodGroup'];

export interface LabPanelOptions {
  /** Reference of the prescriber (ServiceRequest.requester), e.g. 'Practitioner/12'. Omitted if absent. */
  requester?: string;
  /** Reference of the lab (performer of the ServiceRequest, Observations and DiagnosticReport). */
  performer?: string;
  /** Which orders to include; by default a realistic random mix (at least one). */
  panels?: PanelKind[];
  /** Patient sex and birth date drive reference ranges, eGFR and priors; drawn from the ref if absent. */
  gender?: Patient['gender'];
  birthDate?: string;
  /** Collection day YYYY-MM-DD; by default a weekday morning within two years before the reference date. */
  date?: string;
}

export type LabResource = ServiceRequest | Specimen | Observation | DiagnosticReport;
export interface LabEntry<R extends LabResource = LabResource> {
  fullUrl: string;
  resource: R;
  request: { method: 'POST'; url: R['resourceType'] };
}

/**
 * One lab order as posted by a lab information system. `entries` holds every resource once, in
 * dependency order; the named fields are the same objects, for convenience. One ServiceRequest per
 * ordered panel/test, grouped by a shared `requisition` identifier (the prescription); one venous
 * blood Specimen; the Observations (each `basedOn` its ServiceRequest, `specimen` the Specimen);
 * one DiagnosticReport whose `result` lists all Observations.
 */
export interface LabPanel {
  entries: LabEntry[];
  serviceRequests: ServiceRequest[];
  specimen: Specimen;
  observations: Observation[];
  report: DiagnosticReport;
}

export interface OrganizationOptions {
  kind?: 'lab' | 'insurer';
  name?: string;
}

export interface SyntheticGenerator {
  readonly seed: number;
  readonly tenant: string;
  patient(): Patient;
  practitioner(): Practitioner;
  /** A lab by default; an insurer (CPAM/CGSS of a department or an invented mutuelle) with kind 'insurer'
   *  or with a name starting with CPAM, CGSS, Caisse, MSA or Mutuelle. */
  organization(nameOrOptions?: string | OrganizationOptions): Organization;
  labPanel(patientRef: string, opts?: LabPanelOptions): LabPanel;
  /** Next deterministic random UUID (v4 layout), e.g. for a patient put in the same transaction. */
  uuid(): string;
}

export function createGenerator(seed: number, options: GeneratorOptions = {}): SyntheticGenerator {
  return new SyntheticGeneratorImpl(seed, options);
}

/** Patients only, for benchmarks and quick loads. */
export function* generatePatients(seed: number, count: number, tenant: string): Generator<Patient> {
  const gen = createGenerator(seed, { tenant });
  for (let i = 0; i < count; i++) yield gen.patient();
}

/** Wraps entries (e.g. `labPanel(...).entries`) in a FHIR transaction Bundle. */
export function toTransactionBundle(entries: ReadonlyArray<{ fullUrl: string; resource: any; request?: BundleEntry['request'] }>): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: entries.map((e) => ({ fullUrl: e.fullUrl, resource: e.resource, request: e.request ?? { method: 'POST', url: e.resource.resourceType } })),
  };
}

// ---------------------------------------------------------------------------------------------
// PRNG: sfc32 (128-bit state), seeded through splitmix32.

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
}

class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = NaN;

  constructor(seed: number) {
    const sm = splitmix32(seed);
    this.a = sm(); this.b = sm(); this.c = sm(); this.d = sm();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** [0, 1) */
  float(): number { return this.u32() / 4294967296; }
  /** Integer in [0, n). */
  int(n: number): number { return Math.floor(this.float() * n); }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number { return lo + Math.floor(this.float() * (hi - lo + 1)); }
  chance(p: number): boolean { return this.float() < p; }
  pick<T>(a: readonly T[]): T { return a[Math.floor(this.float() * a.length)]; }
  /** Standard normal (Marsaglia polar method, pairs cached). */
  normal(): number {
    if (this.spare === this.spare) { const s = this.spare; this.spare = NaN; return s; }
    let u: number, v: number, s: number;
    do { u = this.float() * 2 - 1; v = this.float() * 2 - 1; s = u * u + v * v; } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    return u * m;
  }
}

/** Weighted sampling in O(1): an array of indexes repeated in proportion to the weights. */
function aliasTable(weights: readonly number[], size = 4096): Uint16Array {
  const total = weights.reduce((s, w) => s + w, 0);
  const table = new Uint16Array(size);
  let acc = 0;
  let j = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i];
    const end = Math.round((acc / total) * size);
    while (j < end) table[j++] = i;
  }
  while (j < size) table[j++] = weights.length - 1;
  return table;
}

function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Dates as day numbers since 1970-01-01 (proleptic Gregorian; H. Hinnant's civil algorithms).

function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Packs the civil date as y * 10000 + m * 100 + d. */
function civilFromDays(z: number): number {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return (yoe + era * 400 + (m <= 2 ? 1 : 0)) * 10000 + m * 100 + d;
}

const PAD2: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);
const PAD3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function isoDate(days: number): string {
  const c = civilFromDays(days);
  const y = Math.floor(c / 10000);
  return `${y}-${PAD2[Math.floor(c / 100) % 100]}-${PAD2[c % 100]}`;
}

function parseIsoDate(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  if (!m) throw new Error(`expected a YYYY-MM-DD date, got ${JSON.stringify(s)}`);
  return daysFromCivil(+m[1], +m[2], +m[3]);
}

/** 0 = Sunday … 6 = Saturday. */
const weekday = (days: number): number => (((days + 4) % 7) + 7) % 7;

const dstCache = new Map<number, [number, number]>();
/** Europe/Paris: summer time from the last Sunday of March to the last Sunday of October. */
function parisOffset(days: number): string {
  const y = Math.floor(civilFromDays(days) / 10000);
  let span = dstCache.get(y);
  if (!span) {
    const mar = daysFromCivil(y, 3, 31);
    const oct = daysFromCivil(y, 10, 31);
    span = [mar - weekday(mar), oct - weekday(oct)];
    dstCache.set(y, span);
  }
  return days >= span[0] && days < span[1] ? '+02:00' : '+01:00';
}

/** Local Paris date-time for a day number and minutes after midnight (may exceed 24 h). */
function parisDateTime(days: number, minutes: number): string {
  const d = days + Math.floor(minutes / 1440);
  const m = minutes % 1440;
  return `${isoDate(d)}T${PAD2[Math.floor(m / 60)]}:${PAD2[m % 60]}:00${parisOffset(d)}`;
}

// ---------------------------------------------------------------------------------------------
// Static tables derived from french-data.ts

const CITY_TABLE = aliasTable(CITIES.map((c) => c.weight));
const COUNTRY_TABLE = aliasTable(BIRTH_COUNTRIES.map(([, w]) => w), 256);
const STREET_TYPE_TABLE = aliasTable(STREET_TYPES.map(([, w]) => w), 256);
const SPECIALTY_TABLE = aliasTable(SPECIALTIES.map(([, w]) => w), 256);

// Ages of people seen by a medical lab: the French age pyramid (5-year bands, % of population),
// children halved and the over-50s weighted up (they are tested far more often).
const PYRAMID = [5.3, 5.9, 6.2, 6.1, 5.6, 5.5, 6.0, 6.3, 6.2, 6.6, 6.6, 6.5, 6.1, 5.7, 5.3, 3.9, 2.9, 2.0, 0.9, 0.3, 0.05];
const AGE_TABLE = aliasTable(
  Array.from({ length: 101 }, (_, age) => PYRAMID[Math.floor(age / 5)] * (age < 18 ? 0.5 : age < 50 ? 1 : 1.4)),
  8192,
);

const ASCII_CACHE = new Map<string, string>();
/** 'Éloïse' → 'eloise', "N'Diaye" → 'ndiaye', 'Le Gall' → 'legall' (hyphens kept). */
function asciiName(s: string): string {
  let a = ASCII_CACHE.get(s);
  if (a === undefined) {
    a = s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z-]/g, '');
    ASCII_CACHE.set(s, a);
  }
  return a;
}

const FICTION_LANDLINE = ['', '01 99 00', '02 61 91', '03 53 01', '04 65 71', '05 36 49'];
const OVERSEAS_LANDLINE: Record<string, string> = { '971': '05 90', '972': '05 96', '973': '05 94', '974': '02 62', '976': '02 69' };
const OVERSEAS_MOBILE: Record<string, string> = { '971': '06 90', '972': '06 96', '973': '06 94', '974': '06 92', '976': '06 39' };

/** Luhn check digit of a digit string. */
function luhnDigit(digits: string): number {
  let sum = 0;
  for (let i = digits.length - 1, dbl = true; i >= 0; i--, dbl = !dbl) {
    let v = digits.charCodeAt(i) - 48;
    if (dbl) { v *= 2; if (v > 9) v -= 9; }
    sum += v;
  }
  return (10 - (sum % 10)) % 10;
}

const cc = (system: string, code: string, display: string, text?: string): CodeableConcept =>
  text === undefined ? { coding: [{ system, code, display }] } : { coding: [{ system, code, display }], text };

// ---------------------------------------------------------------------------------------------
// Laboratory catalogue

interface Analyte {
  loinc: string;
  display: string;
  /** UCUM code and the unit as printed on a French report. */
  ucum: string;
  unit: string;
  decimals: number;
}

const A = {
  hb: { loinc: '718-7', display: 'Hémoglobine', ucum: 'g/dL', unit: 'g/dL', decimals: 1 },
  wbc: { loinc: '6690-2', display: 'Leucocytes', ucum: '10*9/L', unit: 'G/L', decimals: 2 },
  plt: { loinc: '777-3', display: 'Plaquettes', ucum: '10*9/L', unit: 'G/L', decimals: 0 },
  rbc: { loinc: '789-8', display: 'Hématies', ucum: '10*12/L', unit: 'T/L', decimals: 2 },
  hct: { loinc: '4544-3', display: 'Hématocrite', ucum: '%', unit: '%', decimals: 1 },
  // 2345-7 and 2160-0 are mass concentrations: reported in g/L and mg/L as French labs print them
  // first (the molar codes would be 14749-6 mmol/L and 14682-9 µmol/L).
  glu: { loinc: '2345-7', display: 'Glucose (glycémie)', ucum: 'g/L', unit: 'g/L', decimals: 2 },
  crea: { loinc: '2160-0', display: 'Créatinine', ucum: 'mg/L', unit: 'mg/L', decimals: 1 },
  egfr: { loinc: '62238-1', display: 'DFG estimé (CKD-EPI)', ucum: 'mL/min/{1.73_m2}', unit: 'mL/min/1,73 m²', decimals: 0 },
  a1c: { loinc: '4548-4', display: 'Hémoglobine glyquée (HbA1c)', ucum: '%', unit: '%', decimals: 1 },
  chol: { loinc: '2093-3', display: 'Cholestérol total', ucum: 'g/L', unit: 'g/L', decimals: 2 },
  hdl: { loinc: '2085-9', display: 'Cholestérol HDL', ucum: 'g/L', unit: 'g/L', decimals: 2 },
  ldl: { loinc: '13457-7', display: 'Cholestérol LDL (calculé)', ucum: 'g/L', unit: 'g/L', decimals: 2 },
  tg: { loinc: '2571-8', display: 'Triglycérides', ucum: 'g/L', unit: 'g/L', decimals: 2 },
} satisfies Record<string, Analyte>;

const ORDERS: Record<PanelKind, { loinc: string; display: string }> = {
  cbc: { loinc: '58410-2', display: 'Hémogramme (NFS)' },
  glucose: { loinc: '2345-7', display: 'Glycémie' },
  creatinine: { loinc: '2160-0', display: 'Créatininémie et DFG estimé' },
  hba1c: { loinc: '4548-4', display: 'Hémoglobine glyquée (HbA1c)' },
  lipids: { loinc: '24331-1', display: 'Bilan lipidique (EAL)' },
  hiv: { loinc: '75622-1', display: 'Sérologie VIH 1 et 2' },
  hbs: { loinc: '5196-1', display: 'Antigène HBs' },
  hcv: { loinc: '16128-1', display: 'Sérologie hépatite C (anticorps anti-VHC)' },
  bloodGroup: { loinc: '882-1', display: 'Groupe sanguin ABO et Rhésus D' },
};

const QUALITATIVE: Record<'hiv' | 'hbs' | 'hcv', { loinc: string; display: string }> = {
  hiv: { loinc: '75622-1', display: 'Anticorps anti-VIH 1 et 2' },
  hbs: { loinc: '5196-1', display: 'Antigène HBs' },
  hcv: { loinc: '16128-1', display: 'Anticorps anti-VHC' },
};

// French ABO/RhD distribution (EFS): O+ 36, A+ 37, B+ 9, AB+ 3, O- 6, A- 7, B- 1, AB- 1.
const BLOOD_GROUPS: Array<[string, string, string, number]> = [
  ['278147001', 'Blood group O Rh(D) positive', 'O Rhésus positif (O+)', 36],
  ['278149003', 'Blood group A Rh(D) positive', 'A Rhésus positif (A+)', 37],
  ['278150003', 'Blood group B Rh(D) positive', 'B Rhésus positif (B+)', 9],
  ['278151004', 'Blood group AB Rh(D) positive', 'AB Rhésus positif (AB+)', 3],
  ['278148006', 'Blood group O Rh(D) negative', 'O Rhésus négatif (O-)', 6],
  ['278152006', 'Blood group A Rh(D) negative', 'A Rhésus négatif (A-)', 7],
  ['278153001', 'Blood group B Rh(D) negative', 'B Rhésus négatif (B-)', 1],
  ['278154007', 'Blood group AB Rh(D) negative', 'AB Rhésus négatif (AB-)', 1],
];
const BLOOD_TABLE = aliasTable(BLOOD_GROUPS.map((b) => b[3]), 256);

/** A person's stable biology, derived from (seed, patient reference) so repeated orders agree. */
interface Traits {
  female: boolean;
  age: number;
  diabetic: boolean;
  ckd: boolean;
  anemic: boolean;
  dyslipidemic: boolean;
  bloodGroup: number;
  hiv: boolean;
  hbs: boolean;
  hcv: boolean;
  /** Personal offsets (z-scores) of each analyte around the population mean. */
  z: Float64Array;
}
const Z = { hb: 0, wbc: 1, plt: 2, mch: 3, glu: 4, a1c: 5, crea: 6, chol: 7, hdl: 8, tg: 9 } as const;

function interpretationOf(value: number, low: number | undefined, high: number | undefined): 'L' | 'H' | 'N' {
  if (low !== undefined && value < low) return 'L';
  if (high !== undefined && value > high) return 'H';
  return 'N';
}
const INTERPRETATION_DISPLAY = { L: 'Low', H: 'High', N: 'Normal', POS: 'Positive', NEG: 'Negative' } as const;

function round(v: number, decimals: number): number {
  const f = decimals === 0 ? 1 : decimals === 1 ? 10 : decimals === 2 ? 100 : 10 ** decimals;
  return Math.round(v * f) / f;
}

// ---------------------------------------------------------------------------------------------

const DEFAULT_REFERENCE_DATE = '2026-11-01';

class SyntheticGeneratorImpl implements SyntheticGenerator {
  readonly seed: number;
  readonly tenant: string;
  private readonly rng: Rng;
  private readonly ids: Rng;
  private readonly refDay: number;
  private readonly mrnSystem: string;
  private readonly fictionPhones: boolean;
  private mrn: number;
  private requisition = 0;
  private readonly rpps = new Set<string>();

  constructor(seed: number, options: GeneratorOptions) {
    this.seed = seed >>> 0;
    this.tenant = options.tenant ?? 'demo';
    this.rng = new Rng(this.seed);
    this.ids = new Rng(fnv1a(`${this.tenant}\u0000${options.idSalt ?? ''}`, this.seed ^ 0x5bd1e995));
    this.refDay = parseIsoDate(options.referenceDate ?? DEFAULT_REFERENCE_DATE);
    this.mrnSystem = mrnSystem(this.tenant);
    this.fictionPhones = (options.phones ?? 'fiction') === 'fiction';
    this.mrn = options.mrnStart ?? 1;
  }

  uuid(): string {
    const r = this.ids;
    const a = r.u32();
    const b = ((r.u32() & 0xffff0fff) | 0x00004000) >>> 0;
    const c = ((r.u32() & 0x3fffffff) | 0x80000000) >>> 0;
    const d = r.u32();
    return (
      HEX[a >>> 24] + HEX[(a >>> 16) & 255] + HEX[(a >>> 8) & 255] + HEX[a & 255] + '-' +
      HEX[b >>> 24] + HEX[(b >>> 16) & 255] + '-' + HEX[(b >>> 8) & 255] + HEX[b & 255] + '-' +
      HEX[c >>> 24] + HEX[(c >>> 16) & 255] + '-' + HEX[(c >>> 8) & 255] + HEX[c & 255] +
      HEX[d >>> 24] + HEX[(d >>> 16) & 255] + HEX[(d >>> 8) & 255] + HEX[d & 255]
    );
  }

  // -- people --------------------------------------------------------------------------------

  private city(): City { return CITIES[CITY_TABLE[this.rng.int(CITY_TABLE.length)]]; }

  private surname(region: Department['region']): string {
    const r = this.rng;
    if (region && r.chance(REGIONAL_SHARE[region])) return r.pick(REGIONAL_SURNAMES[region]);
    if (r.chance(0.1)) return r.pick(DIVERSE_SURNAMES);
    // Zipf-like: the first names of the list (the most frequent surnames in France) come up most.
    const u = r.float();
    return SURNAMES[Math.floor(u * u * SURNAMES.length)];
  }

  private givenNames(female: boolean, birthYear: number, max: number): string[] {
    const r = this.rng;
    let era = 0;
    while (era < ERA_START_YEARS.length && birthYear >= ERA_START_YEARS[era]) era++;
    const pool = female ? FEMALE_NAMES : MALE_NAMES;
    const first = r.pick(pool[era]);
    const u = r.float();
    const n = Math.min(max, u < 0.45 ? 1 : u < 0.85 ? 2 : 3);
    if (n === 1) return [first];
    const names = [first];
    for (let i = 1; i < n; i++) {
      // Middle names often honour a grandparent: drawn from an older era.
      const older = pool[Math.max(0, era - 1 - r.int(2))];
      const g = r.pick(older);
      if (!names.includes(g)) names.push(g);
    }
    return names;
  }

  private phone(dept: string, mobile: boolean): string {
    const r = this.rng;
    const tail = `${PAD2[r.int(100)]} ${PAD2[r.int(100)]}`;
    if (this.fictionPhones) {
      const zone = DEPARTMENTS[dept].zone || 2;
      return `${mobile ? '06 39 98' : FICTION_LANDLINE[zone]} ${tail}`;
    }
    const overseas = mobile ? OVERSEAS_MOBILE[dept] : OVERSEAS_LANDLINE[dept];
    if (overseas) return `${overseas} ${PAD2[r.int(100)]} ${tail}`;
    const head = mobile ? (r.chance(0.7) ? '06' : `07`) : `0${DEPARTMENTS[dept].zone}`;
    const second = mobile && head === '07' ? r.range(30, 89) : r.range(10, 99);
    return `${head} ${PAD2[second]} ${PAD2[r.int(100)]} ${tail}`;
  }

  private address(city: City, use: Address['use']): Address {
    const r = this.rng;
    const dep = DEPARTMENTS[city.dept];
    const line: string[] = [];
    const small = city.weight < 40 && !city.arrondissements;
    if (small && r.chance(0.25)) {
      line.push(dep.region === 'bzh' && r.chance(0.7) ? `Lieu-dit ${r.pick(LIEUX_DITS_BZH)}` : r.pick(LIEUX_DITS));
    } else {
      if (r.chance(0.15)) {
        const c = r.pick(ADDRESS_COMPLEMENTS);
        line.push(c === 'Appartement' ? `Appartement ${r.range(1, 60)}` : c === 'Bâtiment' ? `Bâtiment ${'ABCDEF'[r.int(6)]}` : c === 'Escalier' ? `Escalier ${r.range(1, 4)}` : c);
      }
      const u = r.float();
      const num = 1 + Math.floor(u * u * 180);
      const suffix = r.chance(0.04) ? (r.chance(0.8) ? ' bis' : ' ter') : '';
      line.push(`${num}${suffix} ${STREET_TYPES[STREET_TYPE_TABLE[r.int(256)]][0]} ${r.pick(STREET_NAMES)}`);
    }
    const postalCode = city.arrondissements ? city.postalCode + PAD2[r.range(1, city.arrondissements)] : city.postalCode;
    return { use, type: 'both', line, city: city.name, postalCode, country: 'FR' };
  }

  /** Body (13 characters) of a NIR: sex, YY, MM, department, commune, order number. */
  private nirBody(sexDigit: 1 | 2, birthYear: number, birthMonth: number, residenceDept: string): string {
    const r = this.rng;
    const yymm = PAD2[birthYear % 100] + PAD2[birthMonth];
    let place: string;
    const u = r.float();
    if (u < 0.07) {
      place = '99' + BIRTH_COUNTRIES[COUNTRY_TABLE[r.int(256)]][0];
    } else {
      let dept = u < 0.6 ? residenceDept : CITIES[CITY_TABLE[r.int(CITY_TABLE.length)]].dept;
      if (r.chance(0.02)) dept = r.pick(['971', '972', '973', '974', '976']);
      if (dept.length === 3) {
        place = dept + PAD2[r.range(1, 34)];
      } else if (dept === '75') {
        place = '75' + PAD3[r.range(101, 120)]; // Paris arrondissements
      } else {
        // Corsica had a single department "20" until 1976.
        if ((dept === '2A' || dept === '2B') && birthYear < 1976) dept = '20';
        place = dept + PAD3[r.range(1, 600)];
      }
    }
    return `${sexDigit}${yymm}${place}${PAD3[r.range(1, 999)]}`;
  }

  patient(): Patient {
    const r = this.rng;
    const female = r.chance(0.516);
    const gender: Patient['gender'] = r.chance(0.001) ? 'other' : female ? 'female' : 'male';

    const age = AGE_TABLE[r.int(AGE_TABLE.length)];
    const birthDay = this.refDay - 1 - Math.floor((age + r.float()) * 365.2425);
    const birth = civilFromDays(birthDay);
    const birthYear = Math.floor(birth / 10000);
    const birthMonth = Math.floor(birth / 100) % 100;

    const city = this.city();
    const dep = DEPARTMENTS[city.dept];

    // Identity: the official name is the birth name with all first names (as in the INS);
    // a share of married women use their spouse's name.
    const family = r.chance(0.02) ? `${this.surname(dep.region)}-${this.surname(dep.region)}` : this.surname(dep.region);
    const given = this.givenNames(female, birthYear, 3);
    const name: HumanName[] = [{ use: 'official', family, given }];
    let usualFamily = family;
    if (female && age >= 25 && r.chance(0.35)) {
      usualFamily = this.surname(dep.region);
      name.push({ use: 'usual', family: usualFamily, given: [given[0]] });
    }

    const body = this.nirBody(female ? 2 : 1, birthYear, birthMonth, city.dept);
    const key = nirKey(body);
    if (key === null) throw new Error(`internal error: malformed NIR body ${body}`);

    const identifier: Identifier[] = [
      {
        use: 'official',
        type: cc(INS_TYPE_SYSTEM, 'INS-NIR', 'NIR définitif'),
        system: INS_NIR_SYSTEM,
        value: body + key,
      },
      {
        use: 'usual',
        type: cc('http://terminology.hl7.org/CodeSystem/v2-0203', 'MR', 'Medical record number'),
        system: this.mrnSystem,
        value: `D${String(this.mrn++).padStart(8, '0')}`,
      },
    ];

    const telecom: ContactPoint[] = [];
    if (age >= 12 ? r.chance(0.93) : r.chance(0.6)) telecom.push({ system: 'phone', value: this.phone(city.dept, true), use: 'mobile', rank: 1 });
    if (r.chance(age >= 60 ? 0.55 : 0.2)) telecom.push({ system: 'phone', value: this.phone(city.dept, false), use: 'home' });
    if (age >= 15 && r.chance(age >= 75 ? 0.45 : 0.85)) telecom.push({ system: 'email', value: this.email(given[0], usualFamily, birthYear), use: 'home' });

    const patient: Patient = {
      resourceType: 'Patient',
      active: true,
      identifier,
      name,
      gender,
      birthDate: isoDate(birthDay),
      address: [this.address(city, 'home')],
    };
    if (telecom.length) patient.telecom = telecom;
    return patient;
  }

  private email(first: string, last: string, birthYear: number): string {
    const r = this.rng;
    const f = asciiName(first);
    const l = asciiName(last);
    const u = r.float();
    const local =
      u < 0.45 ? `${f}.${l}` :
      u < 0.6 ? `${f[0]}.${l}` :
      u < 0.75 ? `${f}${l}${r.range(1, 99)}` :
      u < 0.85 ? `${l}.${f}` :
      `${f}.${l}${PAD2[birthYear % 100]}`;
    return `${local}@${EMAIL_DOMAINS[r.int(EMAIL_DOMAINS.length)]}`;
  }

  practitioner(): Practitioner {
    const r = this.rng;
    const female = r.chance(0.5);
    const city = this.city();
    const dep = DEPARTMENTS[city.dept];
    const age = r.range(29, 68);
    const family = this.surname(dep.region);
    const given = this.givenNames(female, Math.floor(civilFromDays(this.refDay) / 10000) - age, 1);
    let rpps: string;
    do {
      const body = '10' + PAD2[r.int(100)] + PAD3[r.int(1000)] + PAD3[r.int(1000)];
      rpps = body + luhnDigit(body);
    } while (this.rpps.has(rpps));
    this.rpps.add(rpps);
    const specialty = SPECIALTIES[SPECIALTY_TABLE[r.int(256)]][0];
    return {
      resourceType: 'Practitioner',
      active: true,
      identifier: [{ use: 'official', type: cc(INS_TYPE_SYSTEM, 'RPPS', 'N° RPPS'), system: RPPS_SYSTEM, value: rpps }],
      name: [{ use: 'official', family, given, prefix: ['Dr'] }],
      gender: female ? 'female' : 'male',
      telecom: [
        { system: 'phone', value: this.phone(city.dept, false), use: 'work' },
        { system: 'email', value: `${asciiName(given[0])}.${asciiName(family)}@cabinet.example`, use: 'work' },
      ],
      address: [this.address(city, 'work')],
      qualification: [{ code: { text: specialty } }],
    };
  }

  organization(nameOrOptions?: string | OrganizationOptions): Organization {
    const r = this.rng;
    const opts: OrganizationOptions = typeof nameOrOptions === 'string' ? { name: nameOrOptions } : nameOrOptions ?? {};
    const kind = opts.kind ?? (opts.name && /^(CPAM|CGSS|CSS|Caisse|MSA|Mutuelle)\b/i.test(opts.name) ? 'insurer' : 'lab');
    const city = this.city();
    const dep = DEPARTMENTS[city.dept];
    if (kind === 'insurer') {
      const name = opts.name ?? (r.chance(0.5) ? dep.fund ?? `CPAM ${dep.de}` : r.pick(MUTUELLES));
      return {
        resourceType: 'Organization',
        active: true,
        type: [cc('http://terminology.hl7.org/CodeSystem/organization-type', 'ins', 'Insurance Company')],
        name,
        telecom: [{ system: 'phone', value: this.phone(city.dept, false), use: 'work' }],
        address: [this.address(city, 'work')],
      };
    }
    const name = opts.name ?? `Laboratoire de biologie médicale ${r.pick(LAB_NAMES)} – ${city.name}`;
    const deptDigits = city.dept.length === 3 ? city.dept.slice(0, 2) : city.dept;
    const body = deptDigits + PAD3[r.int(1000)] + PAD3[r.int(1000)];
    return {
      resourceType: 'Organization',
      active: true,
      identifier: [{ use: 'official', system: FINESS_SYSTEM, value: body + luhnDigit(body.replace('2A', '20').replace('2B', '20')) }],
      type: [cc('http://terminology.hl7.org/CodeSystem/organization-type', 'prov', 'Healthcare Provider')],
      name,
      telecom: [
        { system: 'phone', value: this.phone(city.dept, false), use: 'work' },
        { system: 'email', value: `contact@${asciiName(city.name)}.labo.example`, use: 'work' },
      ],
      address: [this.address(city, 'work')],
    };
  }

  // -- lab -----------------------------------------------------------------------------------

  private traits(patientRef: string, opts: LabPanelOptions, collectDay: number): Traits {
    const t = new Rng(fnv1a(patientRef, this.seed ^ 0x27d4eb2f));
    const female = opts.gender === 'female' ? true : opts.gender === 'male' ? false : t.chance(0.52);
    const drawnAge = 18 + t.int(75);
    const age = opts.birthDate ? Math.max(0, Math.floor((collectDay - parseIsoDate(opts.birthDate)) / 365.2425)) : drawnAge;
    const old = age >= 65;
    const z = new Float64Array(10);
    for (let i = 0; i < z.length; i++) z[i] = t.normal();
    return {
      female,
      age,
      diabetic: age >= 18 && t.chance(age < 40 ? 0.02 : old ? 0.18 : 0.08),
      ckd: age >= 30 && t.chance(age < 50 ? 0.02 : age < 70 ? 0.07 : 0.2),
      anemic: t.chance((female ? 0.08 : 0.04) + (old ? 0.06 : 0)),
      dyslipidemic: age >= 25 && t.chance(age >= 45 ? 0.35 : 0.15),
      bloodGroup: BLOOD_TABLE[t.int(256)],
      hiv: t.chance(0.003),
      hbs: t.chance(0.006),
      hcv: t.chance(0.005),
      z,
    };
  }

  /** Value = population mean + personal offset + day-to-day noise. */
  private draw(tr: Traits, zi: number, mean: number, sd: number): number {
    return mean + sd * (0.8 * tr.z[zi] + 0.6 * this.rng.normal());
  }

  private choosePanels(tr: Traits): PanelKind[] {
    const r = this.rng;
    const out: PanelKind[] = [];
    const adult = tr.age >= 18;
    if (r.chance(adult ? 0.75 : 0.85)) out.push('cbc');
    if (adult && r.chance(tr.diabetic ? 0.95 : 0.5)) out.push('glucose');
    if (adult && r.chance(tr.ckd ? 0.95 : tr.age >= 60 ? 0.65 : 0.35)) out.push('creatinine');
    if (adult && r.chance(tr.diabetic ? 0.85 : 0.05)) out.push('hba1c');
    if (adult && r.chance(tr.dyslipidemic ? 0.6 : 0.3)) out.push('lipids');
    if (r.chance(0.08)) {
      if (r.chance(0.85)) out.push('hiv');
      if (r.chance(0.8)) out.push('hbs');
      if (r.chance(0.8)) out.push('hcv');
    }
    if (r.chance(0.04)) out.push('bloodGroup');
    if (out.length === 0) out.push('cbc');
    return out;
  }

  labPanel(patientRef: string, opts: LabPanelOptions = {}): LabPanel {
    const r = this.rng;

    // When: a weekday (or Saturday) morning, results the same afternoon, serologies a day or two later.
    let day: number;
    if (opts.date) day = parseIsoDate(opts.date);
    else {
      day = this.refDay - 1 - r.int(730);
      if (weekday(day) === 0) day -= 1 + r.int(6);
    }
    const collectMin = 7 * 60 + r.int(54) * 5;
    const collected = parisDateTime(day, collectMin);
    const received = parisDateTime(day, collectMin + 20 + r.int(90));
    const resultMin = collectMin + 180 + r.int(360);
    const issuedRoutine = parisDateTime(day, resultMin);
    const issuedLate = parisDateTime(day, resultMin + 1440 * (1 + r.int(2)));

    const tr = this.traits(patientRef, opts, day);
    const panels = opts.panels?.length ? [...new Set(opts.panels)] : this.choosePanels(tr);

    const performer = opts.performer ? [{ reference: opts.performer }] : undefined;
    const specimenUrl = `urn:uuid:${this.uuid()}`;
    const specimenRef = (): Reference<Specimen> => ({ reference: specimenUrl });
    const requisition = `${isoDate(day).replace(/-/g, '').slice(2)}-${PAD3[(this.requisition++) % 1000]}${PAD3[r.int(1000)]}`;
    const authoredOn = isoDate(day - r.int(15));

    const entries: LabEntry[] = [];
    const serviceRequests: ServiceRequest[] = [];
    const observations: Observation[] = [];
    const observationEntries: LabEntry[] = [];
    let anyLate = false;

    for (const kind of panels) {
      const order = ORDERS[kind];
      const srUrl = `urn:uuid:${this.uuid()}`;
      const sr: ServiceRequest = {
        resourceType: 'ServiceRequest',
        requisition: { system: `https://cerbere.example/fhir/requisition/${this.tenant}`, value: requisition },
        status: 'completed',
        intent: 'order',
        category: [cc(SNOMED, '108252007', 'Laboratory procedure')],
        code: cc(LOINC, order.loinc, order.display, order.display),
        subject: { reference: patientRef },
        authoredOn,
        specimen: [specimenRef()],
      };
      if (opts.requester) sr.requester = { reference: opts.requester };
      if (performer) sr.performer = performer.map((p) => ({ ...p }));
      serviceRequests.push(sr);
      entries.push({ fullUrl: srUrl, resource: sr, request: { method: 'POST', url: 'ServiceRequest' } });

      const late = kind === 'hiv' || kind === 'hbs' || kind === 'hcv' || kind === 'bloodGroup';
      if (late) anyLate = true;
      const base = (code: CodeableConcept): Observation => {
        const o: Observation = {
          resourceType: 'Observation',
          status: 'final',
          basedOn: [{ reference: srUrl }],
          category: [cc(OBSERVATION_CATEGORY, 'laboratory', 'Laboratory')],
          code,
          subject: { reference: patientRef },
          effectiveDateTime: collected,
          issued: late ? issuedLate : issuedRoutine,
          specimen: specimenRef(),
        };
        if (performer) o.performer = performer.map((p) => ({ ...p }));
        return o;
      };
      const push = (o: Observation): void => {
        observations.push(o);
        observationEntries.push({ fullUrl: `urn:uuid:${this.uuid()}`, resource: o, request: { method: 'POST', url: 'Observation' } });
      };
      const numeric = (a: Analyte, raw: number, low: number | undefined, high: number | undefined, min = 0): void => {
        const value = round(Math.max(min, raw), a.decimals);
        const o = base(cc(LOINC, a.loinc, a.display, a.display));
        o.valueQuantity = quantity(value, a);
        const flag = interpretationOf(value, low, high);
        o.interpretation = [cc(INTERPRETATION, flag, INTERPRETATION_DISPLAY[flag])];
        const range: ObservationReferenceRange = {};
        if (low !== undefined) range.low = quantity(low, a);
        if (high !== undefined) range.high = quantity(high, a);
        o.referenceRange = [range];
        push(o);
      };

      switch (kind) {
        case 'cbc': {
          const child = tr.age < 12;
          let hb = child ? this.draw(tr, Z.hb, 12.6, 0.8) : this.draw(tr, Z.hb, tr.female ? 13.6 : 15.0, tr.female ? 0.9 : 1.0);
          if (tr.anemic) hb -= 2.2 + 1.2 * Math.abs(r.normal());
          const mch = this.draw(tr, Z.mch, tr.anemic ? 26 : 29.5, 1.5); // pg
          const rbc = (hb * 10) / Math.max(18, mch);
          const hct = hb * 2.95 + r.normal() * 0.8;
          const [hbLo, hbHi] = child ? [11.0, 14.5] : tr.female ? [12.0, 16.0] : [13.0, 17.0];
          numeric(A.hb, hb, hbLo, hbHi, 4);
          numeric(A.rbc, rbc, tr.female || child ? 3.9 : 4.3, tr.female || child ? 5.2 : 5.8, 1);
          numeric(A.hct, hct, tr.female || child ? 36 : 40, tr.female || child ? 47 : 52, 12);
          let wbc = Math.exp(Math.log(6.5) + 0.22 * (0.8 * tr.z[Z.wbc] + 0.6 * r.normal()));
          if (r.chance(0.04)) wbc *= 1.8 + r.float(); // infection, inflammation
          numeric(A.wbc, wbc, 4.0, 10.0, 0.5);
          let plt = this.draw(tr, Z.plt, 255, 55);
          if (r.chance(0.03)) plt *= 0.45 + 0.2 * r.float();
          numeric(A.plt, plt, 150, 400, 10);
          break;
        }
        case 'glucose': {
          const g = tr.diabetic ? this.draw(tr, Z.glu, 1.45, 0.32) : this.draw(tr, Z.glu, 0.93, 0.09);
          numeric(A.glu, g, 0.7, 1.1, 0.35);
          break;
        }
        case 'hba1c': {
          const v = tr.diabetic ? this.draw(tr, Z.a1c, 7.3, 1.0) : this.draw(tr, Z.a1c, 5.4, 0.3);
          numeric(A.a1c, v, 4.0, 6.0, 3.8);
          break;
        }
        case 'creatinine': {
          const child = tr.age < 15;
          let scr = child ? this.draw(tr, Z.crea, 5, 0.8) : this.draw(tr, Z.crea, tr.female ? 7.4 : 9.4, tr.female ? 1.0 : 1.2);
          if (tr.ckd) scr *= 1.5 + Math.abs(r.normal()) * 0.9 + (tr.z[Z.crea] > 1 ? 1.5 : 0);
          const [lo, hi] = child ? [3, 7] : tr.female ? [5.5, 10.2] : [7.2, 11.8];
          numeric(A.crea, scr, lo, hi, 2);
          if (tr.age >= 18) {
            const rounded = round(Math.max(2, scr), 1);
            numeric(A.egfr, ckdEpi2009(rounded / 10, tr.age, tr.female), 60, undefined, 3);
          }
          break;
        }
        case 'lipids': {
          const tc = this.draw(tr, Z.chol, tr.dyslipidemic ? 2.4 : 1.85, 0.28);
          const hdl = this.draw(tr, Z.hdl, tr.female ? 0.62 : 0.5, 0.12);
          const tg = Math.exp(Math.log(tr.dyslipidemic ? 1.6 : 0.95) + 0.4 * (0.8 * tr.z[Z.tg] + 0.6 * r.normal()));
          const tcR = round(Math.max(0.8, tc), 2);
          const hdlR = round(Math.max(0.15, hdl), 2);
          const tgR = round(Math.max(0.2, tg), 2);
          numeric(A.chol, tcR, undefined, 2.0);
          numeric(A.hdl, hdlR, 0.4, undefined);
          numeric(A.tg, tgR, 0.35, 1.5);
          // Friedewald (g/L): LDL = TC - HDL - TG/5, not computed when TG > 3.4 g/L.
          if (tgR <= 3.4) numeric(A.ldl, tcR - hdlR - tgR / 5, undefined, 1.6, 0.1);
          break;
        }
        case 'hiv':
        case 'hbs':
        case 'hcv': {
          const positive = tr[kind];
          const q = QUALITATIVE[kind];
          const o = base(cc(LOINC, q.loinc, q.display, q.display));
          o.valueCodeableConcept = positive
            ? cc(SNOMED, '10828004', 'Positive', 'Positif')
            : cc(SNOMED, '260385009', 'Negative', 'Négatif');
          o.interpretation = [cc(INTERPRETATION, positive ? 'POS' : 'NEG', positive ? 'Positive' : 'Negative')];
          push(o);
          break;
        }
        case 'bloodGroup': {
          const [code, display, text] = BLOOD_GROUPS[tr.bloodGroup];
          const o = base(cc(LOINC, '882-1', 'Groupe sanguin ABO et Rhésus D', 'Groupe sanguin ABO et Rhésus D'));
          o.valueCodeableConcept = cc(SNOMED, code, display, text);
          push(o);
          break;
        }
      }
    }

    const specimen: Specimen = {
      resourceType: 'Specimen',
      accessionIdentifier: { system: `https://cerbere.example/fhir/accession/${this.tenant}`, value: requisition },
      status: 'available',
      type: cc(SNOMED, '122555007', 'Venous blood specimen', 'Sang veineux'),
      subject: { reference: patientRef },
      receivedTime: received,
      request: entries.map((e) => ({ reference: e.fullUrl })),
      collection: { collectedDateTime: collected },
    };
    entries.push({ fullUrl: specimenUrl, resource: specimen, request: { method: 'POST', url: 'Specimen' } });
    for (const e of observationEntries) entries.push(e);

    const report: DiagnosticReport = {
      resourceType: 'DiagnosticReport',
      identifier: [{ system: `https://cerbere.example/fhir/report/${this.tenant}`, value: requisition }],
      basedOn: serviceRequests.map((_, i) => ({ reference: entries[i].fullUrl })),
      status: 'final',
      category: [cc('http://terminology.hl7.org/CodeSystem/v2-0074', 'LAB', 'Laboratory')],
      code: cc(LOINC, '11502-2', "Compte rendu d'examens biologiques", "Compte rendu d'examens biologiques"),
      subject: { reference: patientRef },
      effectiveDateTime: collected,
      issued: anyLate ? issuedLate : issuedRoutine,
      specimen: [specimenRef()],
      result: observationEntries.map((e) => ({ reference: e.fullUrl })),
    };
    if (performer) report.performer = performer.map((p) => ({ ...p }));
    entries.push({ fullUrl: `urn:uuid:${this.uuid()}`, resource: report, request: { method: 'POST', url: 'DiagnosticReport' } });

    return { entries, serviceRequests, specimen, observations, report };
  }
}

function quantity(value: number, a: Analyte): Quantity {
  return { value, unit: a.unit, system: UCUM, code: a.ucum };
}

/** CKD-EPI 2009 without the ethnic coefficient (as French labs report it); creatinine in mg/dL. */
function ckdEpi2009(scrMgDl: number, age: number, female: boolean): number {
  const k = female ? 0.7 : 0.9;
  const alpha = female ? -0.329 : -0.411;
  const ratio = scrMgDl / k;
  return 141 * Math.pow(Math.min(ratio, 1), alpha) * Math.pow(Math.max(ratio, 1), -1.209) * Math.pow(0.993, age) * (female ? 1.018 : 1);
}
