// `cerbere audit …` commands (access log). Registered by commands.ts.
import type { CommandTable } from './command-types.ts';
import { CliError } from './io.ts';
import { tenantOf } from './tenant-arg.ts';
import { listTenants, tenantExists } from '../store/tenants.ts';
import { verifyTenantLog } from '../audit/log/verify.ts';
import { pruneAccessLog, PruneError } from '../ops/prune.ts';
import { oversizedEntries } from '../audit/record/entry.ts';
import { checkReceipt, receiptTenant, verifierFromArg, VERIFY_RECEIPT_OPTIONS, VERIFY_RECEIPT_USAGE } from './receipt-cli.ts';
import { readFileSync } from 'node:fs';

export const AUDIT_COMMANDS: CommandTable = {
  'audit public-key': {
    usage: 'audit public-key --tenant T              print the verifier key of the tenant\'s access log (last line)',
    options: { tenant: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
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
        const big = await oversizedEntries(db, tenant);
        if (big.length) io.line(`tenant ${tenant}: ${big.length} entries over 65,535 bytes (leaves ${big.slice(0, 5).join(', ')}${big.length > 5 ? ', …' : ''}), written before events were split; entry bundles carry a stand-in for each and GET /log/${tenant}/entry/N serves it whole (docs/access-log.md)`);
      }
      io.line(`access log verified: ${tenants.length} tenant(s), ${events} events, ${checkpoints} checkpoints, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    },
  },
  'audit verify-receipt': {
    // The CLI runs this one in its own process (receipt-cli.ts); this entry serves runCommand callers.
    usage: VERIFY_RECEIPT_USAGE,
    options: VERIFY_RECEIPT_OPTIONS,
    run: async (svc, pos, v, io) => {
      if (pos.length !== 1) throw new CliError('usage: cerbere audit verify-receipt FILE [--key VERIFIER_KEY]');
      let text: string;
      try { text = readFileSync(pos[0], 'utf8'); } catch { throw new CliError(`cannot read receipt ${pos[0]}`); }
      if (typeof v.key === 'string') return checkReceipt(text, verifierFromArg(v.key), 'given with --key', io);
      const tenant = receiptTenant(text);
      if (!(await tenantExists(svc.database.db, tenant))) throw new CliError(`receipt REJECTED: tenant ${tenant} does not exist here; pass --key`);
      checkReceipt(text, verifierFromArg((await svc.log.signers.get(tenant)).verifierKey), `tenant ${tenant}'s key from this server's database`, io);
    },
  },
  'audit prune': {
    usage: 'audit prune --tenant T [--before DATE]   delete access events older than the retention period (CERBERE_AUDIT_RETENTION_DAYS), keeping the log verifiable',
    options: { tenant: { type: 'string' }, before: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      let before: Date;
      if (typeof v.before === 'string') {
        if (!/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v.before) || Number.isNaN(Date.parse(v.before))) throw new CliError('--before must be an ISO date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)');
        before = new Date(v.before);
      } else {
        before = new Date(Date.now() - svc.config.auditRetentionDays * 86_400_000);
      }
      let r;
      try { r = await pruneAccessLog(svc, tenant, before); } catch (e) {
        if (e instanceof PruneError) throw new CliError(`access log of tenant ${tenant} not pruned: ${e.message}`);
        throw e;
      }
      if (!r.deleted) {
        io.line(`nothing to prune in tenant ${tenant} before ${before.toISOString()} (log pruned below leaf ${r.boundary})`);
        return;
      }
      io.line(`pruned ${r.deleted} access events of tenant ${tenant} recorded before ${before.toISOString()}: leaves ${r.previous}..${r.boundary - 1}, covered by signed checkpoint ${r.checkpointSize}; the log still verifies from leaf ${r.boundary}`);
    },
  },
};
