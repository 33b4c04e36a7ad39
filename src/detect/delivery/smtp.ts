// SMTP channel (nodemailer, URL config such as smtp://host:587 or smtps://user:pass@host:465): a plain-text
// mail made of the alert's fields only. Alerts carry internal ids and counts, never PHI.
import nodemailer, { type Transporter } from 'nodemailer';
import type { AlertMessage } from '../../core/watch-types.ts';
import { PermanentDeliveryError, type Channel } from './types.ts';

export interface SmtpOptions { url: string; to: string[]; from: string }

export function mailSubject(m: AlertMessage): string {
  return `[Cerbère alert] ${m.severity.toUpperCase()} ${m.kind} — ${m.tenantId === null ? 'host' : `tenant ${m.tenantId}`}`;
}

export function mailText(m: AlertMessage): string {
  return [
    m.summary,
    '',
    `id:        ${m.id}`,
    `kind:      ${m.kind}`,
    `severity:  ${m.severity}`,
    `state:     ${m.state}`,
    `tenant:    ${m.tenantId ?? '(host alert, every tenant)'}`,
    `actor:     ${m.actor ? `${m.actor.kind} ${m.actor.id}` : '-'}`,
    `token:     ${m.tokenId ?? '-'}`,
    `first at:  ${m.firstAt}`,
    `last at:   ${m.lastAt}`,
    `patients:  ${m.patients}`,
    '',
    'Review it with `cerbere alerts list` or in the DPO console.',
    '',
  ].join('\n');
}

export class SmtpChannel implements Channel {
  readonly name = 'smtp';
  private readonly transport: Transporter;

  constructor(private readonly opts: SmtpOptions) {
    this.transport = nodemailer.createTransport(opts.url);
  }

  async send(msg: AlertMessage, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new Error('aborted');
    try {
      await this.transport.sendMail({ from: this.opts.from, to: this.opts.to, subject: mailSubject(msg), text: mailText(msg) });
    } catch (err) {
      const code = (err as { responseCode?: number }).responseCode;
      const text = `SMTP ${code ?? (err as { code?: string }).code ?? 'error'}`;
      throw code !== undefined && code >= 500 && code < 600 ? new PermanentDeliveryError(text) : new Error(text);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
