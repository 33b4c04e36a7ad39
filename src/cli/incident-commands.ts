// `cerbere incident …` commands (data-protection officer's investigation). Registered by commands.ts.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CommandTable } from './command-types.ts';
import { CliError } from './io.ts';
import { tenantExists } from '../store/tenants.ts';
import { systemContext, type AccessContext } from '../core/context.ts';
import { FhirError } from '../fhir/outcome.ts';
import { investigate, parseInstant, toBundle, toCsv, type BlastCriteria } from '../respond/blast-radius.ts';

const list = (v: string | boolean | undefined): string[] | undefined =>
  typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined;

/** The CLI acts as the system principal `cli` (operator of the server), purpose HOPERAT; the query is recorded. */
const cliContext = (tenant: string): AccessContext => ({ ...systemContext(tenant, 'HOPERAT'), actor: { kind: 'system', id: 'cli', role: 'system' } });

export const INCIDENT_COMMANDS: CommandTable = {
  'incident blast-radius': {
    usage: `incident blast-radius --tenant T --since ISO --until ISO [--actor A] [--token TID] [--ip CIDR] [--site S]
            [--type R] [--action A] [--format csv|bundle] [--out FILE]
                                          patients touched by the matching accesses, per data category, with the event ids
                                          (lists are comma-separated; --out is created with mode 0600 and never overwritten)`,
    options: {
      tenant: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, actor: { type: 'string' }, token: { type: 'string' },
      ip: { type: 'string' }, site: { type: 'string' }, type: { type: 'string' }, action: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' },
    },
    run: async (svc, pos, v, io) => {
      if (pos.length) throw new CliError('incident blast-radius takes no positional argument');
      const tenant = typeof v.tenant === 'string' ? v.tenant : '';
      if (!tenant) throw new CliError('--tenant is required');
      if (typeof v.since !== 'string' || typeof v.until !== 'string') throw new CliError('--since and --until are required (ISO 8601, e.g. 2026-11-01T00:00:00Z)');
      const format = v.format === undefined ? 'csv' : v.format;
      if (format !== 'csv' && format !== 'bundle') throw new CliError('--format must be csv or bundle');
      if (!(await tenantExists(svc.database.db, tenant))) throw new CliError(`tenant ${tenant} does not exist`);
      let text: string;
      let summary: string;
      try {
        const criteria: BlastCriteria = {
          since: parseInstant(v.since, 'since'), until: parseInstant(v.until, 'until'),
          actors: list(v.actor), tokens: list(v.token), cidrs: list(v.ip), sites: list(v.site), types: list(v.type), actions: list(v.action),
        };
        const r = await investigate(svc.database.db, svc.audit, cliContext(tenant), criteria);
        text = format === 'csv' ? toCsv(r) : JSON.stringify(toBundle(r), null, 2) + '\n';
        summary = `${r.patients.length} patient(s) touched by ${r.events} event(s) (${r.attempts} refused or failed attempt(s)); `
          + Object.entries(r.byCategory).map(([k, n]) => `${k}: ${n}`).join(', ');
      } catch (e) {
        if (e instanceof FhirError && e.status < 500) throw new CliError(e.message);
        throw e;
      }
      if (typeof v.out === 'string' && v.out) {
        const path = resolve(v.out);
        try {
          writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
        } catch (e) {
          throw new CliError(`cannot create ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}); it must not exist already`);
        }
        io.line(`${summary}\nwritten to ${path}`);
      } else {
        // Only the data on stdout, so that it can be redirected to a file as is.
        for (const line of text.replace(/\n$/, '').split('\n')) io.line(line);
      }
    },
  },
};
