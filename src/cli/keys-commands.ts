// `cerbere keys …`, `backup`, `restore`, `export …`, `doctor` commands (key lifecycle). Registered by commands.ts.
import type { CommandTable } from './command-types.ts';
import { CliError } from './io.ts';
import { tenantExists } from '../store/tenants.ts';
import { rotateKek } from '../vault/kek-rotation.ts';

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
