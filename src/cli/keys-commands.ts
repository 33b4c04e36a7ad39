// `cerbere keys …`, `backup`, `restore`, `export …`, `doctor` commands (key lifecycle). Registered by commands.ts.
import type { CommandTable } from './command-types.ts';
import { CliError } from './io.ts';
import { tenantExists } from '../store/tenants.ts';
import { rotateKek } from '../vault/kek-rotation.ts';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeBackup, checkBackup, restoreBackup } from '../store/backup.ts';
import { ArchiveError } from '../vault/archive.ts';

const optStr = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' && v ? v : undefined);

export const KEYS_COMMANDS: CommandTable = {
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

const isAbs = (p: string) => p.startsWith('/');
function filePath(v: string | boolean | undefined, what: string): string {
  const p = optStr(v);
  if (!p) throw new CliError(`${what} is required`);
  // With a running server the command runs inside it: a relative path would be the server's.
  if (!isAbs(p)) return resolve(p);
  return p;
}

Object.assign(KEYS_COMMANDS, {
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
} satisfies CommandTable);
