// `cerbere keys …`, `backup`, `restore`, `export …`, `doctor` commands (key lifecycle). Registered by commands.ts.
import type { CommandTable } from './command-types.ts';
import { CliError } from './io.ts';
import { tenantExists } from '../store/tenants.ts';
import { rotateKek } from '../ops/kek-rotation.ts';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { systemContext } from '../core/context.ts';
import { runDoctor, formatCheck } from './doctor.ts';
import { buildExport, ExportError, exportFileHeader, generateRecipientKeys, openExport, parseExpiry, purgeExpiredExports, releaseExportShare, requestExport, writePrivateFile } from '../ops/export.ts';
import { resolve } from 'node:path';
import { writeBackup, checkBackup, restoreBackup } from '../ops/backup.ts';
import { ArchiveError } from '../vault/archive.ts';

const optStr = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' && v ? v : undefined);

const KEK_COMMANDS: CommandTable = {
  'keys rotate-kek': {
    usage: 'keys rotate-kek [--tenant T]            new key-encryption-key version, every data key re-wrapped under it (data untouched);\n'
      + '                                          with --tenant: re-wrap that tenant\'s keys under the current version only',
    options: { tenant: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = optStr(v.tenant);
      if (tenant && !(await tenantExists(svc.database.db, tenant))) throw new CliError(`tenant ${tenant} does not exist`);
      if (!tenant && !svc.provider.rotate) throw new CliError('this key provider cannot rotate its key-encryption key');
      const r = await rotateKek(svc, { tenant }, (d, t) => { if (t > 20) io.progress(d, t, 're-wrapping'); });
      io.line(`${r.rotated ? 'new key-encryption key ' : 'key-encryption key '}${r.kekId}: ${r.keys} wrapped key(s) of ${r.tenants} tenant(s) re-wrapped`);
    },
  },
};

/** Paths are resolved by the process running the command (the server, through the admin socket). */
function filePath(v: string | boolean | undefined, what: string): string {
  const p = optStr(v);
  if (!p) throw new CliError(`${what} is required`);
  return resolve(p);
}

const BACKUP_COMMANDS: CommandTable = {
  backup: {
    usage: 'backup --out FILE [--tenant T]          encrypted, authenticated archive of every table of one tenant or all (key wrapped by the key provider)',
    options: { out: { type: 'string' }, tenant: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const out = filePath(v.out, '--out FILE');
      if (existsSync(out)) throw new CliError(`${out} already exists`);
      const tenant = optStr(v.tenant);
      if (tenant && !(await tenantExists(svc.database.db, tenant))) throw new CliError(`tenant ${tenant} does not exist`);
      try {
        const r = await writeBackup(svc, out, { tenant });
        io.line(`backup ${r.id} written to ${out}: ${r.tenants.length} tenant(s), ${r.rows} rows (${Object.entries(r.tables).filter(([, n]) => n).map(([t, n]) => `${t} ${n}`).join(', ')})`);
      } catch (e) {
        if (e instanceof ArchiveError) throw new CliError(e.message);
        throw e;
      }
    },
  },
  restore: {
    usage: 'restore [--check] FILE                  verify a backup completely; without --check, then restore it into a database without its tenants',
    options: { check: { type: 'boolean' } },
    run: async (svc, pos, v, io) => {
      if (pos.length !== 1) throw new CliError('usage: cerbere restore [--check] FILE');
      const file = filePath(pos[0], 'FILE');
      if (!existsSync(file)) throw new CliError(`${file} does not exist`);
      try {
        if (v.check) {
          const c = await checkBackup(svc, file);
          io.line(`backup ${c.id} of ${c.createdAt} verified: ${c.tenants.join(', ')}; ${c.rows} rows; intact and complete`);
          return;
        }
        const c = await restoreBackup(svc, file);
        io.line(`backup ${c.id} of ${c.createdAt} restored: ${c.tenants.join(', ')}; ${c.rows} rows`);
      } catch (e) {
        if (e instanceof ArchiveError) throw new CliError(`backup refused: ${e.message}`);
        throw e;
      }
    },
  },
};

