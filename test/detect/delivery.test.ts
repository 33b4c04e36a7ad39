// Alert delivery against local receivers on 127.0.0.1: a webhook that fails twice then accepts (retries,
// signature), UDP and TCP syslog receivers (RFC 5424 frame, octet counting), an SMTP sink (plain text, no PHI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { SMTPServer } from 'smtp-server';
import type { AlertMessage } from '../../src/core/watch-types.ts';
import { Dispatcher, channelsFrom, deliveryConfig, dispatcherFromSettings } from '../../src/detect/delivery/dispatcher.ts';
import { sign, verifySignature } from '../../src/detect/delivery/webhook.ts';
import { escapeSdValue, formatSyslog } from '../../src/detect/delivery/syslog.ts';
import { backoffDelay, DEFAULT_RETRY, type DeliveryOutcome } from '../../src/detect/delivery/types.ts';

const SECRET = 'test-secret-0123456789abcdef';
const alert: AlertMessage = {
  id: 'al_42', tenantId: null, kind: 'host.listener', severity: 'high', state: 'open', actor: null, tokenId: null,
  firstAt: '2026-01-01T10:00:00.000Z', lastAt: '2026-01-01T10:00:15.000Z', patients: 0,
  summary: 'New listening socket not in the baseline: udp 0.0.0.0:3074, pid 4242 (cod-server), uid 0.',
};

test('webhook: fails twice, then accepted on the third attempt; the signature verifies; outcome reported', async () => {
  const seen: { body: string; ts: string; sig: string; delivery: string }[] = [];
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ body, ts: String(req.headers['x-cerbere-timestamp']), sig: String(req.headers['x-cerbere-signature']), delivery: String(req.headers['x-cerbere-delivery']) });
      res.statusCode = seen.length <= 2 ? 503 : 204;
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const outcomes: DeliveryOutcome[] = [];
  const d = dispatcherFromSettings({ CERBERE_ALERT_WEBHOOK_URL: url, CERBERE_ALERT_WEBHOOK_SECRET: SECRET },
    { retry: { baseDelayMs: 20, maxDelayMs: 100 }, onOutcome: (o) => outcomes.push(o) });
  const t0 = Date.now();
  const pending = d.dispatch(alert);
  const returnedAfter = Date.now() - t0;
  const [o] = await pending.finally(() => server.close());
  assert.ok(returnedAfter < 20, `dispatch returns at once (${returnedAfter} ms)`);
  assert.equal(o.ok, true);
  assert.equal(o.attempts, 3);
  assert.equal(o.channel, 'webhook');
  assert.deepEqual(outcomes, [o]);
  assert.equal(seen.length, 3);
  for (const s of seen) {
    assert.ok(verifySignature(SECRET, s.body, s.ts, s.sig), 'each attempt is signed');
    assert.equal(s.delivery, 'al_42:2026-01-01T10:00:15.000Z');
  }
  const last = seen[2];
  assert.deepEqual(JSON.parse(last.body), alert);
  assert.ok(!verifySignature(SECRET, last.body.replace('3074', '3075'), last.ts, last.sig), 'tampered body refused');
  assert.ok(!verifySignature('another-secret-xxxxxxxx', last.body, last.ts, last.sig), 'wrong secret refused');
  assert.ok(!verifySignature(SECRET, last.body, String(Number(last.ts) + 1), last.sig), 'timestamp is signed');
  assert.ok(!verifySignature(SECRET, last.body, last.ts, last.sig, Number(last.ts) + 301), 'stale timestamp refused (replay)');
  assert.equal(sign(SECRET, 1700000000, '{}'), `sha256=${(await import('node:crypto')).createHmac('sha256', SECRET).update('1700000000.{}').digest('hex')}`);
});

