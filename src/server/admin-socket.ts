// Local admin socket: lets the `cerbere` CLI run commands inside the running server, since only one
// process may open an embedded (PGlite) data directory. A Unix socket readable by its owner only.
import net from 'node:net';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import type { Services } from '../detect/services.ts';
import { runCommand } from '../cli/commands.ts';

export async function socketAnswers(path: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => { s.end(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

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

/** Sends argv to the running server; resolves with the command's exit code. */
export function runRemote(path: string, argv: string[], onLine: (t: string) => void, onProgress: (d: number, t: number, l: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    let buf = '';
    let code: number | null = null;
    s.setEncoding('utf8');
    s.on('connect', () => s.write(JSON.stringify({ argv }) + '\n'));
    s.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.t === 'line') onLine(msg.text);
        else if (msg.t === 'progress') onProgress(msg.done, msg.total, msg.label);
        else if (msg.t === 'done') code = msg.code;
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(code ?? 1));
  });
}
