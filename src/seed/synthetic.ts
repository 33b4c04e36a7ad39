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

import type { Bundle, BundleEntry, Patient } from '@medplum/fhirtypes';
import type { GeneratorOptions, SyntheticGenerator } from './synthetic-types.ts';
import { SyntheticGeneratorImpl } from './lab-panels.ts';

export * from './synthetic-types.ts';


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

