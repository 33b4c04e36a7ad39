// Child process of the read benchmark: serves the FHIR API on a port, with or without encryption,
// and (bench-only, to price the access log) with or without writing access events.
import { benchServices } from './env.ts';
import { buildApp } from '../src/server/app.ts';

const plain = process.argv.includes('--plain');
const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
const noAudit = process.argv.includes('--no-audit');
const services = await benchServices({ plain, poolSize: 10 });
// Reads release data once record() resolves: resolving at once is "no access log" (never in src/).
if (noAudit) services.audit.record = async () => {};
const app = await buildApp(services, { logLevel: false });
if (!noAudit) services.log.start(); // the Merkle integrator and checkpoints run as in production
await app.listen({ port, host: '127.0.0.1' });
process.send?.({ ready: true });
process.on('message', async (m: any) => {
  if (m === 'stop') { await app.close(); await services.close(); process.exit(0); }
  if (m === 'stats') process.send?.({ appended: services.audit.appended });
});
process.on('SIGINT', () => process.exit(0));
