// `cerbere user …` and `cerbere client …` commands (accounts and OAuth clients). Registered by commands.ts.
import { readFileSync } from 'node:fs';
import type { CommandTable } from './command-types.ts';
import { CliError } from './io.ts';
import { tenantExists } from '../store/tenants.ts';
import { AccountError, staffRoles, ACCOUNT_ID } from '../auth/accounts.ts';
import { registerClient } from '../auth/clients.ts';
import { AuthError } from '../auth/errors.ts';
import { TOKEN_ROLES } from '../access/policy.ts';
import type { Actor } from '../core/context.ts';
import type { Services } from '../detect/services.ts';

const CLI_ACTOR: Actor = { kind: 'system', id: 'cli', role: 'system' };
const SITE = /^[a-z0-9][a-z0-9-]{0,39}$/;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

async function tenantArg(svc: Services, v: string | boolean | undefined): Promise<string> {
  if (typeof v !== 'string' || !v) throw new CliError('--tenant is required');
  if (!(await tenantExists(svc.database.db, v))) throw new CliError(`tenant ${v} does not exist`);
  return v;
}
function accountArg(pos: string[], usage: string): string {
  if (pos.length !== 1 || !ACCOUNT_ID.test(pos[0])) throw new CliError(`usage: ${usage} (ACCOUNT_ID as printed by user create)`);
  return pos[0];
}

export const USER_COMMANDS: CommandTable = {
  'user create': {
    usage: 'user create --tenant T --email E --role R [--site S[,S2]] [--practitioner ID] | --patient ID\n'
      + '                                          create a staff (or patient portal) account; prints its invitation link once',
    options: { tenant: { type: 'string' }, email: { type: 'string' }, role: { type: 'string' }, site: { type: 'string' }, practitioner: { type: 'string' }, patient: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantArg(svc, v.tenant);
      if (typeof v.email !== 'string' || !v.email) throw new CliError('--email is required');
      const patientId = typeof v.patient === 'string' ? v.patient : null;
      if (patientId !== null && !FHIR_ID.test(patientId)) throw new CliError('--patient must be a Patient id');
      const role = patientId ? 'patient' : typeof v.role === 'string' ? v.role : '';
      if (!patientId && !staffRoles().includes(role)) throw new CliError(`--role must be one of ${staffRoles().join(', ')}`);
      const sites = typeof v.site === 'string' ? v.site.split(',').map((s) => s.trim()).filter(Boolean) : [];
      if (sites.some((s) => !SITE.test(s))) throw new CliError('--site must be site ids (a-z, 0-9, -) separated by commas');
      if (sites.length) {
        const known = await svc.database.db.selectFrom('sites').select('site_id').where('tenant_id', '=', tenant).where('site_id', 'in', sites).execute();
        const missing = sites.filter((s) => !known.some((k) => k.site_id === s));
        if (missing.length) throw new CliError(`unknown site(s) in tenant ${tenant}: ${missing.join(', ')}`);
      }
      const practitioner = typeof v.practitioner === 'string' ? v.practitioner : null;
      if (practitioner !== null && !FHIR_ID.test(practitioner)) throw new CliError('--practitioner must be a Practitioner id');
      let r;
      try {
        r = await svc.auth.createAccount(tenant, { kind: patientId ? 'patient' : 'staff', email: v.email, role, siteIds: sites, practitionerId: practitioner, patientId }, CLI_ACTOR);
      } catch (e) {
        if (e instanceof AccountError) throw new CliError(e.message);
        throw e;
      }
      io.line(`account ${r.accountId} created in tenant ${tenant} (role ${role})${r.mailed ? '; invitation e-mailed' : ''}`);
      io.line('invitation (valid 7 days, single use; shown once): open the link, or POST the token to /auth/invitation/accept:');
      io.line(r.link);
      io.line(r.invitation);
    },
  },
  'user disable': {
    usage: 'user disable --tenant T ACCOUNT_ID      disable an account and end its sessions',
    options: { tenant: { type: 'string' } },
    run: async (svc, pos, v, io) => {
      const tenant = await tenantArg(svc, v.tenant);
      const id = accountArg(pos, 'cerbere user disable --tenant T ACCOUNT_ID');
      if (!(await svc.auth.disableAccount(tenant, id, CLI_ACTOR))) throw new CliError(`no account ${id} in tenant ${tenant}`);
      io.line(`account ${id} disabled; its sessions are revoked`);
    },
  },
  'user reset-mfa': {
    usage: 'user reset-mfa --tenant T ACCOUNT_ID    remove TOTP, recovery codes and passkeys; prints a new enrolment ticket',
    options: { tenant: { type: 'string' } },
    run: async (svc, pos, v, io) => {
      const tenant = await tenantArg(svc, v.tenant);
      const id = accountArg(pos, 'cerbere user reset-mfa --tenant T ACCOUNT_ID');
      const r = await svc.auth.resetMfa(tenant, id, CLI_ACTOR);
      if (!r) throw new CliError(`no account ${id} in tenant ${tenant}`);
      io.line(`second factors of account ${id} removed; sessions revoked${r.mailed ? '; enrolment link e-mailed' : ''}.`);
      io.line('enrolment ticket (valid 24 h, single use; shown once): POST it as "ticket" to /auth/mfa/totp/enrol:');
      io.line(`${svc.config.auth.publicUrl}/auth/enrol#${r.enrolTicket}`);
      io.line(r.enrolTicket);
    },
  },
  'user list': {
    usage: 'user list --tenant T                    list accounts (internal ids, role, status; no e-mail)',
    options: { tenant: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantArg(svc, v.tenant);
      const rows = await svc.database.db.selectFrom('accounts').select(['account_id', 'kind', 'role', 'status', 'site_ids', 'totp_confirmed']).where('tenant_id', '=', tenant).orderBy('created_at').execute();
      for (const r of rows) io.line(`${r.account_id}\t${r.kind}\t${r.role}\t${r.status}\t${r.site_ids.join(',') || '-'}\t${r.totp_confirmed ? 'totp' : 'no-mfa'}`);
    },
  },
  'client create': {
    usage: 'client create --tenant T --jwk FILE [--role R] [--label L]\n'
      + '                                          register an OAuth client (private_key_jwt) with its public JWK; prints its client_id',
    options: { tenant: { type: 'string' }, jwk: { type: 'string' }, role: { type: 'string' }, label: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantArg(svc, v.tenant);
      if (typeof v.jwk !== 'string') throw new CliError('--jwk FILE (the client\'s public JSON Web Key) is required');
      const role = typeof v.role === 'string' ? v.role : 'service';
      if (!(TOKEN_ROLES as readonly string[]).includes(role)) throw new CliError(`--role must be one of ${TOKEN_ROLES.join(', ')}`);
      let text: string;
      try { text = readFileSync(v.jwk, 'utf8'); } catch { throw new CliError(`cannot read ${v.jwk}`); }
      try {
        const id = await registerClient(svc.database.db, tenant, role, typeof v.label === 'string' ? v.label.slice(0, 100) : 'cli', text);
        io.line(`client registered with role ${role}; token endpoint ${svc.config.auth.publicUrl}/auth/token; client_id:`);
        io.line(id);
      } catch (e) {
        if (e instanceof AuthError) throw new CliError(e.message);
        throw e;
      }
    },
  },
};
