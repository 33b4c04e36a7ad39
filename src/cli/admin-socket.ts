// Local admin socket: lets the `cerbere` CLI run commands inside the running server, since only one
// process may open an embedded (PGlite) data directory. A Unix socket readable by its owner only.
import net from 'node:net';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import type { Services } from '../detect/services.ts';
import { runCommand } from './commands.ts';

export async function startAdminSocket(services: Services, path: string): Promise<net.Server> {
  if (existsSync(path)) unlinkSync(path); // stale: the caller checked nothing answers
  const server = net.createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) { if (buf.length > 65536) sock.destroy(); return; }
      const lineText = buf.slice(0, nl);
      buf = '';
      let argv: string[];
      try { argv = JSON.parse(lineText).argv; if (!Array.isArray(argv)) throw new Error(); } catch { sock.end(JSON.stringify({ t: 'done', code: 2 }) + '\n'); return; }
      const send = (o: object) => { if (!sock.destroyed) sock.write(JSON.stringify(o) + '\n'); };
      runCommand(services, argv.map(String), {
        line: (text) => send({ t: 'line', text }),
        progress: (done, total, label) => send({ t: 'progress', done, total, label }),
      }).then((code) => sock.end(JSON.stringify({ t: 'done', code }) + '\n'), () => sock.end(JSON.stringify({ t: 'done', code: 1 }) + '\n'));
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(path, () => resolve()); });
  chmodSync(path, 0o600);
  return server;
}
