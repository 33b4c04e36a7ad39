// Host sentinel: parsing of /proc fixtures (socket tables, stat, net/dev), CIDR lists, egress baseline maths,
// and the listener probe over a fake /proc tree (owner found through fd symlinks, or pid null without rights).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAddress, isListening, parseSocketTable } from '../../src/detect/sentinel/net.ts';
import { parseStat } from '../../src/detect/sentinel/procfs.ts';
import { EgressProbe, parseNetDev, DEFAULT_EGRESS } from '../../src/detect/sentinel/egress.ts';
import { CidrList, isLoopback } from '../../src/detect/sentinel/cidr.ts';
import { ListenerProbe } from '../../src/detect/sentinel/listeners.ts';
import { Sentinel } from '../../src/detect/sentinel/sentinel.ts';

const HDR6 = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const TCP6 = HDR6 +
  '   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1001        0 40001 1 0000000000000000 100 0 0 10 0\n' +
  '   1: 00000000000000000000000001000000:18EB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 40002 1 0000000000000000 100 0 0 10 0\n' +
  '   2: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:D431 01 00000000:00000000 00:00000000 00000000  1001        0 40003 1 0000000000000000 20 4 30 10 -1\n' +
  '   3: B80D0120000000000000000001000000:0050 B80D0120000000000000000002000000:C350 02 00000000:00000000 00:00000000 00000000  1001        0 40004 1 0000000000000000 20 4 30 10 -1\n';
const HDR = '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n';
const UDP = HDR +
  ' 1234: 00000000:0C02 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 50001 2 0000000000000000 0\n' +
  ' 1235: 0F02000A:A1B2 08080808:0035 01 00000000:00000000 00:00000000 00000000   101        0 50002 2 0000000000000000 0\n' +
  ' 1236: 0100007F:0000 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 50003 2 0000000000000000 0\n';
const TCP = HDR + '   0: 0100007F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3510 1 0000000000000000 100 0 0 10 0\n';

test('tcp6 lines: IPv6 addresses in host order, IPv4-mapped, ports, states, uid, inode', () => {
  const rows = parseSocketTable('tcp6', TCP6, true);
  assert.equal(rows.length, 4);
  assert.deepEqual(rows.map((r) => [r.localAddress, r.localPort, r.state, r.uid, r.inode]), [
    ['::', 8080, '0A', 1001, 40001],
    ['::1', 6379, '0A', 0, 40002],
    ['::ffff:127.0.0.1', 8080, '01', 1001, 40003],
    ['2001:db8::1', 80, '02', 1001, 40004],
  ]);
  assert.equal(rows[2].remoteAddress, '::ffff:127.0.0.1');
  assert.equal(rows[2].remotePort, 0xd431);
  assert.equal(rows[3].remoteAddress, '2001:db8::2');
  assert.deepEqual(rows.map(isListening), [true, true, false, false]);
});

test('udp lines: a bound socket with no remote listens; a connected one or an unbound one does not', () => {
  const rows = parseSocketTable('udp', UDP, true);
  assert.deepEqual(rows.map((r) => `${r.localAddress}:${r.localPort}`), ['0.0.0.0:3074', '10.0.2.15:41394', '127.0.0.1:0']);
  assert.deepEqual(rows.map(isListening), [true, false, false]);
  assert.equal(rows[1].remoteAddress, '8.8.8.8');
  assert.equal(decodeAddress('0100007F', true), '127.0.0.1');
  assert.equal(decodeAddress('7F000001', false), '127.0.0.1');
});

test('stat: comm with spaces and parentheses, ppid, cpu ticks, starttime', () => {
  const s = parseStat('4242 (evil) (x y) S 77 4242 4242 0 -1 4194560 1 0 0 0 150 50 0 0 20 0 1 0 987654 1000 10 18446744073709551615\n');
  assert.ok(s);
  assert.equal(s.comm, 'evil) (x y');
  assert.equal(s.ppid, 77);
  assert.equal(s.cpuTicks, 200);
  assert.equal(s.starttime, 987654);
});

