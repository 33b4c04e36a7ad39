// Syslog channel: RFC 5424 messages over UDP (RFC 5426, one message per datagram) or TCP with octet-counting
// framing (RFC 6587 §3.4.1: "<length> <message>"). PRI = facility × 8 + severity; APP-NAME cerbere;
// MSGID = the alert kind; structured data [cerbere@32473 id=… kind=… tenant=… …].
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import type { AlertMessage, Severity } from '../../core/watch-types.ts';
import type { Channel } from './types.ts';

export const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

/** critical → 2 (crit), high → 3 (err), medium → 4 (warning), low → 5 (notice). */
export const SYSLOG_SEVERITY: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5 };

/** Private enterprise number used in the SD-ID (the example number of RFC 5424). */
export const SD_ID = 'cerbere@32473';

/** SD-PARAM value escaping (RFC 5424 §6.3.3): '"', '\' and ']' are preceded by a backslash. */
export function escapeSdValue(v: string): string {
  return v.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** A header field: printable US-ASCII (33..126) only, at most `max` characters, "-" when empty. */
function headerField(v: string, max: number): string {
  const s = v.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return s || '-';
}

export interface SyslogFormat { facility: number; hostname?: string; procId?: string; now?: Date }

export function formatSyslog(m: AlertMessage, f: SyslogFormat): string {
  const pri = f.facility * 8 + SYSLOG_SEVERITY[m.severity];
  const params: [string, string][] = [
    ['id', m.id], ['kind', m.kind], ['tenant', m.tenantId ?? ''], ['severity', m.severity], ['state', m.state],
    ['patients', String(m.patients)], ['firstAt', m.firstAt], ['lastAt', m.lastAt],
  ];
  if (m.actor) params.push(['actor', `${m.actor.kind}:${m.actor.id}`]);
  if (m.tokenId) params.push(['token', m.tokenId]);
  const sd = `[${SD_ID} ${params.map(([k, v]) => `${k}="${escapeSdValue(v)}"`).join(' ')}]`;
  // MSG: UTF-8 text; RFC 5424 §6.4 asks for a BOM before UTF-8 that is not plain ASCII.
  const msg = /^[\x20-\x7e]*$/.test(m.summary) ? m.summary : `\uFEFF${m.summary}`;
  return `<${pri}>1 ${(f.now ?? new Date()).toISOString()} ${headerField(f.hostname ?? hostname(), 255)} cerbere ${headerField(f.procId ?? String(process.pid), 128)} ${headerField(m.kind, 32)} ${sd} ${msg}`;
}

/** Octet-counting frame (RFC 6587): the length in bytes of the message, a space, the message. */
export function octetFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}

export interface SyslogOptions { protocol: 'udp' | 'tcp'; host: string; port: number; facility: number; hostname?: string; timeoutMs?: number }

/** Largest datagram sent; longer messages are cut (RFC 5426 receivers must accept 480, should 2048). */
export const MAX_UDP_BYTES = 2048;

export class SyslogChannel implements Channel {
  readonly name: string;
  constructor(private readonly opts: SyslogOptions) {
    this.name = `syslog-${opts.protocol}`;
  }

  send(msg: AlertMessage, signal: AbortSignal): Promise<void> {
    const text = formatSyslog(msg, { facility: this.opts.facility, hostname: this.opts.hostname });
    return this.opts.protocol === 'udp' ? this.sendUdp(text) : this.sendTcp(text, signal);
  }

  private sendUdp(text: string): Promise<void> {
    let buf = Buffer.from(text, 'utf8');
    if (buf.length > MAX_UDP_BYTES) buf = Buffer.from(buf.subarray(0, MAX_UDP_BYTES).toString('utf8').replace(/\uFFFD$/, ''), 'utf8');
    const sock = createSocket(this.opts.host.includes(':') ? 'udp6' : 'udp4');
    // Connected first: an unconnected bound UDP socket is what the sentinel calls a listener.
    return new Promise((resolve, reject) => {
      sock.once('error', (err) => { sock.close(); reject(err); });
      sock.connect(this.opts.port, this.opts.host, () => {
        sock.send(buf, (err) => {
          sock.close();
          if (err) reject(err); else resolve();
        });
      });
    });
  }

  private sendTcp(text: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host: this.opts.host, port: this.opts.port, signal });
      sock.setTimeout(this.opts.timeoutMs ?? 10_000, () => sock.destroy(new Error('syslog tcp timeout')));
      sock.once('error', reject);
      sock.once('connect', () => sock.end(octetFrame(text)));
      // Written and flushed to the kernel; the receiver closes its side when it reads our FIN.
      sock.once('finish', () => {
        resolve();
        setTimeout(() => sock.destroy(), 5_000).unref();
      });
    });
  }
}
