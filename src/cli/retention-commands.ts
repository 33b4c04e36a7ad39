// `cerbere retention …` commands (retention rules and purges). Registered by commands.ts.
import type { CommandTable } from './command-types.ts';
import { CliError } from './io.ts';
import { tenantOf } from './tenant-arg.ts';
import { purgeTenant, retentionRules, RetentionError, setRetention } from '../ops/retention.ts';

export const RETENTION_COMMANDS: CommandTable = {
  'retention set': {
    usage: 'retention set --tenant T --type TYPE --years N|none\n' +
      '                                          keep TYPE N years after the patient\'s last activity (Patient = the whole record)',
    options: { tenant: { type: 'string' }, type: { type: 'string' }, years: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      if (typeof v.type !== 'string' || typeof v.years !== 'string') throw new CliError('usage: cerbere retention set --tenant T --type TYPE --years N|none');
      const years = v.years === 'none' ? null : Number(v.years);
      try { await setRetention(svc, tenant, v.type, years); } catch (e) {
        if (e instanceof RetentionError) throw new CliError(e.message);
        throw e;
      }
      io.line(years === null ? `retention rule for ${v.type} removed` : `${v.type} of tenant ${tenant} kept ${years} years after the last activity`);
    },
  },
  'retention show': {
    usage: 'retention show --tenant T               list the tenant\'s retention rules',
    options: { tenant: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      const rules = await retentionRules(svc, tenant);
      if (!rules.length) io.line(`no retention rule for tenant ${tenant}: nothing is ever purged`);
      for (const r of rules) io.line(`${r.resource_type}\t${r.keep_years} years`);
    },
  },
  'retention purge': {
    usage: 'retention purge --tenant T [--dry-run]  apply the rules now (crypto-shredding), or count what they would remove',
    options: { tenant: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      const r = await purgeTenant(svc, tenant, { dryRun: !!v['dry-run'] });
      const rows = Object.entries(r.rowsPurged).map(([t, n]) => `${n} ${t}`).join(', ') || 'no other rows';
      io.line(`${r.dryRun ? 'would erase' : 'erased'} ${r.patientsErased} patients and ${r.dryRun ? 'would remove' : 'removed'} ${rows}`);
    },
  },
};
