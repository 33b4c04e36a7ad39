// `cerbere audit …` commands (access log). Registered by commands.ts.
import type { CommandTable } from './command-types.ts';
import { CliError } from './io.ts';
import { listTenants, tenantExists } from '../store/tenants.ts';
import { verifyTenantLog } from '../audit/verify.ts';

export const AUDIT_COMMANDS: CommandTable = {
  'audit public-key': {
    usage: 'audit public-key --tenant T              print the verifier key of the tenant\'s access log (last line)',
    options: { tenant: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = typeof v.tenant === 'string' ? v.tenant : '';
      if (!tenant) throw new CliError('--tenant is required');
      if (!(await tenantExists(svc.database.db, tenant))) throw new CliError(`tenant ${tenant} does not exist`);
      const signer = await svc.log.signers.get(tenant);
      io.line(`verifier key of the access log ${signer.name} (C2SP signed-note, Ed25519):`);
      io.line(signer.verifierKey);
    },
  },
  'audit verify': {
    usage: 'audit verify [--tenant T]               recompute the access log from the stored events and check every checkpoint',
    options: { tenant: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const db = svc.database.db;
      let tenants: string[];
      if (typeof v.tenant === 'string') {
        if (!(await tenantExists(db, v.tenant))) throw new CliError(`tenant ${v.tenant} does not exist`);
        tenants = [v.tenant];
      } else {
        tenants = (await listTenants(db)).map((t) => t.tenant_id);
      }
      const t0 = Date.now();
      let events = 0;
      let checkpoints = 0;
      for (const tenant of tenants) {
        const r = await verifyTenantLog(db, svc.log, tenant, { onProgress: (d, total) => { if (total > 200_000) io.progress(d, total, `verifying ${tenant}`); } });
        if (r.problem) throw new CliError(`access log of tenant ${tenant} FAILED verification: ${r.problem.message}`);
        events += r.size;
        checkpoints += r.checkpoints;
      }
      io.line(`access log verified: ${tenants.length} tenant(s), ${events} events, ${checkpoints} checkpoints, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    },
  },
};
