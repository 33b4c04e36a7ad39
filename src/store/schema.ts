// Table types for Kysely. Patient content lives only in `body` (ciphertext) and `tokens` (blind indexes).
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface TenantsTable { tenant_id: string; name: string; created_at: Generated<Timestamp> }
export interface SitesTable { tenant_id: string; site_id: string; name: string; created_at: Generated<Timestamp> }
export interface DataKeysTable {
  tenant_id: string; purpose: string; version: number; wrapped: Uint8Array; provider: string;
  created_at: Generated<Timestamp>; retired_at: Timestamp | null;
}
export interface ApiTokensTable {
  tenant_id: string; token_id: string; secret_hash: Uint8Array; role: string; label: string;
  created_at: Generated<Timestamp>; expires_at: Timestamp | null; revoked_at: Timestamp | null;
}
export interface ResourcesTable {
  tenant_id: string; resource_type: string; id: string; version: number; last_updated: Timestamp;
  deleted: boolean; body: Uint8Array | null; tokens: string[];
}
export interface ResourceHistoryTable {
  tenant_id: string; resource_type: string; id: string; version: number; last_updated: Timestamp;
  deleted: boolean; body: Uint8Array | null;
}
export interface AuditEventsTable {
  tenant_id: string; seq: Generated<string>; recorded_at: Generated<Timestamp>;
  actor_kind: string; actor_id: string; role: string; site_id: string | null; client_id: string | null;
  ip: string | null; purpose: string; action: string; outcome: string;
  resource_refs: string[]; patient_ids: string[]; detail: string | null;
  /** Set once by the log integrator (src/audit/log.ts); NULL until then. */
  leaf_index: ColumnType<string | null, never, string>; leaf_hash: ColumnType<Uint8Array | null, never, Uint8Array>;
}
export interface AuditLogStateTable {
  tenant_id: string; size: ColumnType<string, string | number, string | number>; root: Uint8Array;
  compact_range: string; updated_at: Generated<Timestamp>;
}
export interface AuditCheckpointsTable {
  tenant_id: string; size: ColumnType<string, string | number, never>; root: Uint8Array; note: string; created_at: Generated<Timestamp>;
}
export interface PatientKeysTable {
  tenant_id: string; key_no: number; patient_id: string; wrap_version: number; wrapped: Uint8Array; created_at: Generated<Timestamp>;
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

export interface DB {
  tenants: TenantsTable;
  sites: SitesTable;
  data_keys: DataKeysTable;
  api_tokens: ApiTokensTable;
  resources: ResourcesTable;
  resource_history: ResourceHistoryTable;
  audit_events: AuditEventsTable;
  audit_log_state: AuditLogStateTable;
  audit_checkpoints: AuditCheckpointsTable;
  schema_migrations: MigrationsTable;
  patient_keys: PatientKeysTable;
  shredded_keys: ShreddedKeysTable;
  key_jobs: KeyJobsTable;
  retention_rules: RetentionRulesTable;
}
