// Resource types this server accepts, validation issue shapes, the id format.


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
