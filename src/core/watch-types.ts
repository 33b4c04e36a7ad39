// Shared shapes of the Watch head: what the committed access-event stream delivers to detectors, and
// what a detector or the host sentinel hands to the alert pipeline. Internal ids only, never PHI.

/** One committed access event, in the tenant's log order (position = leaf index in its Merkle log). */
export interface CommittedAccessEvent {
  tenantId: string;
  /** Leaf index in the tenant's access log: the evidence an alert points to, and the stream's position. */
  position: number;
  at: Date;
  actor: { kind: string; id: string; role: string; siteId: string | null };
  /** API token or OAuth client id used (audit_events.client_id), null for sessions and jobs. */
  tokenId: string | null;
  ip: string | null;
  /** Purpose of use: TREAT, ETREAT (break-glass), HOPERAT, system, … */
  purpose: string;
  /** read, vread, search, history, create, update, delete, export.request, break-glass, auth.login, auth.mfa, … */
  action: string;
  outcome: 'success' | 'denied' | 'failure';
  resourceRefs: string[];
  patientIds: string[];
  detail: string | null;
}

export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** What a detector (or the sentinel) raises; the alert store de-duplicates on `dedupKey`. */
export interface AlertCandidate {
  /** null: a host alert, shown to every tenant's DPO and to the operator. */
  tenantId: string | null;
  /** e.g. unexplained, volume, enumeration, context, auth, break-glass, export, canary, budget, host.listener, host.process, … */
  kind: string;
  severity: Severity;
  actor: { kind: string; id: string } | null;
  tokenId: string | null;
  /** Time of the evidence that triggered it (not the time of detection). */
  at: Date;
  /** Distinct patients concerned: a count, never ids. */
  patients: number;
  /** Access-log positions of the events behind it (empty for host alerts). */
  evidence: number[];
  /** One sentence for a person, with internal ids only (no name, NIR, clinical value). */
  summary: string;
  /** Alerts with the same key are one alert (its lastAt, patients and evidence grow). */
  dedupKey: string;
}

/** A stored alert as delivered (webhook, SMTP, syslog) and listed (`cerbere alerts list --json`). */
export interface AlertMessage {
  id: string;
  tenantId: string | null;
  kind: string;
  severity: Severity;
  state: 'open' | 'acknowledged' | 'closed';
  actor: { kind: string; id: string } | null;
  tokenId: string | null;
  firstAt: string;
  lastAt: string;
  patients: number;
  summary: string;
}
