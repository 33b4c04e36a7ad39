// A local SMTP server for tests (smtp-server): accepts every message on 127.0.0.1 and keeps it in memory.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface SinkMail { to: string[]; raw: string }

export async function smtpSink(): Promise<{ url: string; mails: SinkMail[]; next(): Promise<SinkMail>; close(): Promise<void> }> {
  const mails: SinkMail[] = [];
  const waiters: ((m: SinkMail) => void)[] = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (d) => (raw += d));
      stream.on('end', () => {
        const m = { to: session.envelope.rcptTo.map((r) => r.address), raw };
        const w = waiters.shift();
        if (w) w(m); else mails.push(m);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}?ignoreTLS=true`,
    mails,
    next: () => {
      const m = mails.shift();
      if (m) return Promise.resolve(m);
      return new Promise<SinkMail>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no mail within 5 s')), 5000);
        waiters.push((x) => { clearTimeout(t); resolve(x); });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Decodes a quoted-printable body enough to find links and codes in it. */
export function mailText(raw: string): string {
  return raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16)));
}
