// Public types and constants of the synthetic data generator (synthetic.ts re-exports them).
import type { DiagnosticReport, Observation, Organization, Patient, Practitioner, ServiceRequest, Specimen } from '@medplum/fhirtypes';
import { INS_OID } from '../fhir/nir.ts';

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
