// The CLI's commands, runnable locally or inside the server through the admin socket.
import { parseArgs } from 'node:util';
import type { Services } from '../detect/services.ts';
import { createTenant, listTenants, tenantExists, TenantError } from '../store/tenants.ts';
import { createApiToken, revokeApiToken } from '../auth/api-tokens.ts';
import { TOKEN_ROLES } from '../access/policy.ts';
import { seedTenant } from '../seed/seed.ts';
import { CliError, type Io } from './io.ts';
import { FhirError } from '../fhir/outcome.ts';
import type { CommandTable } from './command-types.ts';
import { AUDIT_COMMANDS } from './audit-commands.ts';
import { KEYS_COMMANDS } from './keys-commands.ts';
import { INCIDENT_COMMANDS } from './incident-commands.ts';
import { USER_COMMANDS } from './user-commands.ts';
import { BREAKGLASS_COMMANDS } from './breakglass-commands.ts';
import { ROTATION_COMMANDS } from './rotation-commands.ts';
import { PATIENT_COMMANDS } from './patient-commands.ts';
import { RETENTION_COMMANDS } from './retention-commands.ts';
import { WATCH_COMMANDS } from './watch-commands.ts';
import { SENTINEL_COMMANDS } from './sentinel-commands.ts';

export const USAGE = `Usage: cerbere <command> [options]

Commands:
  start                                   run the server (same as npm start)
  tenant create ID --name NAME            add a tenant (a data controller: lab company, clinic)
  tenant list                             list tenants
  token create --tenant T [--role R] [--label L]
                                          print a new API token on the last line (roles: ${TOKEN_ROLES.join(', ')})
  token revoke --tenant T TOKEN_ID        revoke an API token
  seed --tenant T --patients N [--seed S] [--results K]
                                          add N synthetic French patients (K lab orders each, default 1)

${[...Object.entries(AUDIT_COMMANDS), ...Object.entries(KEYS_COMMANDS), ...Object.entries(INCIDENT_COMMANDS), ...Object.entries(USER_COMMANDS), ...Object.entries(BREAKGLASS_COMMANDS), ...Object.entries(ROTATION_COMMANDS), ...Object.entries(PATIENT_COMMANDS), ...Object.entries(RETENTION_COMMANDS), ...Object.entries(WATCH_COMMANDS), ...Object.entries(SENTINEL_COMMANDS)].map(([k, c]) => `  ${c.usage ?? k}`).join('\n')}

Environment: CERBERE_DATA_DIR (default ./data), DATABASE_URL, CERBERE_KEY_FILE (see README).`;


const str = (v: string | boolean | undefined, name: string): string => {
  if (typeof v !== 'string' || !v) throw new CliError(`--${name} is required`);
  return v;
};
const posInt = (v: string | boolean | undefined, name: string, dflt: number, max: number): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new CliError(`--${name} must be an integer between 0 and ${max}`);
  return n;
};

async function requireTenant(svc: Services, id: string): Promise<void> {
  if (!(await tenantExists(svc.database.db, id))) throw new CliError(`tenant ${id} does not exist (create it with: cerbere tenant create ${id} --name NAME)`);
}

const BASE_COMMANDS: CommandTable = {
  'tenant create': {
    options: { name: { type: 'string' } },
    run: async (svc, pos, v, io) => {
      if (pos.length !== 1) throw new CliError('usage: cerbere tenant create ID --name NAME');
      const r = await createTenant(svc.database.db, svc.keyring, pos[0], str(v.name, 'name'));
      io.line(r.created ? `tenant ${pos[0]} created` : `tenant ${pos[0]} already exists`);
    },
  },
  'tenant list': {
    options: {},
    run: async (svc, _pos, _v, io) => {
      for (const t of await listTenants(svc.database.db)) io.line(`${t.tenant_id}\t${t.name}`);
    },
  },
  'token create': {
    options: { tenant: { type: 'string' }, role: { type: 'string' }, label: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = str(v.tenant, 'tenant');
      const role = typeof v.role === 'string' ? v.role : 'service';
      if (!(TOKEN_ROLES as readonly string[]).includes(role)) throw new CliError(`--role must be one of ${TOKEN_ROLES.join(', ')}`);
      await requireTenant(svc, tenant);
      const label = typeof v.label === 'string' ? v.label.slice(0, 100) : 'cli';
      const t = await createApiToken(svc.database.db, tenant, role, label);
      io.line(`token ${t.tokenId} created for tenant ${tenant} with role ${role}; it is shown once, store it now:`);
      io.line(t.token);
    },
  },
  'token revoke': {
    options: { tenant: { type: 'string' } },
    run: async (svc, pos, v, io) => {
      if (pos.length !== 1) throw new CliError('usage: cerbere token revoke --tenant T TOKEN_ID');
      const ok = await revokeApiToken(svc.database.db, str(v.tenant, 'tenant'), pos[0]);
      if (!ok) throw new CliError(`no active token ${pos[0]} in tenant ${v.tenant}`);
      svc.tokens.forget();
      io.line(`token ${pos[0]} revoked`);
    },
  },
  seed: {
    options: { tenant: { type: 'string' }, patients: { type: 'string' }, seed: { type: 'string' }, results: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = str(v.tenant, 'tenant');
      await requireTenant(svc, tenant);
      const patients = posInt(v.patients, 'patients', 100, 5_000_000);
      const r = await seedTenant(svc, tenant, { patients, seed: posInt(v.seed, 'seed', Date.now() % 1_000_000, 2 ** 31), ordersPerPatient: posInt(v.results, 'results', 1, 20) }, io);
      io.line(`seeded ${r.patients} patients and ${r.resources} resources in tenant ${tenant} (${(r.ms / 1000).toFixed(1)} s)`);
    },
  },
};

const COMMANDS: CommandTable = { ...BASE_COMMANDS, ...AUDIT_COMMANDS, ...KEYS_COMMANDS, ...INCIDENT_COMMANDS, ...USER_COMMANDS, ...BREAKGLASS_COMMANDS, ...ROTATION_COMMANDS, ...PATIENT_COMMANDS, ...RETENTION_COMMANDS, ...WATCH_COMMANDS, ...SENTINEL_COMMANDS };

/** Finds the command in argv; returns null for start/help handled by the caller. */
export function resolveCommand(argv: string[]): { key: string; rest: string[] } | null {
  const two = argv.slice(0, 2).join(' ');
  if (COMMANDS[two]) return { key: two, rest: argv.slice(2) };
  if (argv[0] && COMMANDS[argv[0]]) return { key: argv[0], rest: argv.slice(1) };
  return null;
}

export async function runCommand(svc: Services, argv: string[], io: Io): Promise<number> {
  const found = resolveCommand(argv);
  if (!found) { io.line(`cerbere: unknown command "${argv.join(' ').slice(0, 40)}"; see cerbere --help`); return 2; }
  const cmd = COMMANDS[found.key];
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: found.rest, options: cmd.options, allowPositionals: true, strict: true });
    } catch (e) {
      throw new CliError(String((e as Error).message).split('\n')[0]);
    }
    await cmd.run(svc, parsed.positionals, parsed.values as Record<string, string | boolean | undefined>, io);
    return 0;
  } catch (e) {
    if (e instanceof CliError || e instanceof TenantError) { io.line(`cerbere: ${e.message}`); return 2; }
    // FhirError messages are value-free by construction (see src/fhir/outcome.ts).
    if (e instanceof FhirError) { io.line(`cerbere: the command failed: ${e.message}`); return 1; }
    io.line('cerbere: the command failed (database or key provider unavailable?)');
    return 1;
  }
}
