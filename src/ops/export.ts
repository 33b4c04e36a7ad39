// Exports (bulk, migration, portability) encrypted to a recipient, with an expiry enforced by Cerbère.
// File = archive (src/vault/archive.ts) whose key is HKDF-SHA-256(X25519(ephemeral, recipient) ‖ S,
// salt = export id, info = "cerbere/v1/export" ‖ ephemeral public key ‖ recipient public key), where S is a
// 256-bit share kept only by Cerbère, wrapped by the key provider in `exports.wrapped_share`, and destroyed
// (set to NULL) when the export expires. Opening needs BOTH the recipient's private key and Cerbère
// releasing S before expiry; after expiry no one — recipient, operator or thief of the file — can open it.
// Every export is an access event naming every exported patient; every share release is one too.
import { createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Services } from './services.ts';
import type { AccessContext } from '../core/context.ts';
import { systemContext } from '../core/context.ts';
import { ArchiveWriter, readArchive, readArchiveHeader, newArchiveId, ArchiveError, type ArchiveHeader } from '../vault/archive.ts';
import { hkdfSha256 } from '../vault/aead.ts';
import { parseSearch } from '../fhir/search-query.ts';
import { searchParam } from '../fhir/search-params.ts';
import { SUPPORTED_TYPES } from '../fhir/validate.ts';

export const EXPORT_MAGIC = 'CERBERE-EXPORT/1\n';
export class ExportError extends Error {
  constructor(message: string, readonly status = 400) { super(message); }
}

const shareCtx = (tenant: string, id: string) => `cerbere/v1/export-share|${tenant}|${id}`;
const ID = /^[0-9a-f]{32}$/;

// ---- recipient keys (X25519) ----

