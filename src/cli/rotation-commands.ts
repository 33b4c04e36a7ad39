// `cerbere keys rotate|status|shredded` (data-key and index-key rotation, re-encryption, shredded-key list). Registered by commands.ts.
import type { CommandTable } from './command-types.ts';
import { CliError } from './io.ts';
import { tenantOf } from './tenant-arg.ts';
import { jobOptions, jobStates, RotationError, runKeyJob, startRotation, type KeyPurpose } from '../ops/rotation.ts';
import { shreddedKeys } from '../ops/erasure.ts';

function rateOf(v: string | boolean | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new CliError('--rate must be an integer between 1 and 1000000 (rows per second)');
  return n;
}

export const ROTATION_COMMANDS: CommandTable = {
  'keys rotate': {
    usage: 'keys rotate --tenant T [--index] [--rate R] [--detach]\n' +
      '                                          new data-key (or --index: blind-index key) version, then re-encrypt (re-index) every row\n' +
      '                                          in the background at ≤ R rows/s; an unfinished rotation is resumed instead',
    options: { tenant: { type: 'string' }, index: { type: 'boolean' }, rate: { type: 'string' }, detach: { type: 'boolean' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      const purpose: KeyPurpose = v.index ? 'idx' : 'enc';
      const what = purpose === 'enc' ? 'data key' : 'blind-index key';
      const r = await startRotation(svc, tenant, purpose);
      io.line(r.resumed ? `resuming the unfinished rotation to ${what} version ${r.version} of tenant ${tenant}`
        : `${what} version ${r.version} created for tenant ${tenant}; new writes use it now (other servers within ${svc.config.keyRefreshSeconds} s)`);
      const opts = jobOptions(svc, { rate: rateOf(v.rate, svc.config.rekeyRate), onProgress: v.detach ? undefined : io.progress });
      const job = runKeyJob(svc, tenant, purpose, opts);
      if (v.detach) {
        job.catch(() => {});
        io.line('running in the background; follow it with: cerbere keys status --tenant ' + tenant);
        return;
      }
      let st;
      try { st = await job; } catch (e) {
        if (e instanceof RotationError) throw new CliError(e.message);
        throw e;
      }
      if (!st.finished) throw new CliError(`rotation stopped in phase ${st.phase} after ${st.done} rows; run the command again to resume`);
      io.line(`${purpose === 'enc' ? 're-encryption' : 're-index'} of tenant ${tenant} complete: ${st.done} rows scanned, ${st.changed} rewritten; older ${what} versions retired`);
    },
  },
  'keys status': {
    usage: 'keys status --tenant T                  key versions (created, retired) and rotation progress',
    options: { tenant: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      for (const k of await svc.keyring.versions(tenant)) {
        io.line(`${k.purpose}\tv${k.version}\t${k.retired_at ? 'retired ' + new Date(k.retired_at).toISOString() : 'active'}\tcreated ${new Date(k.created_at as unknown as Date).toISOString()}\t${k.provider}`);
      }
      for (const j of await jobStates(svc, tenant)) {
        io.line(`rotation ${j.purpose} → v${j.target}: ${j.finished ? 'done' : 'phase ' + j.phase}, ${j.done}/${j.total} rows scanned, ${j.changed} rewritten`);
      }
      const shredded = await shreddedKeys(svc, tenant);
      io.line(`patient keys destroyed (crypto-shredded): ${shredded.length}`);
    },
  },
  'keys shredded': {
    usage: 'keys shredded --tenant T                numbers of destroyed patient keys (no patient data), one per line: feed to a restore',
    options: { tenant: { type: 'string' } },
    run: async (svc, _pos, v, io) => {
      const tenant = await tenantOf(svc, v);
      for (const n of await shreddedKeys(svc, tenant)) io.line(String(n));
    },
  },
};
