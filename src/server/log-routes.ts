// Read-only HTTP views of the access log (tlog-tiles, proofs). Registered by app.ts.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';

export async function registerLogRoutes(_app: FastifyInstance, _services: Services): Promise<void> {}
