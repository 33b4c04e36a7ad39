// Starts `npm start`'s entry point as a child process and waits for it to listen and print the demo
// token (the token line follows the "listening on" line; stdout chunks may split them).
import { spawn, type ChildProcess } from 'node:child_process';

export const DEMO_TOKEN = /cbr_demo_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/;

export interface StartedServer { server: ChildProcess; output(): string; stop(): Promise<void> }

export async function startServer(env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<StartedServer> {
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stdout!.on('data', (d) => (out += d));
  server.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + timeoutMs;
  while (!(/listening on/.test(out) && DEMO_TOKEN.test(out)) && Date.now() < deadline && server.exitCode === null) await new Promise((r) => setTimeout(r, 200));
  return {
    server,
    output: () => out,
    stop: async () => {
      if (server.exitCode !== null) return;
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    },
  };
}