const cliContext = (tenant: string, as = 'cli') => ({ ...systemContext(tenant, 'HOPERAT'), actor: { kind: 'system' as const, id: as, role: 'system' } });
/** The operator named by --as (recorded as the export's requester): `cli:NAME`, or `cli`. */
const operator = (v: string | boolean | undefined): string => {
  const name = optStr(v);
  if (name === undefined) return 'cli';
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) throw new CliError('--as must be 1-64 characters of A-Z a-z 0-9 . _ @ -');
  return `cli:${name}`;
};
const approvalHint = (id: string, tenant: string, as: string) =>
  `export ${id} is waiting for a second person's approval: an account with export:approve approves it through the API `
  + `(POST /exports/${id}/approve), then run cerbere export build ${id} --tenant ${tenant}${as === 'cli' ? '' : ` --as ${as.slice(4)}`} --out FILE`;
const wrapExportErrors = async (fn: () => Promise<void>) => {
  try { await fn(); } catch (e) {
    if (e instanceof ExportError || e instanceof ArchiveError) throw new CliError(e.message);
    const fe = e as { status?: number; issue?: { diagnostics?: string }[] };
    if (typeof fe.status === 'number' && fe.status < 500) throw new CliError(fe.issue?.[0]?.diagnostics ?? 'refused');
    throw e;
  }
};

