// Table types for Kysely. Patient content lives only in `body` (ciphertext) and `tokens` (blind indexes).
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** bytea: read as a Buffer on both dialects (pg's own parser; on PGlite, db.ts's), written from any byte view. */
type Bytes = ColumnType<Buffer, Uint8Array, Uint8Array>;
type NullableBytes = ColumnType<Buffer | null, Uint8Array | null, Uint8Array | null>;

export interface TenantsTable { tenant_id: string; name: string; created_at: Generated<Timestamp> }
export interface SitesTable { tenant_id: string; site_id: string; name: string; created_at: Generated<Timestamp> }
export interface DataKeysTable {
  tenant_id: string; purpose: string; version: number; wrapped: Bytes; provider: string;
  created_at: Generated<Timestamp>; retired_at: Timestamp | null;
}
export interface ApiTokensTable {
  tenant_id: string; token_id: string; secret_hash: Bytes; role: string; label: string;
  created_at: Generated<Timestamp>; expires_at: Timestamp | null; revoked_at: Timestamp | null;
}
export interface ResourcesTable {
  tenant_id: string; resource_type: string; id: string; version: number; last_updated: Timestamp;
  deleted: boolean; body: NullableBytes; tokens: string[];
}
export interface ResourceHistoryTable {
  tenant_id: string; resource_type: string; id: string; version: number; last_updated: Timestamp;
  deleted: boolean; body: NullableBytes;
}
export interface AuditEventsTable {
  tenant_id: string; seq: Generated<string>; recorded_at: Generated<Timestamp>;
  actor_kind: string; actor_id: string; role: string; site_id: string | null; client_id: string | null;
  ip: string | null; purpose: string; action: string; outcome: string;
  resource_refs: string[]; patient_ids: string[]; detail: string | null;
  /** Position in the tenant's Merkle log, allocated at insert (src/audit/record/recorder.ts). */
  leaf_index: ColumnType<string, string | number, never>;
}
export interface AuditLogHeadTable { tenant_id: string; next: ColumnType<string, string | number, string | number> }
export interface AuditTilesTable { tenant_id: string; level: number; tile_index: ColumnType<string, string | number, never>; hashes: Bytes }
/** Where each subscriber of the committed access-event stream stands (src/audit/stream/): the last position processed. */
export interface AccessStreamPositionsTable {
  tenant_id: string; subscriber: string; position: ColumnType<string, string | number, string | number>; updated_at: DefaultTimestamp;
}
export interface AuditLogStateTable {
  tenant_id: string; size: ColumnType<string, string | number, string | number>; root: Bytes;
  compact_range: string; updated_at: Generated<Timestamp>;
}
export interface AuditCheckpointsTable {
  tenant_id: string; size: ColumnType<string, string | number, never>; root: Bytes; note: string; created_at: Generated<Timestamp>;
}
export interface AuditPrunesTable {
  tenant_id: string; boundary: ColumnType<string, string | number, never>; checkpoint_size: ColumnType<string, string | number, never>;
  before: Timestamp; note: string; created_at: Generated<Timestamp>;
}
export interface AuditPrunedHashesTable { tenant_id: string; height: number; idx: ColumnType<string, string | number, never>; hash: Bytes }
export interface ExportsTable {
  tenant_id: string; export_id: string; status: string; requested_by: string; requested_role: string; approved_by: string | null;
  scope_all: boolean; patient_ids: string[]; patient_count: number; recipient_key: string; expires_at: Timestamp;
  wrapped_share: NullableBytes; provider: string | null; created_at: Generated<Timestamp>;
  file_created_at: Timestamp | null; destroyed_at: Timestamp | null;
}
export interface CareLinksTable {
  tenant_id: string; source_type: string; source_id: string; patient_id: string; patient_token: ColumnType<string, string | bigint, never>;
  site_id: string; practitioner_id: string; expires_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}
export interface BreakGlassTable {
  tenant_id: string; id: string; actor_kind: string; actor_id: string; role: string; patient_id: string;
  patient_token: ColumnType<string, string | bigint, never>; reason: Bytes; created_at: Generated<Timestamp>; expires_at: Timestamp;
  reviewed_at: Timestamp | null; reviewed_by: string | null;
}
export interface AccessCountersTable { tenant_id: string; actor: string; window_start: Timestamp; patients: number }
export interface PatientKeysTable {
  tenant_id: string; key_no: number; patient_id: string; wrap_version: number; wrapped: Bytes; created_at: Generated<Timestamp>;
}
export interface ShreddedKeysTable { tenant_id: string; key_no: number; shredded_at: Generated<Timestamp>; cause: string }
export interface KeyJobsTable {
  tenant_id: string; purpose: string; target_version: number; phase: string; cursor: string | null;
  done: ColumnType<string, string | number, string | number>; changed: ColumnType<string, string | number, string | number>;
  total: ColumnType<string, string | number, string | number>;
  started_at: ColumnType<Date, Date | string | undefined, Date | string>; updated_at: ColumnType<Date, Date | string | undefined, Date | string>; finished_at: Timestamp | null;
}
export interface RetentionRulesTable { tenant_id: string; resource_type: string; keep_years: number; updated_at: Generated<Timestamp> }
export interface MigrationsTable { tenant_id: string; version: number; name: string; applied_at: Generated<Timestamp> }

