// `cerbere alerts …`, `cerbere credential …` and `cerbere budget …`: the Watch head from the command line
// (the operator, the DPO). Registered by commands.ts. Output holds internal ids and counts only.
import type { CommandTable } from './command-types.ts';
import { CliError } from './io.ts';
import { tenantOf } from './tenant-arg.ts';
import type { AccessContext } from '../core/context.ts';
import type { StoredAlert } from '../detect/alert-store.ts';
import { BudgetError } from '../access/release-budget.ts';

const STATES = ['open', 'acknowledged', 'closed', 'all'];
const KINDS = ['token', 'client', 'user', 'patient'] as const;

/** The operator at the command line, named by --by (default "cli"). */
const operator = (tenant: string, v: Record<string, unknown>): AccessContext => ({
  tenantId: tenant, actor: { kind: 'system', id: `cli:${typeof v.by === 'string' ? v.by.replace(/[^\w.@-]/g, '').slice(0, 60) || 'cli' : 'cli'}`, role: 'admin' }, purpose: 'HSYSADMIN',
});

/** --token ID, --client ID, --user ID or --patient-account ID: exactly one. */
function principalArg(v: Record<string, string | boolean | undefined>): { kind: string; id: string } {
  const given = KINDS.map((k) => [k, v[k === 'patient' ? 'patient-account' : k]] as const).filter(([, x]) => typeof x === 'string' && x);
  if (given.length !== 1) throw new CliError('name exactly one credential: --token ID, --client ID, --user ID or --patient-account ID');
  const [kind, id] = given[0];
  if (!/^[A-Za-z0-9._:@-]{1,100}$/.test(String(id))) throw new CliError('that credential id is not valid');
  return { kind, id: String(id) };
}

const PRINCIPAL_OPTIONS = { token: { type: 'string' }, client: { type: 'string' }, user: { type: 'string' }, 'patient-account': { type: 'string' } } as const;

export function alertJson(a: StoredAlert): Record<string, unknown> {
  return { id: a.id, kind: a.kind, severity: a.severity, state: a.state, actor: a.actor, tokenId: a.tokenId, firstAt: a.firstAt, lastAt: a.lastAt, patients: a.patients, summary: a.summary, host: a.tenantId === null };
}

function reasonOf(v: Record<string, unknown>): string {
  const r = typeof v.reason === 'string' ? v.reason.trim() : '';
  if (r.length < 10 || r.length > 500) throw new CliError('--reason of 10 to 500 characters is required');
  return r;
}

