// Host sentinel against the live /proc of this machine: a game-server-like child (UDP 3074 + a TCP listener)
// alerts twice, once; a changed installed file alerts; a child of a watched pid alerts; an outbound
// connection off the allow-list alerts; foreign CPU use alerts; the baseline persists (0600) across restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, unlinkSync, mkdirSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Sentinel, readSentinelStatus, tcpListenerOwner } from '../../src/detect/sentinel/index.ts';
import type { AlertCandidate } from '../../src/core/watch-types.ts';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gameServer(): Promise<{ child: ChildProcess; tcpPort: number }> {
  const script = `
    process.title = 'cod-server';
    const dgram = require('node:dgram'), net = require('node:net');
    const u = dgram.createSocket('udp4');
    u.bind(3074, '0.0.0.0', () => {
      const s = net.createServer(() => {}).listen(0, '127.0.0.1', () => console.log(s.address().port));
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = await once(child.stdout!, 'data') as [Buffer];
  return { child, tcpPort: Number(String(chunk).trim()) };
}

test('a UDP 3074 + TCP listener in a child: two host.listener alerts naming ports, pid and comm, not repeated', async () => {
  const dataDir = tmp('sentinel-live-');
  const s = new Sentinel({ dataDir, outbound: false });
  assert.equal(s.baseline().source, 'taken');
  const { child, tcpPort } = await gameServer();
  try {
    const t0 = performance.now();
    const alerts = s.check(new Date());
    const ms = performance.now() - t0;
    const mine = alerts.filter((a) => a.kind === 'host.listener' && a.summary.includes(`pid ${child.pid} `));
    console.log(`check took ${ms.toFixed(1)} ms; child alerts:\n  ${mine.map((a) => a.summary).join('\n  ')}`);
    assert.equal(mine.length, 2);
    assert.ok(mine.some((a) => a.summary.includes('udp 0.0.0.0:3074') && a.dedupKey === 'host.listener|udp|0.0.0.0|3074'));
    assert.ok(mine.some((a) => a.summary.includes(`tcp 127.0.0.1:${tcpPort}`)));
    for (const a of mine) {
      assert.ok(a.summary.includes(`pid ${child.pid} (cod-server)`), a.summary);
      assert.equal(a.tenantId, null);
      assert.equal(a.patients, 0);
      assert.equal(a.severity, 'high');
    }
    const again = s.check(new Date()).filter((a) => a.summary.includes(`pid ${child.pid} `));
    assert.deepEqual(again, [], 'a persisting listener does not re-alert');
    assert.equal(s.status().findings.filter((a) => a.summary.includes(`pid ${child.pid} `)).length, 2);
  } finally {
    child.kill();
    await once(child, 'exit');
  }
  s.check(new Date());
  assert.equal(s.status().findings.filter((a) => a.kind === 'host.listener' && a.summary.includes(':3074')).length, 0, 'gone once stopped');
  rmSync(dataDir, { recursive: true, force: true });
});

test('integrity: a changed, an added and a removed file alert; the baseline is persisted 0600 and reloaded', () => {
  const dataDir = tmp('sentinel-int-');
  const root = tmp('sentinel-root-');
  mkdirSync(join(root, 'src'));
  writeFileSync(join(root, 'src/a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'src/b.ts'), 'export const b = 2;\n');
  writeFileSync(join(root, 'package.json'), '{}\n');
  const opts = { dataDir, outbound: false as const, integrityRoots: [join(root, 'src'), join(root, 'package.json')] };
  const s = new Sentinel(opts);
  s.baseline();
  assert.equal(statSync(join(dataDir, 'sentinel/baseline.json')).mode & 0o777, 0o600);
  assert.deepEqual(s.check().filter((a) => a.kind === 'host.integrity'), []);
  writeFileSync(join(root, 'src/a.ts'), 'export const a = 1; fetch("http://evil")\n');
  writeFileSync(join(root, 'src/c.ts'), 'backdoor\n');
  unlinkSync(join(root, 'src/b.ts'));
  // A restart does not accept what changed while it was down: the new instance loads the stored baseline.
  const s2 = new Sentinel(opts);
  assert.equal(s2.baseline().source, 'loaded');
  const alerts = s2.check().filter((a) => a.kind === 'host.integrity');
  const byPath = (p: string) => alerts.find((a) => a.summary.includes(join(root, p)));
  assert.equal(alerts.length, 3);
  assert.match(byPath('src/a.ts')!.summary, /changed/);
  assert.equal(byPath('src/a.ts')!.severity, 'critical');
  assert.match(byPath('src/c.ts')!.summary, /was added/);
  assert.match(byPath('src/b.ts')!.summary, /was removed/);
  assert.deepEqual(s2.check().filter((a) => a.kind === 'host.integrity'), [], 'de-duplicated');
  s2.accept();
  assert.deepEqual(s2.check().filter((a) => a.kind === 'host.integrity'), [], 'accepted');
  unlinkSync(join(dataDir, 'sentinel/baseline.json'));
  const gone = s2.check().filter((a) => a.kind === 'host.integrity');
  assert.equal(gone.length, 1);
  assert.match(gone[0].summary, /baseline .* was removed; it was restored/);
  assert.equal(statSync(join(dataDir, 'sentinel/baseline.json')).mode & 0o777, 0o600, 'restored');
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});

test('a process spawned as a child of a watched pid alerts, naming pid and comm', async () => {
  const dataDir = tmp('sentinel-proc-');
  const s = new Sentinel({ dataDir, outbound: false, watch: { pids: [process.pid] } });
  s.baseline();
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await sleep(100);
  try {
    const alerts = s.check().filter((a) => a.kind === 'host.process');
    const a = alerts.find((x) => x.summary.includes(`pid ${child.pid} (sleep)`));
    assert.ok(a, JSON.stringify(alerts));
    assert.match(a.summary, new RegExp(`parent pid ${process.pid}`));
    assert.equal(s.check().filter((x) => x.kind === 'host.process').length, 0, 'not repeated');
    const allowedDir = tmp('sentinel-proc-');
    const allowed = new Sentinel({ dataDir: allowedDir, outbound: false, watch: { pids: [process.pid] }, allowProcesses: ['sleep'] });
    allowed.baseline();
    const late = spawn('sleep', ['30'], { stdio: 'ignore' });
    await sleep(100);
    assert.ok(!allowed.check().some((x) => x.summary.includes(`pid ${late.pid} `)), 'allow-listed comm');
    late.kill();
    rmSync(allowedDir, { recursive: true, force: true });
  } finally {
    child.kill();
    await once(child, 'exit');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('outbound: a connection of this process off the allow-list alerts; allow-listed it does not', async () => {
  const server = createServer((c) => c.on('error', () => {}));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  assert.deepEqual(tcpListenerOwner(port), { uid: process.getuid!(), pid: process.pid, comm: readFileSync('/proc/self/comm', 'utf8').trim() });
  const sock = connect(port, '127.0.0.1');
  await once(sock, 'connect');
  const dirs = [tmp('sentinel-out-'), tmp('sentinel-out-')];
  try {
    const off = new Sentinel({ dataDir: dirs[0], outbound: { includeLoopback: true, allow: ['10.0.0.0/8'] } });
    off.baseline();
    const alerts: AlertCandidate[] = off.check().filter((a) => a.kind === 'host.outbound');
    assert.equal(alerts.length, 1, JSON.stringify(alerts));
    assert.match(alerts[0].summary, new RegExp(`to 127\\.0\\.0\\.1:${port}, outside`));
    const on = new Sentinel({ dataDir: dirs[1], outbound: { includeLoopback: true, allow: ['127.0.0.0/8'] } });
    on.baseline();
    assert.deepEqual(on.check().filter((a) => a.kind === 'host.outbound'), []);
    const def = new Sentinel({ dataDir: dirs[1], outbound: {} });
    def.baseline();
    assert.deepEqual(def.check().filter((a) => a.kind === 'host.outbound'), [], 'loopback ignored by default');
  } finally {
    sock.destroy();
    server.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

test('foreign CPU: a busy process that is not Cerbère alerts after sustained checks', async () => {
  const dataDir = tmp('sentinel-cpu-');
  const busy = spawn(process.execPath, ['-e', 'process.title="miner"; for(;;){}'], { stdio: 'ignore', detached: false });
  // The busy child is not a descendant of the "own" pids given here, so it counts as foreign.
  const s = new Sentinel({ dataDir, outbound: false, ownPids: [], cpu: { threshold: 0.05, sustain: 2 } });
  s.baseline();
  try {
    let found: AlertCandidate | undefined;
    for (let i = 0; i < 6 && !found; i++) {
      await sleep(400);
      found = s.check().find((a) => a.kind === 'host.cpu' && a.summary.includes(`pid ${busy.pid} `));
    }
    assert.ok(found, 'host.cpu alert for the busy child');
    assert.match(found.summary, /\(miner\)/);
  } finally {
    busy.kill();
    await once(busy, 'exit');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('start/stop: the loop reports a new listener through onAlerts, once, then stops', async () => {
  const dataDir = tmp('sentinel-loop-');
  const got: AlertCandidate[] = [];
  const s = new Sentinel({ dataDir, outbound: false, onAlerts: (a) => got.push(...a) });
  s.start(100);
  assert.equal(s.status().running, true);
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    for (let i = 0; i < 50 && !got.some((a) => a.summary.includes(`:${port},`)); i++) await sleep(50);
    await sleep(350);
    const mine = got.filter((a) => a.summary.includes(`tcp 127.0.0.1:${port}, pid ${process.pid} `));
    assert.equal(mine.length, 1, 'alerted once across several checks');
    const written = readSentinelStatus(dataDir);
    assert.ok(written && written.running && written.lastCheckAt, 'status.json written for the CLI');
    assert.equal(statSync(join(dataDir, 'sentinel/status.json')).mode & 0o777, 0o600);
    assert.ok(written.findings.some((a) => a.summary.includes(`:${port},`)));
    // `cerbere sentinel baseline` in another process: the running loop picks the new baseline up.
    new Sentinel({ dataDir, outbound: false }).accept();
    await sleep(300);
    assert.ok(!s.status().findings.some((a) => a.summary.includes(`:${port},`)), 'accepted listener no longer a finding');
  } finally {
    s.stop();
    server.close();
  }
  assert.equal(s.status().running, false);
  assert.ok(s.status().lastCheckAt);
  rmSync(dataDir, { recursive: true, force: true });
});
