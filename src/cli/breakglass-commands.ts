// `cerbere breakglass …` commands: the DPO's review of emergency accesses. Registered by commands.ts.
import type { CommandTable } from './command-types.ts';
import { CliError } from './io.ts';
import { tenantOf } from './tenant-arg.ts';
import { listBreakGlass, reviewBreakGlass } from '../access/break-glass.ts';
import { systemContext } from '../core/context.ts';

export const BREAKGLASS_COMMANDS: CommandTable = {
  'access reindex': {
    usage: 'access reindex --tenant T                recompute compartment tokens and care relationships of data stored before migration 7',
    options: { tenant: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      const n = await svc.repo.reindexAccess(systemContext(tenant, 'HSYSADMIN'));
      io.line(`re-indexed ${n} resources of tenant ${tenant}`);
    },
  },
  'breakglass list': {
    usage: 'breakglass list --tenant T [--all]      break-glass accesses awaiting review (--all: reviewed ones too), newest first',
    options: { tenant: { type: 'string' }, all: { type: 'boolean' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      const keys = await svc.keyring.keys(tenant);
      const rows = await listBreakGlass(svc.database.db, keys, tenant, { pendingOnly: v.all !== true, limit: 1000 });
      // Reading the reasons is itself an access worth recording (they may name circumstances of care).
      await svc.audit.record(systemContext(tenant, 'HOPERAT'), { action: 'break-glass-review', outcome: 'success', resourceRefs: [], patientIds: [...new Set(rows.map((r) => r.patientId))], detail: `listed=${rows.length}` });
      io.line(`${rows.length} break-glass access(es)${v.all === true ? '' : ' awaiting review'} in tenant ${tenant}`);
      for (const r of rows) {
        const state = r.reviewedAt ? `reviewed ${r.reviewedAt.toISOString()} by ${r.reviewedBy}` : r.expiresAt > new Date() ? 'ACTIVE' : 'expired, not reviewed';
        io.line(`${r.id}\t${r.createdAt.toISOString()}\tuntil ${r.expiresAt.toISOString()}\t${r.actorKind}:${r.actorId} (${r.role})\tPatient/${r.patientId}\t${state}\treason: ${JSON.stringify(r.reason)}`);
      }
    },
  },
  'breakglass review': {
    usage: 'breakglass review --tenant T ID [--by NAME]  mark a break-glass access as reviewed',
    options: { tenant: { type: 'string' }, by: { type: 'string' } },
    run: async (svc, pos, v, io) => {
      if (pos.length !== 1 || typeof v.tenant !== 'string') throw new CliError('usage: cerbere breakglass review --tenant T ID [--by NAME]');
      const by = typeof v.by === 'string' ? v.by.slice(0, 100) : 'cli';
      if (!(await reviewBreakGlass(svc.database.db, v.tenant, pos[0], by))) throw new CliError(`no break-glass access ${pos[0].slice(0, 64)} awaiting review in tenant ${v.tenant}`);
      await svc.audit.record(systemContext(v.tenant, 'HOPERAT'), { action: 'break-glass-review', outcome: 'success', resourceRefs: [], patientIds: [], detail: `reviewed=${pos[0]}` });
      io.line(`break-glass access ${pos[0]} marked as reviewed`);
    },
  },
};
