// Lab results of the synthetic data: orders, specimens, observations with plausible correlated values, reports.
import type {
  CodeableConcept, DiagnosticReport, Observation, ObservationReferenceRange, Quantity, Reference, ServiceRequest,
  Specimen,
} from '@medplum/fhirtypes';
import { cc, PeopleGenerator } from './people.ts';
import {
  LOINC, SNOMED, UCUM, OBSERVATION_CATEGORY, INTERPRETATION, type PanelKind, type LabPanelOptions, type LabEntry,
  type LabPanel, type SyntheticGenerator,
} from './synthetic-types.ts';
import { Rng, aliasTable, fnv1a } from './random.ts';
import { PAD3, isoDate, parseIsoDate, weekday, parisDateTime } from './dates.ts';

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


export class SyntheticGeneratorImpl extends PeopleGenerator implements SyntheticGenerator {
  protected traits(patientRef: string, opts: LabPanelOptions, collectDay: number): Traits {
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
  protected draw(tr: Traits, zi: number, mean: number, sd: number): number {
    return mean + sd * (0.8 * tr.z[zi] + 0.6 * this.rng.normal());
  }

  protected choosePanels(tr: Traits): PanelKind[] {
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
