// The CapabilityStatement: generated from the same tables the server runs on, so it tells the truth.
import { SEARCH_PARAMS } from './search-params.ts';
import { AUDIT_EVENT_SEARCH_PARAMS } from './audit-event-params.ts';

const FHIR_TYPE: Record<string, string> = { identifier: 'token', email: 'token', phone: 'token', token: 'token', string: 'string', date: 'date', reference: 'reference' };

export function capabilityStatement(baseUrl: string, version: string): any {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-23',
    kind: 'instance',
    software: { name: 'Cerbère', version },
    implementation: { description: 'Cerbère FHIR server: field-encrypted patient store with an access log', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [{
      mode: 'server',
      security: {
        description: 'Bearer API tokens per tenant (Authorization: Bearer cbr_…). Every access is recorded before data is returned. Search is exact-match on blind indexes.',
      },
      interaction: [{ code: 'transaction' }, { code: 'batch' }],
      resource: Object.entries(SEARCH_PARAMS).map(([type, params]) => ({
        type,
        versioning: 'versioned',
        readHistory: true,
        updateCreate: true,
        conditionalCreate: false,
        conditionalUpdate: false,
        conditionalDelete: 'not-supported',
        interaction: ['read', 'vread', 'update', 'delete', 'history-instance', 'create', 'search-type'].map((code) => ({ code })),
        searchInclude: params.filter((p) => p.kind === 'reference').map((p) => `${type}:${p.name}`),
        searchParam: [
          { name: '_id', type: 'token' },
          { name: '_lastUpdated', type: 'date' },
          ...params.map((p) => ({ name: p.name, type: FHIR_TYPE[p.kind], documentation: p.kind === 'date' ? 'eq, ge, gt, le, lt at day precision' : 'exact match after normalisation' })),
        ],
      })).concat([{
        // Built on the fly from the access log (BALP-shaped); read-only; roles dpo and auditor only.
        type: 'AuditEvent',
        versioning: 'no-version',
        readHistory: false,
        updateCreate: false,
        conditionalCreate: false,
        conditionalUpdate: false,
        conditionalDelete: 'not-supported',
        interaction: ['read', 'search-type'].map((code) => ({ code })),
        searchParam: AUDIT_EVENT_SEARCH_PARAMS.map((p) => ({ name: p.name, type: p.type, documentation: p.documentation })),
      } as any]),
      operation: [{
        name: 'blast-radius',
        definition: 'urn:cerbere:OperationDefinition/blast-radius',
        documentation: 'POST /fhir/$blast-radius (capability audit:investigate): distinct patients touched by the accesses matching actor, token, ip, site, type, action, since, until; format parameters, bundle or csv',
      }],
    }],
  };
}