export function generateRecipientKeys(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Parses an X25519 public key (SPKI PEM); returns its raw 32 bytes' base64 (stored form). */
export function parseRecipientKey(pem: string): string {
  let k: KeyObject;
  try { k = createPublicKey(pem); } catch { throw new ExportError('recipient key is not a PEM public key'); }
  if (k.asymmetricKeyType !== 'x25519') throw new ExportError('recipient key must be an X25519 public key (cerbere export keygen)');
  return rawX25519(k).toString('base64');
}

const rawX25519 = (k: KeyObject): Buffer => Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url');
const x25519Public = (raw: Buffer): KeyObject => createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
export const keyFingerprint = (raw: Buffer): string => createHash('sha256').update(raw).digest('hex').slice(0, 32);

function fileKey(shared: Buffer, share: Buffer, id: string, eph: Buffer, recipient: Buffer): Buffer {
  const ikm = Buffer.concat([shared, share]);
  try {
    return hkdfSha256(ikm, Buffer.from(id, 'hex'), Buffer.concat([Buffer.from('cerbere/v1/export'), eph, recipient]), 32);
  } finally { ikm.fill(0); }
}

export function parseExpiry(s: string, maxDays: number): number {
  const m = /^(\d{1,6})([dhms])$/.exec(s);
  if (!m) throw new ExportError('expiry must look like 7d, 12h, 30m or 45s');
  const ms = Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[m[2] as 'd']!;
  if (ms < 1000 || ms > maxDays * 86_400_000) throw new ExportError(`expiry must be between 1 s and ${maxDays} days`);
  return ms;
}

// ---- requests, approval ----

export interface ExportRequest { patients?: string[]; all?: boolean; recipientKeyPem: string; expiresInMs: number }

const PATIENT_ID = /^[A-Za-z0-9\-.]{1,64}$/;

async function allPatientIds(svc: Services, ctx: AccessContext): Promise<string[]> {
  const ids: string[] = [];
  const q = parseSearch('Patient', [['_count', '1000'], ['_sort', '_lastUpdated']], { maxCount: 1000 });
  for (;;) {
    const r = await svc.repo.search(ctx, q);
    for (const m of r.matches) ids.push(m.id);
    if (!r.hasMore) break;
    q.offset += q.count;
  }
  return ids;
}

/** Records the request; above the approval threshold it waits for a second person (`export:approve`). */
export async function requestExport(svc: Services, ctx: AccessContext, req: ExportRequest, opts: { requireApproval: boolean }): Promise<{ id: string; status: 'pending' | 'approved'; patients: number }> {
  const recipient = parseRecipientKey(req.recipientKeyPem);
  let ids: string[] = [];
  if (req.all) ids = await allPatientIds(svc, ctx);
  else {
    ids = [...new Set(req.patients ?? [])];
    if (!ids.length) throw new ExportError('name the patients to export, or all');
    if (!ids.every((i) => PATIENT_ID.test(i))) throw new ExportError('patient ids must be FHIR ids');
  }
  const id = newArchiveId();
  const pending = opts.requireApproval && ids.length > svc.config.keys.exportApprovalThreshold;
  await svc.database.db.transaction().execute(async (tx) => {
    await tx.insertInto('exports').values({
      tenant_id: ctx.tenantId, export_id: id, status: pending ? 'pending' : 'approved', requested_by: ctx.actor.id, requested_role: ctx.actor.role,
      approved_by: null, scope_all: !!req.all, patient_ids: ids, patient_count: ids.length, recipient_key: recipient,
      expires_at: new Date(Date.now() + req.expiresInMs), wrapped_share: null, provider: null, file_created_at: null, destroyed_at: null,
    }).execute();
    await svc.audit.appendInTransaction(tx, ctx, [{ action: 'export.request', outcome: 'success', resourceRefs: [], patientIds: ids, detail: `export=${id} patients=${ids.length} approval=${pending ? 'required' : 'not-required'}` }]);
  });
  return { id, status: pending ? 'pending' : 'approved', patients: ids.length };
}

export async function approveExport(svc: Services, ctx: AccessContext, id: string): Promise<void> {
  if (!ID.test(id)) throw new ExportError('no such export', 404);
  const db = svc.database.db;
  await db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('exports').selectAll().where('tenant_id', '=', ctx.tenantId).where('export_id', '=', id).forUpdate().executeTakeFirst();
    if (!row) throw new ExportError('no such export', 404);
    if (row.status !== 'pending') throw new ExportError(`export is ${row.status}, not pending`, 409);
    if (row.requested_by === ctx.actor.id) throw new ExportError('the approver must be another person than the requester', 403);
    await tx.updateTable('exports').set({ status: 'approved', approved_by: ctx.actor.id }).where('tenant_id', '=', ctx.tenantId).where('export_id', '=', id).execute();
    await svc.audit.appendInTransaction(tx, ctx, [{ action: 'export.approve', outcome: 'success', resourceRefs: [], patientIds: row.patient_ids, detail: `export=${id}` }]);
  });
}

// ---- building the file ----

/** Patient compartment types: those with a `patient` or `subject` reference search parameter. */
function compartmentParams(): [string, string][] {
  const out: [string, string][] = [];
  for (const t of SUPPORTED_TYPES) {
    if (t === 'Patient') continue;
    const d = searchParam(t, 'patient') ?? searchParam(t, 'subject');
    if (d && d.kind === 'reference') out.push([t, d.name]);
  }
  return out;
}

/**
 * Writes the export file for an approved request (exactly its recorded scope), stores the share wrapped,
 * and records the export event naming every patient, in one transaction. One file per export.
 */
