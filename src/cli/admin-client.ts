// The CLI's side of the admin socket (admin-socket.ts): is a server running on this data directory, and
// run a command inside it. Imports no command, so any command may use it without a cycle.
import net from 'node:net';
import { existsSync } from 'node:fs';

export async function socketAnswers(path: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => { s.end(); resolve(true); });
    s.once('error', () => resolve(false));
  });
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
