// `npm start`: open the data directory (PGlite) or DATABASE_URL, create the key file and the demo
// tenant on first start, then serve the FHIR API and the admin socket.
import { statSync, mkdirSync } from 'node:fs';
import { loadConfig, ConfigError, type Config } from './core/config.ts';
import { openServices, type Services } from './services.ts';
import { buildApp } from './server/app.ts';
import { startAdminSocket } from './cli/admin-socket.ts';
import { socketAnswers } from './cli/admin-client.ts';
import { createTenant, addSite, tenantExists } from './store/tenants.ts';
import { createApiToken } from './auth/api-tokens.ts';
import { seedTenant } from './seed/seed.ts';
import { KeyProviderError } from './vault/key-provider.ts';
import { Scheduler, serverJobs } from './ops/scheduler.ts';
import { detectionJob, sentinelJob } from './detect/jobs.ts';

function checkDataDir(config: Config): void {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const st = statSync(config.dataDir);
  if (st.mode & 0o002) throw new ConfigError(`data directory ${config.dataDir} is writable by everyone; run: chmod 700 ${config.dataDir}`);
}

export async function ensureDemo(services: Services, config: Config, out: (s: string) => void): Promise<string | null> {
  if (!config.demo || (await tenantExists(services.database.db, 'demo'))) return null;
  out('First start: creating the demo tenant "Laboratoire Démo" with synthetic patients…');
  await createTenant(services.database.db, services.keyring, 'demo', 'Laboratoire Démo');
  await addSite(services.database.db, 'demo', 'vannes', 'Site de Vannes');
  await addSite(services.database.db, 'demo', 'orleans', 'Site d\'Orléans');
  let last = 0;
  await seedTenant(services, 'demo', { patients: config.demoPatients, seed: 20261123, ordersPerPatient: 1 }, {
    line: out,
    progress: (done, total) => { if (done === total || done - last >= total / 10) { last = done; out(`  ${done}/${total} patients`); } },
  });
  return (await createApiToken(services.database.db, 'demo', 'service', 'demo token (first start)')).token;
}

export async function startServer(): Promise<void> {
  const out = (s: string) => console.log(s);
  let config: Config;
  try {
    config = loadConfig();
    checkDataDir(config);
  } catch (e) {
    console.error(`cerbere: ${(e as Error).message}`);
    process.exit(2);
  }
  if (await socketAnswers(config.adminSocket)) {
    console.error(`cerbere: another Cerbère server is already running on ${config.dataDir}`);
    process.exit(2);
  }
  let services: Services;
  try {
    services = await openServices(config);
  } catch (e) {
    console.error(`cerbere: ${e instanceof KeyProviderError || e instanceof ConfigError ? e.message : 'cannot open the database'}`);
    process.exit(2);
  }
  if (services.keyFileCreated) out(`Created a new key file at ${config.keyFile} (mode 0600). Back it up apart from the database: without it the data cannot be read.`);
  const demoToken = await ensureDemo(services, config, out);
  const app = await buildApp(services, { logLevel: config.logLevel });
  const admin = await startAdminSocket(services, config.adminSocket);
  const scheduler = new Scheduler([...serverJobs(services, out), detectionJob(services, console.error)]);
  await scheduler.start();
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (e) {
    console.error(`cerbere: cannot listen on ${config.host}:${config.port} (${(e as NodeJS.ErrnoException).code ?? 'error'}); is another server running there? Set PORT to another port`);
    await scheduler.stop();
    await services.close();
    process.exit(2);
  }
  // The sentinel starts once the server listens, so its own port is in the first baseline.
  const sentinel = new Scheduler([sentinelJob(services, console.error)]);
  await sentinel.start();
  const url = `http://${config.host === '0.0.0.0' || config.host === '127.0.0.1' ? 'localhost' : config.host}:${config.port}`;
  out(`Cerbère listening on ${url}/fhir (database: ${services.database.kind === 'pglite' ? `embedded PGlite in ${config.dataDir}/db` : 'PostgreSQL'})`);
  if (demoToken) {
    out('Demo tenant: demo (Laboratoire Démo). Demo API token, shown once:');
    out(`  ${demoToken}`);
    out(`Try: curl -H "Authorization: Bearer ${demoToken}" "${url}/fhir/Patient?_count=2"`);
  } else if (config.demo) {
    out('Demo tenant: demo. Its token was printed at first start; make another with: npx cerbere token create --tenant demo');
  }
  const stop = async () => {
    admin.close();
    await sentinel.stop();
    await scheduler.stop();
    await app.close();
    await services.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) await startServer();
