// `cerbere patient …` commands (GDPR erasure by crypto-shredding). Registered by commands.ts.
import type { CommandTable } from './command-types.ts';
import { CliError } from './io.ts';
import { tenantExists } from '../store/tenants.ts';
import { systemContext } from '../core/context.ts';
import { erasePatient, ERASE_REASONS, type EraseReason } from '../ops/erasure.ts';
import { FhirError } from '../fhir/outcome.ts';

export const PATIENT_COMMANDS: CommandTable = {
  'patient erase': {
    usage: `patient erase --tenant T ID [--reason ${ERASE_REASONS.join('|')}]\n` +
      '                                          destroy the patient\'s key: every copy of their data (rows, history, backups) becomes unreadable',
    options: { tenant: { type: 'string' }, reason: { type: 'string' } },
    run: async (svc, pos, v, io) => {
      const tenant = typeof v.tenant === 'string' ? v.tenant : '';
      if (!tenant || pos.length !== 1) throw new CliError('usage: cerbere patient erase --tenant T ID [--reason R]');
      if (!(await tenantExists(svc.database.db, tenant))) throw new CliError(`tenant ${tenant} does not exist`);
      const reason = (typeof v.reason === 'string' ? v.reason : 'gdpr-art17') as EraseReason;
      if (!ERASE_REASONS.includes(reason)) throw new CliError(`--reason must be one of ${ERASE_REASONS.join(', ')}`);
      let r;
      try {
        r = await erasePatient(svc, systemContext(tenant, 'erasure'), pos[0], reason);
      } catch (e) {
        if (e instanceof FhirError && e.status < 500) throw new CliError(`cannot erase: ${e.message}`);
        throw e;
      }
      if (!r) throw new CliError(`no patient ${pos[0].slice(0, 64)} in tenant ${tenant}`);
      io.line(`patient ${pos[0]} erased: key ${r.keyNo ?? '(none)'} destroyed, ${r.resources} resources and ${r.history} history versions removed`);
    },
  },
};