export async function buildExport(svc: Services, ctx: AccessContext, id: string, out: string): Promise<{ patients: number; resources: number; expiresAt: Date }> {
  if (!ID.test(id)) throw new ExportError('no such export', 404);
  const db = svc.database.db;
  const row = await db.selectFrom('exports').selectAll().where('tenant_id', '=', ctx.tenantId).where('export_id', '=', id).executeTakeFirst();
  if (!row) throw new ExportError('no such export', 404);
  if (row.requested_by !== ctx.actor.id) throw new ExportError('only the person who requested this export may create its file', 403);
  if (row.status === 'pending') throw new ExportError('export is waiting for a second person\'s approval', 409);
  if (row.status !== 'approved') throw new ExportError(`export is ${row.status}`, 409);
  if (new Date(row.expires_at).getTime() <= Date.now()) throw new ExportError('export has expired', 410);
  const recipient = Buffer.from(row.recipient_key, 'base64');
  const share = randomBytes(32);
  const eph = generateKeyPairSync('x25519');
  const ephRaw = rawX25519(eph.publicKey);
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: x25519Public(recipient) });
  const key = fileKey(shared, share, id, ephRaw, recipient);
  shared.fill(0);
  const header: ArchiveHeader = {
    format: 1, kind: 'export', id, tenant: ctx.tenantId, createdAt: new Date().toISOString(), expiresAt: new Date(row.expires_at).toISOString(),
    ephemeralKey: ephRaw.toString('base64'), recipient: keyFingerprint(recipient), content: 'application/fhir+ndjson',
  };
  const w = new ArchiveWriter(out, EXPORT_MAGIC, header, key);
  key.fill(0);
  let resources = 0;
  const wrapped = await svc.provider.wrap(share, shareCtx(ctx.tenantId, id));
  share.fill(0);
  try {
    const types = compartmentParams();
    for (const pid of row.patient_ids) {
      let patient;
      try { patient = await svc.repo.read(ctx, 'Patient', pid); } catch (e) {
        if ((e as { status?: number }).status === 404 || (e as { status?: number }).status === 410) continue; // deleted since the request
        throw e;
      }
      w.write(patient.json + '\n'); resources++;
      for (const [type, param] of types) {
        const q = parseSearch(type, [[param, `Patient/${pid}`], ['_count', '1000']], { maxCount: 1000 });
        for (;;) {
          const r = await svc.repo.search(ctx, q);
          for (const m of r.matches) { w.write(JSON.stringify(m) + '\n'); resources++; }
          if (!r.hasMore) break;
          q.offset += q.count;
        }
      }
    }
    // The share becomes usable only if this commits together with the event naming every patient.
    await db.transaction().execute(async (tx) => {
      const upd = await tx.updateTable('exports').set({ status: 'created', wrapped_share: wrapped, provider: svc.provider.id, file_created_at: new Date() })
        .where('tenant_id', '=', ctx.tenantId).where('export_id', '=', id).where('status', '=', 'approved').executeTakeFirst();
      if (Number(upd.numUpdatedRows) !== 1) throw new ExportError('export was created concurrently', 409);
      await svc.audit.appendInTransaction(tx, ctx, [{ action: 'export.create', outcome: 'success', resourceRefs: [], patientIds: row.patient_ids, detail: `export=${id} patients=${row.patient_count} resources=${resources} expires=${new Date(row.expires_at).toISOString()}` }]);
    });
    w.finish({ patients: row.patient_count, resources });
  } catch (e) {
    w.abort();
    throw e;
  }
  return { patients: row.patient_count, resources, expiresAt: new Date(row.expires_at) };
}

