// `cerbere sentinel baseline|status`: the host sentinel from the command line (docs/sentinel.md).
import type { CommandTable } from './command-types.ts';
import { CliError } from './io.ts';
import { sentinelJob } from '../detect/jobs.ts';
import { readSentinelStatus } from '../detect/sentinel/index.ts';

export const SENTINEL_COMMANDS: CommandTable = {
  'sentinel baseline': {
    usage: 'sentinel baseline                          accept the host as it is now (listeners, processes, files) as the sentinel\'s baseline',
    options: {},
    run: async (svc, _pos, _v, io) => {
      const b = sentinelJob(svc, () => {}).sentinel.accept();
      io.line(`sentinel baseline accepted: ${b.listeners.length} listeners, ${b.processSignatures.length} process kinds, ${Object.keys(b.integrity ?? {}).length} integrity entries (the running server uses it from its next check)`);
    },
  },
  'sentinel status': {
    usage: 'sentinel status [--json]                   the sentinel\'s baseline, the host\'s current state and the last check',
    options: { json: { type: 'boolean' } },
    run: async (svc, _pos, v, io) => {
      const s = readSentinelStatus(svc.config.dataDir);
      if (!s) throw new CliError('the sentinel has not run yet on this data directory (start the server, or set CERBERE_SENTINEL=true)');
      if (v.json === true) { io.line(JSON.stringify(s)); return; }
      io.line(`sentinel: ${s.running ? 'running' : 'stopped'}; last check ${s.lastCheckAt ?? 'never'} (${s.lastCheckMs ?? '?'} ms, mean ${s.meanCheckMs?.toFixed(1) ?? '?'} ms)`);
      io.line(s.baseline ? `baseline of ${s.baseline.takenAt}: ${s.baseline.listeners} listeners, ${s.baseline.processSignatures.length} process kinds, ${s.baseline.files} files` : 'no baseline');
      io.line(`listening now: ${s.current.listeners.map((l) => `${l.proto} ${l.port}${l.comm ? ` (${l.comm})` : ''}`).join(', ') || 'none'}`);
      io.line(`findings: ${s.findings.length ? s.findings.map((f) => `${f.kind} ${f.severity}: ${f.summary}`).join(' | ') : 'none'}`);
    },
  },
};
