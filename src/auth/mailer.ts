// Outgoing mail through SMTP (nodemailer). Messages carry a link or a code and nothing else: no name,
// no clinical data, no e-mail of anyone else. Without CERBERE_SMTP_URL nothing is sent (the CLI prints
// invitation links itself); a send failure is reported to the caller, never with the address.
import nodemailer, { type Transporter } from 'nodemailer';

export interface Mail { to: string; subject: string; text: string }
export interface Mailer { readonly enabled: boolean; send(m: Mail): Promise<void>; close(): void }

export function openMailer(smtpUrl: string | null, from: string): Mailer {
  if (!smtpUrl) return { enabled: false, send: async () => {}, close: () => {} };
  const transport: Transporter = nodemailer.createTransport(smtpUrl);
  return {
    enabled: true,
    send: async (m) => { await transport.sendMail({ from, to: m.to, subject: m.subject, text: m.text }); },
    close: () => transport.close(),
  };
}
