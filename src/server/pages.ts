// The web pages (web/, built by Vite into web/dist): hashed assets under /assets/ through
// @fastify/static, and index.html on each page path (the bundle picks the page from the path).
// Before `npm run build:web` the page paths answer 503 with a one-line hint; the API is unaffected.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));
export const PAGE_PATHS = ['/', '/auth/login', '/auth/invitation', '/auth/enrol', '/auth/reset', '/auth/forgot', '/staff', '/portal', '/security'];

export async function registerPages(app: FastifyInstance, dist = WEB_DIST): Promise<void> {
  let index: string | null = null;
  try { index = readFileSync(dist + 'index.html', 'utf8'); } catch { index = null; }
  if (index) {
    await app.register(fastifyStatic, {
      root: dist + 'assets', prefix: '/assets/', decorateReply: false, index: false, redirect: false,
      // File names carry a content hash: they never change.
      immutable: true, maxAge: '365d', cacheControl: true,
    });
  }
  for (const path of PAGE_PATHS) {
    app.get(path, async (_req, reply) => {
      if (!index) return reply.code(503).type('text/plain; charset=utf-8').send('web pages not built: run `npm run build:web`\n');
      // The page never holds data: every call it makes is authenticated on its own.
      return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(index);
    });
  }
}
