// People of the synthetic data: patients (identity, NIR, contacts), practitioners, organizations.
import type { Address, CodeableConcept, ContactPoint, HumanName, Identifier, Organization, Patient, Practitioner } from '@medplum/fhirtypes';
import { nirKey } from '../fhir/nir.ts';
import {
  ADDRESS_COMPLEMENTS, BIRTH_COUNTRIES, CITIES, DEPARTMENTS, DIVERSE_SURNAMES, ERA_START_YEARS, FEMALE_NAMES, LAB_NAMES,
  LIEUX_DITS, LIEUX_DITS_BZH, MALE_NAMES, MUTUELLES, REGIONAL_SHARE, REGIONAL_SURNAMES, SPECIALTIES, STREET_NAMES,
  STREET_TYPES, SURNAMES, type City, type Department,
} from './french-data.ts';
import {
  INS_NIR_SYSTEM, INS_TYPE_SYSTEM, RPPS_SYSTEM, FINESS_SYSTEM, mrnSystem, EMAIL_DOMAINS, type GeneratorOptions,
  type OrganizationOptions,
} from './synthetic-types.ts';
import { Rng, aliasTable, fnv1a } from './random.ts';
import { civilFromDays, PAD2, PAD3, HEX, isoDate, parseIsoDate } from './dates.ts';

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

export const cc = (system: string, code: string, display: string, text?: string): CodeableConcept =>
  text === undefined ? { coding: [{ system, code, display }] } : { coding: [{ system, code, display }], text };

// ---------------------------------------------------------------------------------------------

const DEFAULT_REFERENCE_DATE = '2026-11-01';

/** Patients, practitioners and organizations; lab-panels.ts adds the lab results (same random streams). */
export class PeopleGenerator {
  readonly seed: number;
  readonly tenant: string;
  protected readonly rng: Rng;
  protected readonly ids: Rng;
  protected readonly refDay: number;
  protected readonly mrnSystem: string;
  protected readonly fictionPhones: boolean;
  protected mrn: number;
  protected requisition = 0;
  protected readonly rpps = new Set<string>();

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

  protected city(): City { return CITIES[CITY_TABLE[this.rng.int(CITY_TABLE.length)]]; }

  protected surname(region: Department['region']): string {
    const r = this.rng;
    if (region && r.chance(REGIONAL_SHARE[region])) return r.pick(REGIONAL_SURNAMES[region]);
    if (r.chance(0.1)) return r.pick(DIVERSE_SURNAMES);
    // Zipf-like: the first names of the list (the most frequent surnames in France) come up most.
    const u = r.float();
    return SURNAMES[Math.floor(u * u * SURNAMES.length)];
  }

  protected givenNames(female: boolean, birthYear: number, max: number): string[] {
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

  protected phone(dept: string, mobile: boolean): string {
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

  protected address(city: City, use: Address['use']): Address {
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
  protected nirBody(sexDigit: 1 | 2, birthYear: number, birthMonth: number, residenceDept: string): string {
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

  protected email(first: string, last: string, birthYear: number): string {
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

}
