// The `cerbere` command. Runs inside the running server through its admin socket when there is
// one (the embedded database admits a single process), otherwise opens the database itself.
import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { loadConfig, ConfigError } from '../core/config.ts';
import { openServices } from '../services.ts';
import { runCommand, resolveCommand, USAGE } from './commands.ts';
import { runRemote, socketAnswers } from './admin-client.ts';
import { tenantExists } from '../store/tenants.ts';
import { CliError } from './io.ts';
import type { Io } from './io.ts';
import { KeyProviderError } from '../vault/key-provider.ts';
import { runVerifyReceiptLocally } from './receipt-cli.ts';

function terminalIo(): Io & { stop(): void } {
  let bar: cliProgress.SingleBar | null = null;
  return {
    line: (t) => { if (bar) { bar.stop(); bar = null; } console.log(t); },
    progress: (done, total, label) => {
      if (!bar) {
        bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
        bar.start(total, done);
      }
      bar.update(done);
      if (done >= total) { bar.stop(); bar = null; }
    },
    stop: () => { bar?.stop(); bar = null; },
  };
}

async function main(argv: string[]): Promise<number> {
  if (!argv.length || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(USAGE);
    return argv.length ? 0 : 2;
  }
  if (argv[0] === 'start') {
    const { startServer } = await import('../main.ts');
    await startServer();
    return -1; // keeps running
  }
  if (!resolveCommand(argv)) {
    console.error(`cerbere: unknown command "${argv.join(' ').slice(0, 40)}"; see cerbere --help`);
    return 2;
  }
  const receipt = await runVerifyReceiptLocally(argv, { line: (t) => console.log(t), progress: () => {} }, serverVerifierKey);
  if (receipt !== null) return receipt;
  const config = loadConfig();
  const io = terminalIo();
  if (await socketAnswers(config.adminSocket)) {
    // --out FILE is written by the server process: make it relative to the caller's directory, not the server's.
    const remoteArgv = argv.map((a, i) => (argv[i - 1] === '--out' ? resolve(a) : a.startsWith('--out=') ? `--out=${resolve(a.slice(6))}` : a));
    const code = await runRemote(config.adminSocket, remoteArgv, io.line, io.progress);
    io.stop();
    return code;
  }
  const services = await openServices(config);
  try {
    return await runCommand(services, argv, io);
  } finally {
    io.stop();
    await services.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => { if (code >= 0) process.exit(code); },
  (e) => {
    console.error(`cerbere: ${e instanceof ConfigError || e instanceof KeyProviderError ? e.message : 'failed to start (database or key file unavailable)'}`);
    process.exit(1);
  },
);

/** The tenant's verifier key from the running server (admin socket) or else from the database. */
async function serverVerifierKey(tenant: string): Promise<{ key: string; source: string }> {
  const config = loadConfig();
  if (await socketAnswers(config.adminSocket)) {
    const lines: string[] = [];
    const code = await runRemote(config.adminSocket, ['audit', 'public-key', '--tenant', tenant], (t) => lines.push(t), () => {});
    if (code !== 0) throw new CliError(`${(lines.at(-1) ?? 'the server has no key for this tenant').replace(/^cerbere: /, '')}`);
    return { key: lines.at(-1) ?? '', source: `tenant ${tenant}'s key from the running server; pass --key to check against a key you obtained independently` };
  }
  const svc = await openServices(config);
  try {
    if (!(await tenantExists(svc.database.db, tenant))) throw new CliError(`tenant ${tenant} does not exist here`);
    return { key: (await svc.log.signers.get(tenant)).verifierKey, source: `tenant ${tenant}'s key from the database; pass --key to check against a key you obtained independently` };
  } finally {
    await svc.close();
  }
}