/** Builds the file in a private temporary directory and returns its (encrypted) bytes. */
export async function buildExportBytes(svc: Services, ctx: AccessContext, id: string): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'cerbere-export-'));
  try {
    const f = join(dir, 'export.cbx');
    await buildExport(svc, ctx, id, f);
    return readFileSync(f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- expiry and release ----

/** Destroys the shares of every expired export (the files can no longer be opened); returns how many. */
export async function purgeExpiredExports(svc: Services): Promise<number> {
  const db = svc.database.db;
  const rows = await db.selectFrom('exports').select(['tenant_id', 'export_id']).where('wrapped_share', 'is not', null).where('expires_at', '<=', new Date()).execute();
  for (const r of rows) {
    await db.transaction().execute(async (tx) => {
      await tx.updateTable('exports').set({ wrapped_share: null, status: 'expired', destroyed_at: new Date() })
        .where('tenant_id', '=', r.tenant_id).where('export_id', '=', r.export_id).execute();
      await svc.audit.appendInTransaction(tx, systemContext(r.tenant_id, 'HSYSADMIN'), [{ action: 'export.expire', outcome: 'success', resourceRefs: [], patientIds: [], detail: `export=${r.export_id} share destroyed` }]);
    });
  }
  // Requests never turned into a file also lapse.
  await db.updateTable('exports').set({ status: 'expired' }).where('status', 'in', ['pending', 'approved']).where('expires_at', '<=', new Date()).execute();
  return rows.length;
}

/** Releases the export's share to whoever opens it, before expiry only; an access event either way. */
export async function releaseExportShare(svc: Services, ctx: AccessContext, id: string): Promise<Buffer> {
  if (!ID.test(id)) throw new ExportError('no such export', 404);
  const db = svc.database.db;
  const row = await db.selectFrom('exports').select(['wrapped_share', 'expires_at', 'patient_ids', 'status']).where('tenant_id', '=', ctx.tenantId).where('export_id', '=', id).executeTakeFirst();
  if (!row) throw new ExportError('no such export', 404);
  const expired = new Date(row.expires_at).getTime() <= Date.now();
  if (expired || !row.wrapped_share) {
    if (expired && row.wrapped_share) await purgeExpiredExports(svc);
    await svc.audit.record(ctx, { action: 'export.open', outcome: 'denied', resourceRefs: [], patientIds: [], detail: `export=${id} expired` });
    throw new ExportError('this export has expired: its key was destroyed and it can no longer be opened', 410);
  }
  const share = await svc.provider.unwrap(row.wrapped_share, shareCtx(ctx.tenantId, id));
  await svc.audit.record(ctx, { action: 'export.open', outcome: 'success', resourceRefs: [], patientIds: row.patient_ids, detail: `export=${id} share released` });
  return share;
}

/** Reads the plaintext header of an export file (tenant, id, expiry) to know which share to ask for. */
export function exportFileHeader(file: string): { id: string; tenant: string; expiresAt: string } {
  const h = readArchiveHeader(file, EXPORT_MAGIC);
  if (h.kind !== 'export' || typeof h.tenant !== 'string' || typeof h.expiresAt !== 'string') throw new ArchiveError('not an export file');
  return { id: h.id, tenant: h.tenant, expiresAt: h.expiresAt };
}

/** Opens an export with the recipient's private key and the share; returns the NDJSON content (memory). */
export async function openExport(file: string, privateKeyPem: string, share: Buffer): Promise<{ ndjson: Buffer; manifest: Record<string, unknown> }> {
  let priv: KeyObject;
  try { priv = createPrivateKey(privateKeyPem); } catch { throw new ExportError('the private key is not a PEM private key'); }
  if (priv.asymmetricKeyType !== 'x25519') throw new ExportError('the private key must be X25519');
  const mine = rawX25519(createPublicKey(priv));
  const parts: Buffer[] = [];
  const { manifest } = await readArchive(file, EXPORT_MAGIC, async (h) => {
    if (h.recipient !== keyFingerprint(mine)) throw new ExportError('this export was encrypted to another recipient key');
    const eph = Buffer.from(String(h.ephemeralKey), 'base64');
    const shared = diffieHellman({ privateKey: priv, publicKey: x25519Public(eph) });
    try { return fileKey(shared, share, h.id, eph, mine); } finally { shared.fill(0); }
  }, (plain) => { parts.push(Buffer.from(plain)); });
  return { ndjson: Buffer.concat(parts), manifest };
}

export function writePrivateFile(path: string, data: string | Buffer): void {
  writeFileSync(path, data, { mode: 0o600, flag: 'wx' });
}

/** For the server timer: purge at most every `everyMs`. */
export function startExportPurger(svc: Services, everyMs = 60_000): () => void {
  const t = setInterval(() => { purgeExpiredExports(svc).catch(() => {}); }, everyMs);
  t.unref();
  return () => clearInterval(t);
}