test('net/dev and the egress baseline: EWMA learning, sustained deviation alerts, a blip does not', () => {
  const dev = 'Inter-|   Receive |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
    '    lo:   41468     566    0    0    0     0          0         0    41468     566    0    0    0     0       0          0\n' +
    '  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n';
  assert.deepEqual(parseNetDev(dev).get('eth0'), { rx: 1000, tx: 2000 });
  const e = new EgressProbe({ ...DEFAULT_EGRESS, warmup: 3, sustain: 3, k: 4, floorBytesPerSec: 100_000 });
  let t = 0, rx = 0, tx = 0;
  const step = (txRate: number) => { t += 15_000; rx += 15 * 10_000; tx += 15 * txRate; return e.sample(t, new Map([['eth0', { rx, tx }], ['lo', { rx: t * 1e6, tx: t * 1e6 }]])); };
  step(0);
  for (let i = 0; i < 5; i++) assert.deepEqual(step(20_000), []);
  assert.ok(Math.abs(e.baselines.get('eth0')!.tx.rate - 20_000) < 1);
  assert.equal(e.baselines.has('lo'), false, 'loopback ignored');
  assert.deepEqual(step(5_000_000), [], 'one check above is a blip');
  assert.deepEqual(step(20_000), []);
  assert.deepEqual(step(5_000_000), []);
  assert.deepEqual(step(5_000_000), []);
  const f = step(5_000_000);
  assert.equal(f.length, 1);
  assert.equal(f[0].dir, 'out');
  assert.equal(f[0].checks, 3);
  assert.ok(f[0].baseline < 30_000, 'the attack was not learned');
  assert.equal(step(5_000_000).length, 1, 'reported while it lasts (the sentinel de-duplicates)');
});

test('CIDR allow-lists: IPv4, IPv6, IPv4-mapped; loopback', () => {
  const l = new CidrList(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32']);
  assert.ok(l.has('10.200.3.4'));
  assert.ok(l.has('::ffff:10.1.2.3'));
  assert.ok(l.has('192.168.1.7'));
  assert.ok(!l.has('192.168.1.8'));
  assert.ok(l.has('2001:db8::2'));
  assert.ok(!l.has('2001:db9::2'));
  assert.ok(!l.has('11.0.0.1'));
  assert.ok(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('::ffff:127.0.0.53') && !isLoopback('10.0.0.1'));
  assert.throws(() => new CidrList(['10.0.0.0/33']));
});

test('listener probe over a fake /proc: owner from fd symlinks; pid null when fds cannot be read', () => {
  const root = mkdtempSync(join(tmpdir(), 'sentinel-proc-'));
  try {
    mkdirSync(join(root, 'net'));
    writeFileSync(join(root, 'net/tcp'), TCP);
    writeFileSync(join(root, 'net/udp'), UDP);
    mkdirSync(join(root, '4242/fd'), { recursive: true });
    writeFileSync(join(root, '4242/stat'), '4242 (cod-server) S 1 4242 4242 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 5555 0 0\n');
    writeFileSync(join(root, '4242/comm'), 'cod-server\n');
    writeFileSync(join(root, '4242/cmdline'), 'cod-server\0--port\x003074\0');
    symlinkSync('socket:[50001]', join(root, '4242/fd/7'));
    symlinkSync('/dev/null', join(root, '4242/fd/0'));
    const ls = new ListenerProbe(root).scan();
    const byPort = new Map(ls.map((l) => [l.port, l]));
    assert.deepEqual(byPort.get(3074), { proto: 'udp', address: '0.0.0.0', port: 3074, inode: 50001, uid: 0, pid: 4242, comm: 'cod-server', cmdline: 'cod-server --port 3074' });
    const redis = byPort.get(6379)!;
    assert.equal(redis.pid, null, 'no readable fd holds it: reported without an owner');
    assert.equal(redis.address, '127.0.0.1');
    assert.equal(ls.length, 2);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a baseline port taken over by another program alerts (fake /proc: redis on 6379 replaced)', () => {
  const root = mkdtempSync(join(tmpdir(), 'sentinel-proc-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'sentinel-data-'));
  const proc = (pid: number, comm: string, starttime: number) => {
    mkdirSync(join(root, `${pid}/fd`), { recursive: true });
    writeFileSync(join(root, `${pid}/stat`), `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 ${starttime} 0 0\n`);
    writeFileSync(join(root, `${pid}/comm`), `${comm}\n`);
    writeFileSync(join(root, `${pid}/cmdline`), `${comm}\0`);
    writeFileSync(join(root, `${pid}/status`), `Name:\t${comm}\nUid:\t0\t0\t0\t0\n`);
    symlinkSync('socket:[3510]', join(root, `${pid}/fd/5`));
  };
  try {
    mkdirSync(join(root, 'net'));
    writeFileSync(join(root, 'net/tcp'), TCP);
    proc(2266, 'redis-server', 1000);
    const s = new Sentinel({ dataDir, procRoot: root, outbound: false });
    s.baseline();
    assert.deepEqual(s.check(), []);
    rmSync(join(root, '2266'), { recursive: true });
    proc(6666, 'xmrig', 2000);
    const alerts = s.check();
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].kind, 'host.listener');
    assert.match(alerts[0].summary, /now held by another program: tcp 127\.0\.0\.1:6379, pid 6666 \(xmrig\), uid 0; the baseline had redis-server/);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
});
