// Builds the web pages (web/ → web/dist) with Vite. Run by `npm install`/`npm ci` (prepare) and
// before `npm start`/`npm test` when web/dist is missing or older than web/src. Without Vite
// (an install with --omit=dev) it says so and leaves the server to answer 503 on the page paths.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const force = process.argv.includes('--force');
const newest = (dir) => readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
  const p = join(dir, e.name);
  return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
}, 0);
const built = 'web/dist/index.html';
const sources = Math.max(newest('web/src'), statSync('web/index.html').mtimeMs, statSync('web/vite.config.ts').mtimeMs);
if (!force && existsSync(built) && statSync(built).mtimeMs >= sources) process.exit(0);
try { createRequire(import.meta.url).resolve('vite'); } catch {
  console.error('build-web: vite is not installed (dev dependencies omitted): web pages not built');
  process.exit(0);
}
const { build } = await import('vite');
await build({ root: 'web', configFile: 'web/vite.config.ts', logLevel: 'warn' });
console.error('build-web: web/dist built');