export interface AccountsTable {
  tenant_id: string; account_id: string; kind: string; role: string; site_ids: string[]; practitioner_id: string | null;
  patient_id: string | null; email_index: Bytes; email_enc: Bytes; password_hash: string | null; status: string;
  totp_secret_enc: NullableBytes; totp_confirmed: Generated<boolean>; totp_last_step: ColumnType<string | null, string | number | null, string | number | null>;
  recovery_hashes: Generated<string[]>; mfa_generation: Generated<number>; created_at: Generated<Timestamp>; updated_at: DefaultTimestamp;
}
export interface AuthTicketsTable {
  tenant_id: string; ticket_hash: Bytes; account_id: string; purpose: string; expires_at: Timestamp; used_at: Timestamp | null;
  attempts: Generated<number>; data: string | null; created_at: Generated<Timestamp>;
}
export interface AuthSessionsTable {
  tenant_id: string; session_id: string; account_id: string; kind: string; secret_hash: Bytes; csrf_hash: NullableBytes;
  created_at: Generated<Timestamp>; last_seen_at: DefaultTimestamp; expires_at: Timestamp; revoked_at: Timestamp | null; revoke_reason: string | null;
}
export interface AuthRefreshTokensTable { tenant_id: string; token_hash: Bytes; session_id: string; created_at: Generated<Timestamp>; used_at: Timestamp | null }
export interface AuthThrottleTable { tenant_id: string; key: string; failures: number; window_start: Timestamp; locked_until: Timestamp | null }
export interface WebauthnCredentialsTable {
  tenant_id: string; credential_id: string; account_id: string; public_key: Bytes; counter: ColumnType<string, string | number, string | number>;
  transports: string[]; created_at: Generated<Timestamp>;
}
export interface OauthClientsTable { tenant_id: string; client_id: string; role: string; label: string; public_jwk: string; created_at: Generated<Timestamp>; revoked_at: Timestamp | null }
export interface OauthAssertionJtiTable { tenant_id: string; client_id: string; jti_hash: Bytes; expires_at: Timestamp }

export interface AlertsTable {
  tenant_id: string; alert_id: string; dedup_key: string; kind: string; severity: string; state: Generated<string>;
  actor_kind: string | null; actor_id: string | null; token_id: string | null; first_at: Timestamp; last_at: Timestamp;
  patients: Generated<number>; evidence: ColumnType<string[], string[] | undefined, string[]>; summary: string;
  created_at: Generated<Timestamp>; updated_at: DefaultTimestamp;
}
export interface AlertHistoryTable { tenant_id: string; alert_id: string; at: Generated<Timestamp>; state: string; by_kind: string; by_id: string; note: string | null }
export interface AlertDeliveriesTable { tenant_id: string; alert_id: string; channel: string; status: string; attempts: Generated<number>; detail: string | null; updated_at: DefaultTimestamp }
export interface SuspensionsTable {
  tenant_id: string; principal_kind: string; principal_id: string; suspended_at: DefaultTimestamp; reason: string; alert_id: string | null;
  by_kind: string; by_id: string; restored_at: Timestamp | null; restored_by: string | null; restore_reason: string | null;
}
export interface ReleaseBudgetsTable {
  tenant_id: string; principal_kind: string; principal_id: string; patient_limit: number; reason: string; set_by: string;
  set_at: DefaultTimestamp; status: string; approved_by: string | null; approved_at: Timestamp | null;
}
export interface BudgetReleasesTable { tenant_id: string; principal: string; patient_id: string; first_at: DefaultTimestamp; worked: Generated<boolean> }

export interface CanariesTable { tenant_id: string; patient_id: string; created_at: Generated<Timestamp> }

export interface DB {
  canaries: CanariesTable;
  alerts: AlertsTable;
  alert_history: AlertHistoryTable;
  alert_deliveries: AlertDeliveriesTable;
  suspensions: SuspensionsTable;
  release_budgets: ReleaseBudgetsTable;
  budget_releases: BudgetReleasesTable;
  audit_log_head: AuditLogHeadTable;
  audit_tiles: AuditTilesTable;
  tenants: TenantsTable;
  sites: SitesTable;
  data_keys: DataKeysTable;
  api_tokens: ApiTokensTable;
  resources: ResourcesTable;
  resource_history: ResourceHistoryTable;
  audit_events: AuditEventsTable;
  audit_log_state: AuditLogStateTable;
  access_stream_positions: AccessStreamPositionsTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_prunes: AuditPrunesTable;
  audit_pruned_hashes: AuditPrunedHashesTable;
  schema_migrations: MigrationsTable;
  exports: ExportsTable;
  accounts: AccountsTable;
  auth_tickets: AuthTicketsTable;
  auth_sessions: AuthSessionsTable;
  auth_refresh_tokens: AuthRefreshTokensTable;
  auth_throttle: AuthThrottleTable;
  webauthn_credentials: WebauthnCredentialsTable;
  oauth_clients: OauthClientsTable;
  oauth_assertion_jti: OauthAssertionJtiTable;
  care_links: CareLinksTable;
  break_glass: BreakGlassTable;
  access_counters: AccessCountersTable;
  patient_keys: PatientKeysTable;
  shredded_keys: ShreddedKeysTable;
  key_jobs: KeyJobsTable;
  retention_rules: RetentionRulesTable;
}