export const WATCH_COMMANDS: CommandTable = {
  'canary add': {
    usage: 'canary add --tenant T [--count N] [--domain D]   add N (default 5) canary patients: any access to one is a critical alert',
    options: { tenant: { type: 'string' }, count: { type: 'string' }, domain: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      const count = v.count === undefined ? 5 : typeof v.count === 'string' && /^\d{1,3}$/.test(v.count) && Number(v.count) >= 1 && Number(v.count) <= 100 ? Number(v.count) : NaN;
      if (!Number.isFinite(count)) throw new CliError('--count must be a whole number from 1 to 100');
      const domain = typeof v.domain === 'string' ? v.domain.toLowerCase() : svc.config.canaryDomain;
      if (!/^[a-z0-9.-]{3,100}$/.test(domain)) throw new CliError('--domain must be a domain name');
      const ids = await svc.watch.canaries.add(svc.repo, { tenantId: tenant, actor: { kind: 'system', id: 'canary', role: 'system' }, purpose: 'HSYSADMIN' }, count, domain);
      io.line(`added ${ids.length} canary patient(s) to tenant ${tenant} (e-mail domain ${domain}); list them with: cerbere canary list --tenant ${tenant}`);
    },
  },
  'canary list': {
    usage: 'canary list --tenant T [--json]                  the tenant\'s canary patients (DPO only: never shown over the API)',
    options: { tenant: { type: 'string' }, json: { type: 'boolean' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      const rows = await svc.watch.canaries.list(tenant);
      await svc.audit.record({ tenantId: tenant, actor: { kind: 'system', id: 'cli', role: 'dpo' }, purpose: 'HOPERAT' }, { action: 'canary.list', outcome: 'success', resourceRefs: [], patientIds: [], detail: `canaries=${rows.length}` });
      if (v.json === true) { for (const r of rows) io.line(JSON.stringify({ patientId: r.patientId, createdAt: r.createdAt.toISOString() })); return; }
      io.line(`${rows.length} canary patient(s) in tenant ${tenant}`);
      for (const r of rows) io.line(`Patient/${r.patientId}\tadded ${r.createdAt.toISOString()}`);
    },
  },
  'alerts list': {
    usage: 'alerts list --tenant T [--state open|acknowledged|closed|all] [--json]   alerts of the tenant and of the host, newest first',
    options: { tenant: { type: 'string' }, state: { type: 'string' }, json: { type: 'boolean' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      const state = typeof v.state === 'string' ? v.state : 'all';
      if (!STATES.includes(state)) throw new CliError(`--state must be one of ${STATES.join(', ')}`);
      const alerts = await svc.watch.alerts.list(tenant, { state: state as 'all' });
      if (v.json === true) { for (const a of alerts) io.line(JSON.stringify(alertJson(a))); return; }
      io.line(`${alerts.length} alert(s) in tenant ${tenant}${state === 'all' ? '' : ` (${state})`}`);
      for (const a of alerts) {
        io.line(`${a.id}\t${a.severity.toUpperCase()}\t${a.state}\t${a.kind}\t${a.actor ? `${a.actor.kind}:${a.actor.id}` : 'host'}\t${a.patients} patients\t${a.firstAt} → ${a.lastAt}\t${a.summary}`);
      }
    },
  },
  ...Object.fromEntries((['ack', 'close'] as const).map((verb) => [`alerts ${verb}`, {
    usage: `alerts ${verb} --tenant T ID [--note TEXT] [--by NAME]   ${verb === 'ack' ? 'acknowledge' : 'close'} an alert`,
    options: { tenant: { type: 'string' }, note: { type: 'string' }, by: { type: 'string' } },
    run: async (svc, pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      if (pos.length !== 1) throw new CliError(`usage: cerbere alerts ${verb} --tenant T ID`);
      const a = await svc.watch.setAlertState(operator(tenant, v), pos[0], verb === 'ack' ? 'acknowledged' : 'closed', typeof v.note === 'string' ? v.note : null);
      if (!a) throw new CliError(`no alert ${pos[0].slice(0, 64)} in tenant ${tenant}`);
      io.line(`alert ${a.id} is ${a.state}`);
    },
  }])),
  'credential list': {
    usage: 'credential list --tenant T [--all] [--json]     suspended credentials (--all: restored ones too)',
    options: { tenant: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      const rows = await svc.watch.suspensions.list(tenant, { all: v.all === true });
      if (v.json === true) { for (const r of rows) io.line(JSON.stringify(r)); return; }
      io.line(`${rows.length} ${v.all === true ? '' : 'suspended '}credential(s) in tenant ${tenant}`);
      for (const r of rows) io.line(`${r.kind}:${r.id}\tsuspended ${r.suspendedAt.toISOString()} by ${r.by}\t${r.restoredAt ? `restored ${r.restoredAt.toISOString()} by ${r.restoredBy}` : 'SUSPENDED'}\treason: ${JSON.stringify(r.reason)}`);
    },
  },
  'credential suspend': {
    usage: 'credential suspend --tenant T (--token|--client|--user|--patient-account) ID --reason TEXT',
    options: { tenant: { type: 'string' }, reason: { type: 'string' }, by: { type: 'string' }, ...PRINCIPAL_OPTIONS },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      const p = principalArg(v);
      const ok = await svc.watch.contain(tenant, p, reasonOf(v), null, operator(tenant, v));
      io.line(ok ? `${p.kind} ${p.id} suspended` : `${p.kind} ${p.id} was already suspended`);
    },
  },
  'credential restore': {
    usage: 'credential restore --tenant T (--token|--client|--user|--patient-account) ID --reason TEXT   (administrator) lift a suspension; the release budget starts again',
    options: { tenant: { type: 'string' }, reason: { type: 'string' }, by: { type: 'string' }, ...PRINCIPAL_OPTIONS },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      const p = principalArg(v);
      if (!(await svc.watch.restore(operator(tenant, v), p, reasonOf(v)))) throw new CliError(`${p.kind} ${p.id} is not suspended`);
      io.line(`${p.kind} ${p.id} restored`);
    },
  },
  'budget set': {
    usage: 'budget set --tenant T (--token|--client|--user|--patient-account) ID --limit N --reason TEXT [--by NAME]   raise a release budget (above the approval threshold a second administrator approves)',
    options: { tenant: { type: 'string' }, limit: { type: 'string' }, reason: { type: 'string' }, by: { type: 'string' }, ...PRINCIPAL_OPTIONS },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      const p = principalArg(v);
      const limit = typeof v.limit === 'string' && /^\d{1,9}$/.test(v.limit) ? Number(v.limit) : NaN;
      const by = operator(tenant, v);
      try {
        const status = await svc.watch.budgets.setLimit(tenant, p.kind, p.id, limit, reasonOf(v), by.actor.id);
        await svc.audit.record(by, { action: 'budget.set', outcome: 'success', resourceRefs: [], patientIds: [], detail: `principal=${p.kind}:${p.id};limit=${limit};status=${status}` });
        io.line(status === 'active' ? `release budget of ${p.kind} ${p.id}: ${limit} patients per ${svc.watch.budgets.config.windowHours} h`
          : `release budget of ${p.kind} ${p.id}: ${limit} patients awaits a second administrator: cerbere budget approve --tenant ${tenant} --${p.kind === 'patient' ? 'patient-account' : p.kind} ${p.id} --by NAME`);
      } catch (e) {
        if (e instanceof BudgetError) throw new CliError(e.message);
        throw e;
      }
    },
  },
  'budget approve': {
    usage: 'budget approve --tenant T (--token|--client|--user|--patient-account) ID --by NAME   second administrator approves a raised budget',
    options: { tenant: { type: 'string' }, by: { type: 'string' }, ...PRINCIPAL_OPTIONS },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      const p = principalArg(v);
      if (typeof v.by !== 'string') throw new CliError('--by NAME is required: the approving administrator');
      const by = operator(tenant, v);
      try {
        const limit = await svc.watch.budgets.approve(tenant, p.kind, p.id, by.actor.id);
        await svc.audit.record(by, { action: 'budget.approve', outcome: 'success', resourceRefs: [], patientIds: [], detail: `principal=${p.kind}:${p.id};limit=${limit}` });
        io.line(`release budget of ${p.kind} ${p.id}: ${limit} patients (approved)`);
      } catch (e) {
        if (e instanceof BudgetError) throw new CliError(e.message);
        throw e;
      }
    },
  },
  'budget show': {
    usage: 'budget show --tenant T [(--token|--client|--user|--patient-account) ID]   raised budgets, or one credential\'s use of its budget',
    options: { tenant: { type: 'string' }, ...PRINCIPAL_OPTIONS },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      if (KINDS.some((k) => typeof v[k === 'patient' ? 'patient-account' : k] === 'string')) {
        const p = principalArg(v);
        const u = await svc.watch.budgets.usage(tenant, p.kind, p.id);
        io.line(`${p.kind} ${p.id}: ${u.used} of ${u.limit} patients without a care relationship in the last ${svc.watch.budgets.config.windowHours} h`);
        return;
      }
      const rows = await svc.watch.budgets.list(tenant);
      io.line(`default: ${svc.watch.budgets.config.patients} patients per ${svc.watch.budgets.config.windowHours} h; raised budgets above ${svc.watch.budgets.config.approvalAbove} need a second administrator`);
      for (const r of rows) io.line(`${r.principal_kind}:${r.principal_id}\t${r.patient_limit}\t${r.status}\tset by ${r.set_by}${r.approved_by ? `, approved by ${r.approved_by}` : ''}\treason: ${JSON.stringify(r.reason)}`);
    },
  },
};