const EXPORT_COMMANDS: CommandTable = {
  'export keygen': {
    usage: 'export keygen --out PREFIX              recipient key pair: PREFIX.key (X25519 private, 0600) and PREFIX.pub (give this to the exporter)',
    options: { out: { type: 'string' } },
    run: async (_svc, _pos, v, io) => {
      const prefix = filePath(v.out, '--out PREFIX');
      const k = generateRecipientKeys();
      if (existsSync(prefix + '.key') || existsSync(prefix + '.pub')) throw new CliError(`${prefix}.key or .pub already exists`);
      writePrivateFile(prefix + '.key', k.privatePem);
      writeFileSync(prefix + '.pub', k.publicPem, { mode: 0o644 });
      io.line(`recipient keys written: ${prefix}.key (keep it secret) and ${prefix}.pub`);
    },
  },
  export: {
    usage: 'export --tenant T --recipient PUB (--patients ID,ID|--all) --expires 7d [--as NAME] --out FILE\n'
      + '                                          export encrypted to the recipient; Cerbère keeps half of its key and destroys it at expiry;\n'
      + '                                          above CERBERE_EXPORT_APPROVAL_THRESHOLD patients it is only recorded, for approval through the API',
    options: { tenant: { type: 'string' }, recipient: { type: 'string' }, patients: { type: 'string' }, all: { type: 'boolean' }, expires: { type: 'string' }, out: { type: 'string' }, as: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = optStr(v.tenant);
      if (!tenant) throw new CliError('--tenant is required');
      if (!(await tenantExists(svc.database.db, tenant))) throw new CliError(`tenant ${tenant} does not exist`);
      const out = filePath(v.out, '--out FILE');
      if (existsSync(out)) throw new CliError(`${out} already exists`);
      const recipientFile = filePath(v.recipient, '--recipient PUBKEY_FILE');
      if (!!v.all === !!optStr(v.patients)) throw new CliError('give either --patients ID,ID,… or --all');
      const as = operator(v.as);
      await wrapExportErrors(async () => {
        let pem: string;
        try { pem = readFileSync(recipientFile, 'utf8'); } catch { throw new CliError(`cannot read ${recipientFile}`); }
        const ms = parseExpiry(optStr(v.expires) ?? '7d', svc.config.keys.exportMaxDays);
        const ctx = cliContext(tenant, as);
        // The same rule as the API: above the threshold a second, authenticated person approves.
        const req = await requestExport(svc, ctx, { all: !!v.all, patients: optStr(v.patients)?.split(','), recipientKeyPem: pem, expiresInMs: ms }, { requireApproval: true });
        if (req.status === 'pending') throw new CliError(`${req.patients} patients: ${approvalHint(req.id, tenant, as)}`);
        const r = await buildExport(svc, ctx, req.id, out);
        io.line(`export ${req.id}: ${r.patients} patient(s), ${r.resources} resources, written to ${out}; it can be opened until ${r.expiresAt.toISOString()}`);
      });
    },
  },
  'export build': {
    usage: 'export build ID --tenant T [--as NAME] --out FILE\n'
      + '                                          write the file of an approved export (by the operator who requested it)',
    options: { tenant: { type: 'string' }, out: { type: 'string' }, as: { type: 'string' } },
    run: async (svc, pos, v, io) => {
      if (pos.length !== 1) throw new CliError('usage: cerbere export build ID --tenant T [--as NAME] --out FILE');
      const tenant = optStr(v.tenant);
      if (!tenant) throw new CliError('--tenant is required');
      if (!(await tenantExists(svc.database.db, tenant))) throw new CliError(`tenant ${tenant} does not exist`);
      const out = filePath(v.out, '--out FILE');
      if (existsSync(out)) throw new CliError(`${out} already exists`);
      const as = operator(v.as);
      await wrapExportErrors(async () => {
        const r = await buildExport(svc, cliContext(tenant, as), pos[0], out);
        io.line(`export ${pos[0]}: ${r.patients} patient(s), ${r.resources} resources, written to ${out}; it can be opened until ${r.expiresAt.toISOString()}`);
      });
    },
  },
  'export open': {
    usage: 'export open FILE --key PRIVATE_KEY --out OUT\n                                          decrypt an export (asks Cerbère for its key share: refused once expired)',
    options: { key: { type: 'string' }, out: { type: 'string' } },
    run: async (svc, pos, v, io) => {
      if (pos.length !== 1) throw new CliError('usage: cerbere export open FILE --key PRIVATE_KEY --out OUT');
      const file = filePath(pos[0], 'FILE');
      const out = filePath(v.out, '--out OUT');
      if (existsSync(out)) throw new CliError(`${out} already exists`);
      const keyFile = filePath(v.key, '--key PRIVATE_KEY');
      await wrapExportErrors(async () => {
        let pem: string;
        try { pem = readFileSync(keyFile, 'utf8'); } catch { throw new CliError(`cannot read ${keyFile}`); }
        const h = exportFileHeader(file);
        if (!(await tenantExists(svc.database.db, h.tenant))) throw new CliError('this export was not made by this Cerbère');
        const share = await releaseExportShare(svc, cliContext(h.tenant), h.id);
        try {
          const { ndjson, manifest } = await openExport(file, pem, share);
          writePrivateFile(out, ndjson);
          ndjson.fill(0);
          io.line(`export ${h.id} opened: ${manifest.resources} resources of ${manifest.patients} patient(s) written to ${out} (mode 0600)`);
        } finally {
          share.fill(0);
        }
      });
    },
  },
  'export purge': {
    usage: 'export purge                            destroy the key shares of expired exports now (the server does it every minute)',
    options: {},
    run: async (svc, _pos, _v, io) => {
      io.line(`${await purgeExpiredExports(svc)} expired export key(s) destroyed`);
    },
  },
};

const DOCTOR_COMMANDS: CommandTable = {
  doctor: {
    usage: 'doctor [--skip-audit]                   check key files, key provider, TLS, demo credentials, database password, retention, npm audit',
    options: { 'skip-audit': { type: 'boolean' } },
    run: async (svc, _pos, v, io) => {
      const checks = await runDoctor(svc, v['skip-audit'] ? { audit: async () => ({ status: 'unknown', reason: 'skipped with --skip-audit' }) } : {});
      for (const ch of checks) io.line(formatCheck(ch));
      const failed = checks.filter((c) => c.status === 'fail').length;
      if (failed) throw new CliError(`${failed} check(s) failed: fix them before going live`);
      io.line('doctor: no failing check');
    },
  },
};

export const KEYS_COMMANDS: CommandTable = { ...KEK_COMMANDS, ...BACKUP_COMMANDS, ...EXPORT_COMMANDS, ...DOCTOR_COMMANDS };
