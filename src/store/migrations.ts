// Schema migrations, one list for PGlite and PostgreSQL, applied in order on start.
// Every primary key leads with tenant_id so the schema can be distributed by tenant (Citus).
import { sql, type Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';

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
      // Signed C2SP checkpoints; copies are also written outside the database (see src/audit/log/log.ts).
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
    version: 3,
    name: 'audit-leaf-at-insert',
    statements: [
      // Leaf positions are now allocated in the inserting transaction from a per-tenant counter row, whose
      // lock is held until commit: positions are gap-free and in commit order, so the integrator only reads
      // forward and never UPDATEs events (which rewrote every index of the row, GIN included).
      `CREATE TABLE audit_log_head (tenant_id text PRIMARY KEY, next bigint NOT NULL)`,
      `DROP TRIGGER audit_events_append_only ON audit_events`,
      // Level-0 hash tiles (256 leaf hashes each, the last one partial) written by the integrator:
      // served as tlog-tiles and used by verify to name the altered event.
      `CREATE TABLE audit_tiles (tenant_id text NOT NULL, level int NOT NULL, tile_index bigint NOT NULL, hashes bytea NOT NULL,
         PRIMARY KEY (tenant_id, level, tile_index))`,
      `INSERT INTO audit_tiles (tenant_id, level, tile_index, hashes)
         SELECT tenant_id, 0, leaf_index / 256, string_agg(leaf_hash, ''::bytea ORDER BY leaf_index)
         FROM audit_events WHERE leaf_index IS NOT NULL GROUP BY tenant_id, leaf_index / 256`,
      `WITH p AS (SELECT e.tenant_id, e.seq, coalesce(m.top, -1) + row_number() OVER (PARTITION BY e.tenant_id ORDER BY e.seq) AS i
         FROM audit_events e LEFT JOIN (SELECT tenant_id, max(leaf_index) AS top FROM audit_events GROUP BY tenant_id) m USING (tenant_id)
         WHERE e.leaf_index IS NULL)
       UPDATE audit_events e SET leaf_index = p.i FROM p WHERE e.tenant_id = p.tenant_id AND e.seq = p.seq`,
      `INSERT INTO audit_log_head (tenant_id, next) SELECT tenant_id, max(leaf_index) + 1 FROM audit_events GROUP BY tenant_id`,
      `DROP INDEX audit_events_pending`,
      `DROP INDEX audit_events_leaf`,
      `ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey, DROP COLUMN leaf_hash, ALTER COLUMN leaf_index SET NOT NULL`,
      `ALTER TABLE audit_events ADD PRIMARY KEY (tenant_id, leaf_index)`,
      `CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_refuse()`,
    ],
  },
  {
    version: 4,
    name: 'audit-retention',
    statements: [
      // One row per retention prune: events with leaf_index < boundary were deleted; `note` is a checkpoint
      // of size checkpoint_size (≥ boundary) signed by the log key with the extension line `prune <boundary>`.
      `CREATE TABLE audit_prunes (tenant_id text NOT NULL, boundary bigint NOT NULL, checkpoint_size bigint NOT NULL,
         before timestamptz NOT NULL, note text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, boundary))`,
      // What keeps the pruned prefix verifiable (src/audit/log/tree.ts): subtree hashes of height 8·k and the
      // leaf hashes of the last partial 256-leaf chunk. Hashes only, no event content.
      `CREATE TABLE audit_pruned_hashes (tenant_id text NOT NULL, height int NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL,
         PRIMARY KEY (tenant_id, height, idx))`,
      // Both are append-only; a prune must move forward and stay within a signed checkpoint.
      `CREATE FUNCTION audit_prunes_check() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.boundary <= coalesce((SELECT max(boundary) FROM audit_prunes WHERE tenant_id = NEW.tenant_id), 0)
            OR NEW.checkpoint_size < NEW.boundary
            OR NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE tenant_id = NEW.tenant_id AND size = NEW.checkpoint_size) THEN
           RAISE EXCEPTION 'a prune must move forward and be covered by a signed checkpoint' USING ERRCODE = 'check_violation';
         END IF;
         RETURN NEW;
       END $$`,
      `CREATE TRIGGER audit_prunes_insert BEFORE INSERT ON audit_prunes FOR EACH ROW EXECUTE FUNCTION audit_prunes_check()`,
      `CREATE TRIGGER audit_prunes_append_only BEFORE UPDATE OR DELETE ON audit_prunes FOR EACH ROW EXECUTE FUNCTION audit_events_refuse()`,
      `CREATE TRIGGER audit_pruned_hashes_append_only BEFORE UPDATE OR DELETE ON audit_pruned_hashes FOR EACH ROW EXECUTE FUNCTION audit_events_refuse()`,
      // The one exception to append-only audit_events: deleting an integrated event whose leaf index is
      // below a prune boundary inserted by the same transaction, which must also have set
      // cerbere.audit_prune to the tenant (SET LOCAL). An event in the middle of the log can never be
      // deleted: the permitted set is always a prefix [0, boundary), and the whole prefix goes.
      `CREATE FUNCTION audit_events_delete_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD.leaf_index IS NOT NULL AND current_setting('cerbere.audit_prune', true) = OLD.tenant_id
            AND EXISTS (SELECT 1 FROM audit_prunes WHERE tenant_id = OLD.tenant_id AND boundary > OLD.leaf_index
                        AND xmin = pg_current_xact_id()::xid) THEN
           RETURN OLD;
         END IF;
         RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
       END $$`,
      `DROP TRIGGER audit_events_no_delete ON audit_events`,
      `CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_delete_guard()`,
    ],
  },
  {
    version: 8,
    name: 'exports',
    statements: [
      // Exports encrypted to a recipient: opening needs the recipient's private key AND this row's share,
      // wrapped by the key provider and destroyed (NULL) at expiry. Patient ids are internal ids.
      `CREATE TABLE exports (tenant_id text NOT NULL REFERENCES tenants, export_id text NOT NULL, status text NOT NULL,
         requested_by text NOT NULL, requested_role text NOT NULL, approved_by text, scope_all boolean NOT NULL,
         patient_ids text[] NOT NULL DEFAULT '{}', patient_count int NOT NULL, recipient_key text NOT NULL,
         expires_at timestamptz NOT NULL, wrapped_share bytea, provider text, created_at timestamptz NOT NULL DEFAULT now(),
         file_created_at timestamptz, destroyed_at timestamptz, PRIMARY KEY (tenant_id, export_id))`,
      `CREATE INDEX exports_expiry ON exports (expires_at) WHERE wrapped_share IS NOT NULL`,
    ],
  },
  {
    version: 5,
    name: 'audit-investigation',
    statements: [
      // AuditEvent search (date ranges, newest first with keyset paging on (recorded_at, leaf_index)) and
      // blast radius by IP range, site, type or action within a time window: without it those scan
      // the whole tenant. recorded_at grows with leaf_index, so inserts append at the right edge of the
      // btree (one extra index entry per event, no page splits in the middle). Actor queries use
      // audit_events_actor, patient queries audit_events_patients (migration 1).
      `CREATE INDEX audit_events_recorded ON audit_events (tenant_id, recorded_at, leaf_index)`,
      // Client addresses are stored as text; a malformed one yields NULL instead of failing a CIDR query.
      `CREATE FUNCTION cerbere_try_inet(t text) RETURNS inet LANGUAGE plpgsql IMMUTABLE STRICT AS $$
       BEGIN RETURN t::inet; EXCEPTION WHEN others THEN RETURN NULL; END $$`,
    ],
  },
  {
    version: 6,
    name: 'identity',
    statements: [
      // Staff and patient accounts. The login e-mail is contact data: a full HMAC blind index under the
      // tenant's index key (lookups, uniqueness) and an envelope ciphertext; never in clear.
      `CREATE TABLE accounts (tenant_id text NOT NULL REFERENCES tenants, account_id text NOT NULL, kind text NOT NULL,
         role text NOT NULL, site_ids text[] NOT NULL DEFAULT '{}', practitioner_id text, patient_id text,
         email_index bytea NOT NULL, email_enc bytea NOT NULL, password_hash text, status text NOT NULL,
         totp_secret_enc bytea, totp_confirmed boolean NOT NULL DEFAULT false, totp_last_step bigint,
         recovery_hashes text[] NOT NULL DEFAULT '{}', mfa_generation int NOT NULL DEFAULT 0,
         created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, account_id))`,
      `CREATE UNIQUE INDEX accounts_email ON accounts (tenant_id, email_index)`,
      // Single-use tokens (invitation, password reset, MFA challenge, e-mail code): SHA-256 of the secret only.
      `CREATE TABLE auth_tickets (tenant_id text NOT NULL REFERENCES tenants, ticket_hash bytea NOT NULL, account_id text NOT NULL,
         purpose text NOT NULL, expires_at timestamptz NOT NULL, used_at timestamptz, attempts int NOT NULL DEFAULT 0,
         data text, created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, ticket_hash))`,
      `CREATE INDEX auth_tickets_account ON auth_tickets (tenant_id, account_id, purpose)`,
      // Sessions (cookie or API refresh family): secrets stored as SHA-256, idle and absolute expiry, revocation.
      `CREATE TABLE auth_sessions (tenant_id text NOT NULL REFERENCES tenants, session_id text NOT NULL, account_id text NOT NULL,
         kind text NOT NULL, secret_hash bytea NOT NULL, csrf_hash bytea, created_at timestamptz NOT NULL DEFAULT now(),
         last_seen_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL, revoked_at timestamptz,
         revoke_reason text, PRIMARY KEY (tenant_id, session_id))`,
      `CREATE INDEX auth_sessions_account ON auth_sessions (tenant_id, account_id)`,
      // Refresh tokens: each used once; presenting a used one revokes its whole session (reuse detection).
      `CREATE TABLE auth_refresh_tokens (tenant_id text NOT NULL, token_hash bytea NOT NULL, session_id text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(), used_at timestamptz, PRIMARY KEY (tenant_id, token_hash))`,
      // Throttling shared by every server (when REDIS_URL is unset): failures per key in a window, lock deadline.
      `CREATE TABLE auth_throttle (tenant_id text NOT NULL, key text NOT NULL, failures int NOT NULL, window_start timestamptz NOT NULL,
         locked_until timestamptz, PRIMARY KEY (tenant_id, key))`,
      // Passkeys (WebAuthn credentials): public keys only.
      `CREATE TABLE webauthn_credentials (tenant_id text NOT NULL REFERENCES tenants, credential_id text NOT NULL, account_id text NOT NULL,
         public_key bytea NOT NULL, counter bigint NOT NULL DEFAULT 0, transports text[] NOT NULL DEFAULT '{}',
         created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, credential_id))`,
      // OAuth 2.0 clients (SMART Backend Services, private_key_jwt): the registered public JWK only.
      `CREATE TABLE oauth_clients (tenant_id text NOT NULL REFERENCES tenants, client_id text NOT NULL, role text NOT NULL,
         label text NOT NULL, public_jwk text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), revoked_at timestamptz,
         PRIMARY KEY (tenant_id, client_id))`,
      // jti of accepted client assertions, kept until they expire (replay protection).
      `CREATE TABLE oauth_assertion_jti (tenant_id text NOT NULL, client_id text NOT NULL, jti_hash bytea NOT NULL,
         expires_at timestamptz NOT NULL, PRIMARY KEY (tenant_id, client_id, jti_hash))`,
    ],
  },
  {
    version: 7,
    name: 'authorization',
    statements: [
      // Care relationships, maintained by the repository on every write of an order, specimen,
      // appointment or patient: which patient is linked to which site or practitioner, and why (source).
      // patient_token is the patient's compartment blind token (also in the tokens of every resource
      // of their compartment), so a search can be restricted to related patients inside the SQL.
      `CREATE TABLE care_links (tenant_id text NOT NULL, source_type text NOT NULL, source_id text NOT NULL,
         patient_id text NOT NULL, patient_token bigint NOT NULL, site_id text NOT NULL DEFAULT '', practitioner_id text NOT NULL DEFAULT '',
         PRIMARY KEY (tenant_id, source_type, source_id, patient_id, site_id, practitioner_id))`,
      `CREATE INDEX care_links_patient ON care_links (tenant_id, patient_id)`,
      `CREATE INDEX care_links_site ON care_links (tenant_id, site_id) WHERE site_id <> ''`,
      `CREATE INDEX care_links_practitioner ON care_links (tenant_id, practitioner_id) WHERE practitioner_id <> ''`,
      // Emergency accesses: who, which patient, until when; the reason is sealed with the tenant's data key.
      `CREATE TABLE break_glass (tenant_id text NOT NULL, id text NOT NULL, actor_kind text NOT NULL, actor_id text NOT NULL,
         role text NOT NULL, patient_id text NOT NULL, patient_token bigint NOT NULL, reason bytea NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL, reviewed_at timestamptz, reviewed_by text,
         PRIMARY KEY (tenant_id, id))`,
      `CREATE INDEX break_glass_actor ON break_glass (tenant_id, actor_kind, actor_id, expires_at)`,
      `CREATE INDEX break_glass_review ON break_glass (tenant_id, created_at) WHERE reviewed_at IS NULL`,
      // Patients released by searches per account and hour, shared by every server instance.
      `CREATE TABLE access_counters (tenant_id text NOT NULL, actor text NOT NULL, window_start timestamptz NOT NULL,
         patients int NOT NULL, PRIMARY KEY (tenant_id, actor, window_start))`,
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
  {
    version: 13,
    name: 'care-link-expiry',
    statements: [
      // Relationships explained by an order, specimen or appointment end CERBERE_CARE_LINK_DAYS after its
      // date (or last write); NULL = until ended (treating physician named on the Patient). Existing
      // rows: 90 days from now (the default; dates are inside the ciphertext, a re-save recomputes).
      `ALTER TABLE care_links ADD COLUMN expires_at timestamptz`,
      `UPDATE care_links SET expires_at = now() + interval '90 days' WHERE source_type <> 'Patient'`,
    ],
  },
  {
    version: 14,
    name: 'audit-patients-index-no-pending-list',
    statements: [
      // Each event names one or a few patients: with GIN's pending list, every ~4 MB of events one append
      // (holding the tenant's audit_log_head lock) merged the list and stalled every read waiting for its
      // batch for 100–300 ms (p99 at 1,000 req/s: 108–333 ms; 11–16 ms without the list). Entries go
      // straight into the index instead, and the pending list left is merged now.
      `ALTER INDEX audit_events_patients SET (fastupdate = off)`,
      `SELECT gin_clean_pending_list('audit_events_patients'::regclass)`,
    ],
  },
  {
    version: 15,
    name: 'access-stream-positions',
    statements: [
      // Committed access-event stream (src/audit/stream/): the last position (leaf index) each subscriber
      // processed per tenant, so a restarted detector resumes where it stopped (at least once, no gap).
      `CREATE TABLE access_stream_positions (tenant_id text NOT NULL, subscriber text NOT NULL, position bigint NOT NULL,
         updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, subscriber))`,
    ],
  },
  {
    version: 16,
    name: 'watch',
    statements: [
      // Alerts of the detectors and the host sentinel (host alerts under tenant '_host'): internal ids and counts only.
      `CREATE TABLE alerts (tenant_id text NOT NULL, alert_id text NOT NULL, dedup_key text NOT NULL, kind text NOT NULL,
         severity text NOT NULL, state text NOT NULL DEFAULT 'open', actor_kind text, actor_id text, token_id text,
         first_at timestamptz NOT NULL, last_at timestamptz NOT NULL, patients int NOT NULL DEFAULT 0,
         evidence bigint[] NOT NULL DEFAULT '{}', summary text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
         updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, alert_id))`,
      // One alert per (kind, actor) until it is closed: the detectors' de-duplication holds across instances.
      `CREATE UNIQUE INDEX alerts_open_dedup ON alerts (tenant_id, dedup_key) WHERE state <> 'closed'`,
      `CREATE INDEX alerts_recent ON alerts (tenant_id, last_at)`,
      `CREATE TABLE alert_history (tenant_id text NOT NULL, alert_id text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(),
         state text NOT NULL, by_kind text NOT NULL, by_id text NOT NULL, note text, PRIMARY KEY (tenant_id, alert_id, at))`,
      `CREATE TABLE alert_deliveries (tenant_id text NOT NULL, alert_id text NOT NULL, channel text NOT NULL, status text NOT NULL,
         attempts int NOT NULL DEFAULT 0, detail text, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, alert_id, channel))`,
      // Suspended credentials (token, client, user, patient account): refused on every instance until an administrator restores them.
      `CREATE TABLE suspensions (tenant_id text NOT NULL, principal_kind text NOT NULL, principal_id text NOT NULL,
         suspended_at timestamptz NOT NULL DEFAULT now(), reason text NOT NULL, alert_id text, by_kind text NOT NULL, by_id text NOT NULL,
         restored_at timestamptz, restored_by text, restore_reason text, PRIMARY KEY (tenant_id, principal_kind, principal_id))`,
      // Patient-release budgets: a raised limit per principal, set with a reason; above the tenant threshold a second person approves.
      `CREATE TABLE release_budgets (tenant_id text NOT NULL, principal_kind text NOT NULL, principal_id text NOT NULL,
         patient_limit int NOT NULL, reason text NOT NULL, set_by text NOT NULL, set_at timestamptz NOT NULL DEFAULT now(),
         status text NOT NULL, approved_by text, approved_at timestamptz, PRIMARY KEY (tenant_id, principal_kind, principal_id))`,
      // The patients each principal released (first time), and those it worked on (wrote): the budget counts the others.
      `CREATE TABLE budget_releases (tenant_id text NOT NULL, principal text NOT NULL, patient_id text NOT NULL,
         first_at timestamptz NOT NULL DEFAULT now(), worked boolean NOT NULL DEFAULT false, PRIMARY KEY (tenant_id, principal, patient_id))`,
      `CREATE INDEX budget_releases_window ON budget_releases (tenant_id, principal, first_at) WHERE NOT worked`,
      // Canary patients: synthetic records no real work reaches; any access to one is an alert. Listed to the DPO only.
      `CREATE TABLE canaries (tenant_id text NOT NULL, patient_id text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, patient_id))`,
    ],
  },
];

export async function migrate(db: Kysely<DB>): Promise<number[]> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (tenant_id text NOT NULL DEFAULT '_system', version int NOT NULL,
    name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, version))`.execute(db);
  const done = new Set((await db.selectFrom('schema_migrations').select('version').execute()).map((r) => r.version));
  const applied: number[] = [];
  // In version order (features land in parallel, so the list is not always written in order).
  for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    await db.transaction().execute(async (tx) => {
      for (const s of m.statements) await sql.raw(s).execute(tx);
      await tx.insertInto('schema_migrations').values({ tenant_id: '_system', version: m.version, name: m.name }).execute();
    });
    applied.push(m.version);
  }
  return applied;
}