test('webhook: a 4xx is permanent (no retry); the retry schedule spans about five minutes', async () => {
  let hits = 0;
  const server = createHttpServer((_req, res) => { hits++; res.statusCode = 410; res.end(); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const d = dispatcherFromSettings({ CERBERE_ALERT_WEBHOOK_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, CERBERE_ALERT_WEBHOOK_SECRET: SECRET }, { retry: { baseDelayMs: 1 } });
  const [o] = await d.dispatch(alert).finally(() => server.close());
  assert.deepEqual([o.ok, o.attempts, o.error, hits], [false, 1, 'HTTP 410', 1]);
  const mid = () => 0.5;
  const waits = [1, 2, 3, 4, 5].map((n) => backoffDelay(DEFAULT_RETRY, n, mid));
  assert.deepEqual(waits, [10_000, 20_000, 40_000, 80_000, 160_000]);
  assert.ok(backoffDelay(DEFAULT_RETRY, 1, () => 0) === 5_000 && backoffDelay(DEFAULT_RETRY, 1, () => 0.999) < 15_000, 'jitter ×[0.5, 1.5)');
});

function parse5424(frame: string) {
  const m = /^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) (\[cerbere@32473 (?:[^\]"\\]|"(?:[^"\\]|\\.)*")*\]) (.*)$/s.exec(frame);
  assert.ok(m, `not RFC 5424: ${frame}`);
  const params = Object.fromEntries([...m[7].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2].replace(/\\(["\\\]])/g, '$1')]));
  return { pri: Number(m[1]), ts: m[2], host: m[3], app: m[4], procId: m[5], msgId: m[6], params, msg: m[8] };
}

test('syslog UDP: one RFC 5424 datagram, PRI local4/err, MSGID = kind, structured data', async () => {
  const rx = createSocket('udp4');
  rx.bind(0, '127.0.0.1');
  await once(rx, 'listening');
  const got = once(rx, 'message');
  const d = dispatcherFromSettings({ CERBERE_SYSLOG_URL: `udp://127.0.0.1:${rx.address().port}` });
  const [o] = await d.dispatch(alert);
  const [buf] = (await Promise.race([got, new Promise((_r, j) => setTimeout(() => j(new Error('no datagram')), 5000).unref())]).finally(() => rx.close())) as [Buffer];
  assert.equal(o.ok, true);
  assert.equal(o.channel, 'syslog-udp');
  const f = parse5424(buf.toString('utf8'));
  assert.equal(f.pri, 20 * 8 + 3);
  assert.equal(f.app, 'cerbere');
  assert.equal(f.msgId, 'host.listener');
  assert.equal(f.procId, String(process.pid));
  assert.deepEqual([f.params.id, f.params.kind, f.params.tenant, f.params.severity], ['al_42', 'host.listener', '', 'high']);
  assert.equal(f.msg, alert.summary);
  assert.ok(!Number.isNaN(Date.parse(f.ts)));
});

test('syslog TCP: octet-counting frame (RFC 6587), facility and severity mapping, SD-PARAM escaping', async () => {
  const frames: Buffer[] = [];
  const server = createTcpServer((c) => { const parts: Buffer[] = []; c.on('data', (d) => parts.push(d)); c.on('end', () => { frames.push(Buffer.concat(parts)); c.end(); }); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const nasty: AlertMessage = { ...alert, id: 'al_"x]\\y', tenantId: 't1', severity: 'critical', kind: 'host.integrity', summary: 'Installed file /opt/cerbère/src/a.ts changed.' };
  const d = dispatcherFromSettings({ CERBERE_SYSLOG_URL: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`, CERBERE_SYSLOG_FACILITY: 'auth' });
  const [o] = await d.dispatch(nasty);
  for (let i = 0; i < 500 && frames.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  server.close();
  assert.equal(frames.length, 1, 'one frame received');
  assert.equal(o.ok, true);
  const raw = frames[0];
  const sp = raw.indexOf(0x20);
  const len = Number(raw.subarray(0, sp).toString());
  assert.equal(len, raw.length - sp - 1, 'the count is the message length in octets');
  const text = raw.subarray(sp + 1).toString('utf8');
  assert.match(text, /id="al_\\"x\\]\\\\y"/);
  const f = parse5424(text);
  assert.equal(f.pri, 4 * 8 + 2);
  assert.equal(f.params.id, 'al_"x]\\y');
  assert.equal(f.params.tenant, 't1');
  assert.equal(f.msg, '\uFEFFInstalled file /opt/cerbère/src/a.ts changed.', 'non-ASCII MSG starts with a BOM');
  assert.equal(escapeSdValue('a"b\\c]d'), 'a\\"b\\\\c\\]d');
  assert.match(formatSyslog({ ...alert, severity: 'low' }, { facility: 20, hostname: 'my host', now: new Date(0) }), /^<165>1 1970-01-01T00:00:00.000Z my_host cerbere /);
});

test('SMTP: a plain-text mail with the alert fields only', async () => {
  const mails: { to: string[]; raw: string }[] = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, session, cb) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (c) => (raw += c));
      stream.on('end', () => { mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw }); cb(); });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  const d = dispatcherFromSettings({ CERBERE_ALERT_SMTP_URL: `smtp://127.0.0.1:${port}?ignoreTLS=true`, CERBERE_ALERT_MAIL_TO: 'dpo@example.org, ops@example.org', CERBERE_ALERT_MAIL_FROM: 'cerbere@example.org' });
  const [o] = await d.dispatch({ ...alert, tenantId: 'tenant_7', patients: 3 });
  await d.close();
  await new Promise<void>((r) => server.close(() => r()));
  assert.equal(o.ok, true);
  assert.equal(mails.length, 1);
  const m = mails[0];
  assert.deepEqual(m.to, ['dpo@example.org', 'ops@example.org']);
  const decoded = m.raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_x, h) => String.fromCharCode(parseInt(h, 16)));
  assert.match(m.raw, /Content-Type: text\/plain/i);
  assert.doesNotMatch(m.raw, /text\/html/i);
  assert.match(decoded, /id: +al_42/);
  assert.match(decoded, /tenant: +tenant_7/);
  assert.match(decoded, /patients: +3/);
  assert.match(decoded, /udp 0\.0\.0\.0:3074/);
});

test('settings: pure parsing; half-configured or unsigned channels are refused', () => {
  assert.deepEqual(channelsFrom(deliveryConfig({})), []);
  assert.throws(() => deliveryConfig({ CERBERE_ALERT_WEBHOOK_URL: 'https://siem.example.org/hook' }), /SECRET must be set/);
  assert.throws(() => deliveryConfig({ CERBERE_ALERT_WEBHOOK_URL: 'http://siem.example.org/hook', CERBERE_ALERT_WEBHOOK_SECRET: SECRET }), /must be https/);
  assert.throws(() => deliveryConfig({ CERBERE_ALERT_SMTP_URL: 'smtp://mail:25' }), /MAIL_TO/);
  assert.throws(() => deliveryConfig({ CERBERE_SYSLOG_URL: 'http://x' }), /CERBERE_SYSLOG_URL/);
  assert.throws(() => deliveryConfig({ CERBERE_SYSLOG_URL: 'udp://x', CERBERE_SYSLOG_FACILITY: 'local9' }), /FACILITY/);
  const c = deliveryConfig({ CERBERE_SYSLOG_URL: 'udp://[::1]', CERBERE_ALERT_WEBHOOK_URL: 'https://siem.example.org/h', CERBERE_ALERT_WEBHOOK_SECRET: SECRET });
  assert.deepEqual(c.syslog, { protocol: 'udp', host: '::1', port: 514, facility: 20 });
  assert.deepEqual(channelsFrom(c).map((x) => x.name), ['webhook', 'syslog-udp']);
  assert.ok(new Dispatcher([]) instanceof Dispatcher);
});
