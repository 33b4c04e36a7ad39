// Schema migrations, one list for PGlite and PostgreSQL, applied in order on start.
// Every primary key leads with tenant_id so the schema can be distributed by tenant (Citus).
import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.ts';

interface Migration { version: number; name: string; statements: string[] }

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'foundation',
    statements: [
      `CREATE TABLE tenants (tenant_id text PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
      `CREATE TABLE sites (tenant_id text NOT NULL REFERENCES tenants, site_id text NOT NULL, name text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, site_id))`,
      // Data keys are stored only wrapped by the key provider's key-encryption key.
      `CREATE TABLE data_keys (tenant_id text NOT NULL REFERENCES tenants, purpose text NOT NULL, version int NOT NULL,
         wrapped bytea NOT NULL, provider text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), retired_at timestamptz,
         PRIMARY KEY (tenant_id, purpose, version))`,
      `CREATE TABLE api_tokens (tenant_id text NOT NULL REFERENCES tenants, token_id text NOT NULL, secret_hash bytea NOT NULL,
         role text NOT NULL, label text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz,
         revoked_at timestamptz, PRIMARY KEY (tenant_id, token_id))`,
      // Current version of each resource: ciphertext body + blind-index tokens; nothing readable.
      `CREATE TABLE resources (tenant_id text NOT NULL REFERENCES tenants, resource_type text NOT NULL, id text NOT NULL,
         version int NOT NULL, last_updated timestamptz NOT NULL, deleted boolean NOT NULL DEFAULT false, body bytea,
         tokens bigint[] NOT NULL DEFAULT '{}', PRIMARY KEY (tenant_id, resource_type, id))`,
      `CREATE INDEX resources_tokens ON resources USING gin (tokens)`,
      `CREATE INDEX resources_updated ON resources (tenant_id, resource_type, last_updated, id)`,
      // Superseded versions only (the current one is in resources), still ciphertext.
      `CREATE TABLE resource_history (tenant_id text NOT NULL, resource_type text NOT NULL, id text NOT NULL,
         version int NOT NULL, last_updated timestamptz NOT NULL, deleted boolean NOT NULL, body bytea,
         PRIMARY KEY (tenant_id, resource_type, id, version))`,
      // Access events: internal ids only, never a name, NIR or clinical value.
      `CREATE TABLE audit_events (tenant_id text NOT NULL, seq bigserial NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
         actor_kind text NOT NULL, actor_id text NOT NULL, role text NOT NULL, site_id text, client_id text, ip text,
         purpose text NOT NULL, action text NOT NULL, outcome text NOT NULL, resource_refs text[] NOT NULL DEFAULT '{}',
         patient_ids text[] NOT NULL DEFAULT '{}', detail text, PRIMARY KEY (tenant_id, seq))`,
      `CREATE INDEX audit_events_patients ON audit_events USING gin (patient_ids)`,
      `CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor_id, recorded_at)`,
    ],
  },
  {
    version: 2,
    name: 'audit-merkle-log',
    statements: [
      // Position and RFC 9162 leaf hash of each event in its tenant's Merkle log, set once by the integrator.
      `ALTER TABLE audit_events ADD COLUMN leaf_index bigint, ADD COLUMN leaf_hash bytea`,
      `CREATE UNIQUE INDEX audit_events_leaf ON audit_events (tenant_id, leaf_index)`,
      `CREATE INDEX audit_events_pending ON audit_events (tenant_id, seq) WHERE leaf_index IS NULL`,
      // Current tree per tenant: the compact range (JSON) lets the integrator append without re-reading leaves.
      `CREATE TABLE audit_log_state (tenant_id text PRIMARY KEY, size bigint NOT NULL, root bytea NOT NULL,
         compact_range text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
      // Signed C2SP checkpoints; copies are also written outside the database (see src/audit/log.ts).
      `CREATE TABLE audit_checkpoints (tenant_id text NOT NULL, size bigint NOT NULL, root bytea NOT NULL, note text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, size))`,
      // Append-only: an UPDATE may only set leaf_index/leaf_hash from NULL; DELETE and TRUNCATE are refused.
      // The check is the trigger's WHEN clause (evaluated without a PL/pgSQL call), so the integrator's updates stay cheap.
      // Retention pruning (issue 4) will need a controlled exception here, together with a signed checkpoint.
      `CREATE FUNCTION audit_events_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege'; END $$`,
      `CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events FOR EACH ROW
         WHEN (OLD.leaf_index IS NOT NULL OR OLD.leaf_hash IS NOT NULL OR NEW.leaf_index IS NULL OR NEW.leaf_hash IS NULL
           OR (NEW.tenant_id, NEW.seq, NEW.recorded_at, NEW.actor_kind, NEW.actor_id, NEW.role, NEW.site_id, NEW.client_id,
               NEW.ip, NEW.purpose, NEW.action, NEW.outcome, NEW.resource_refs, NEW.patient_ids, NEW.detail)
              IS DISTINCT FROM
              (OLD.tenant_id, OLD.seq, OLD.recorded_at, OLD.actor_kind, OLD.actor_id, OLD.role, OLD.site_id, OLD.client_id,
               OLD.ip, OLD.purpose, OLD.action, OLD.outcome, OLD.resource_refs, OLD.patient_ids, OLD.detail))
         EXECUTE FUNCTION audit_events_refuse()`,
      `CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_refuse()`,
      `CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse()`,
    ],
  },
  {
    version: 9,
    name: 'key-lifecycle',
    statements: [
      // Per-patient keys: random, wrapped under the tenant's 'enc' data key (version wrap_version). Deleting a row
      // crypto-shreds every copy of that patient's data (rows, history, backups): see docs/key-lifecycle.md.
      `CREATE SEQUENCE patient_key_seq AS integer`,
      `CREATE TABLE patient_keys (tenant_id text NOT NULL REFERENCES tenants, key_no int NOT NULL, patient_id text NOT NULL,
         wrap_version int NOT NULL, wrapped bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, key_no), UNIQUE (tenant_id, patient_id))`,
      // Numbers of destroyed patient keys (no patient id, no PHI); applied again after a restore.
      `CREATE TABLE shredded_keys (tenant_id text NOT NULL, key_no int NOT NULL, shredded_at timestamptz NOT NULL DEFAULT now(),
         cause text NOT NULL, PRIMARY KEY (tenant_id, key_no))`,
      // Progress of background re-encryption / re-indexing, so a crashed run resumes where it stopped.
      `CREATE TABLE key_jobs (tenant_id text NOT NULL REFERENCES tenants, purpose text NOT NULL, target_version int NOT NULL,
         phase text NOT NULL, cursor text, done bigint NOT NULL DEFAULT 0, changed bigint NOT NULL DEFAULT 0, total bigint NOT NULL DEFAULT 0,
         started_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz,
         PRIMARY KEY (tenant_id, purpose))`,
      // Retention: keep each resource type N years after the patient's last activity ('Patient' = the whole record).
      `CREATE TABLE retention_rules (tenant_id text NOT NULL REFERENCES tenants, resource_type text NOT NULL, keep_years int NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, resource_type))`,
    ],
  },
];

export async function migrate(db: Kysely<DB>): Promise<number[]> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (tenant_id text NOT NULL DEFAULT '_system', version int NOT NULL,
    name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, version))`.execute(db);
  const done = new Set((await db.selectFrom('schema_migrations').select('version').execute()).map((r) => r.version));
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    await db.transaction().execute(async (tx) => {
      for (const s of m.statements) await sql.raw(s).execute(tx);
      await tx.insertInto('schema_migrations').values({ tenant_id: '_system', version: m.version, name: m.name }).execute();
    });
    applied.push(m.version);
  }
  return applied;
}
