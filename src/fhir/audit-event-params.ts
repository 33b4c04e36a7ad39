// Search parameters of AuditEvent (the access log as FHIR, IHE BALP): declared in the CapabilityStatement
// (capability.ts) and parsed by src/audit/read/audit-event.ts.
export const AUDIT_EVENT_SEARCH_PARAMS: { name: string; type: string; documentation: string }[] = [
  { name: '_id', type: 'token', documentation: 'event id (leaf index in the access log)' },
  { name: 'date', type: 'date', documentation: 'recorded; eq, ge, gt, le, lt; any precision from year to fractional seconds (UTC when no zone)' },
  { name: 'patient', type: 'reference', documentation: 'Patient/id or id: events that concern this patient' },
  { name: 'agent', type: 'reference', documentation: 'internal id of the acting account or token' },
  { name: 'address', type: 'string', documentation: 'exact IP address of the client' },
  { name: 'entity', type: 'reference', documentation: 'Type/id of a resource the event touched (any version); combine with date on large logs' },
  { name: 'action', type: 'token', documentation: 'C, R, U, D or E' },
  { name: 'outcome', type: 'token', documentation: '0 success, 4 denied, 8 failure' },
  { name: 'type', type: 'token', documentation: 'audit-event-type#rest, DCM 110114, 110106, 110101, 110100' },
  { name: 'subtype', type: 'token', documentation: 'restful-interaction code or urn:cerbere:action|internal action' },
];
