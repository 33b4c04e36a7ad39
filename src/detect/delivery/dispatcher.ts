// The alert dispatcher: channels built from env-like settings (a plain object: this module never reads
// process.env), one delivery per channel per alert, retried with exponential backoff and jitter, never
// blocking the caller; each channel's final outcome goes to a callback so the caller records its status.
import { hostname } from 'node:os';
import type { AlertMessage } from '../../core/watch-types.ts';
import { backoffDelay, DEFAULT_RETRY, PermanentDeliveryError, type Channel, type DeliveryOutcome, type RetryPolicy } from './types.ts';
import { WebhookChannel } from './webhook.ts';
import { SmtpChannel } from './smtp.ts';
import { FACILITIES, SyslogChannel } from './syslog.ts';

export interface DeliverySettings {
  CERBERE_ALERT_WEBHOOK_URL?: string;
  CERBERE_ALERT_WEBHOOK_SECRET?: string;
  CERBERE_ALERT_SMTP_URL?: string;
  CERBERE_ALERT_MAIL_TO?: string;
  CERBERE_ALERT_MAIL_FROM?: string;
  CERBERE_SYSLOG_URL?: string;
  /** kern, user, daemon, auth, local0 … local7 (default local4). */
  CERBERE_SYSLOG_FACILITY?: string;
}

export interface DeliveryConfig {
  webhook: { url: string; secret: string } | null;
  smtp: { url: string; to: string[]; from: string } | null;
  syslog: { protocol: 'udp' | 'tcp'; host: string; port: number; facility: number } | null;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** Validates the settings; throws one error listing every problem (a half-configured channel is refused). */
export function deliveryConfig(s: DeliverySettings): DeliveryConfig {
  const problems: string[] = [];
  const cfg: DeliveryConfig = { webhook: null, smtp: null, syslog: null };
  if (s.CERBERE_ALERT_WEBHOOK_URL) {
    let u: URL | null = null;
    try { u = new URL(s.CERBERE_ALERT_WEBHOOK_URL); } catch { problems.push('CERBERE_ALERT_WEBHOOK_URL is not a URL'); }
    if (u && u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.test(u.hostname))) problems.push('CERBERE_ALERT_WEBHOOK_URL must be https (http only to loopback)');
    const secret = s.CERBERE_ALERT_WEBHOOK_SECRET ?? '';
    if (secret.length < 16) problems.push('CERBERE_ALERT_WEBHOOK_SECRET must be set (16 characters or more) with a webhook URL');
    if (u) cfg.webhook = { url: u.toString(), secret };
  } else if (s.CERBERE_ALERT_WEBHOOK_SECRET) {
    problems.push('CERBERE_ALERT_WEBHOOK_SECRET is set without CERBERE_ALERT_WEBHOOK_URL');
  }
  if (s.CERBERE_ALERT_SMTP_URL) {
    if (!/^smtps?:\/\//.test(s.CERBERE_ALERT_SMTP_URL)) problems.push('CERBERE_ALERT_SMTP_URL must be smtp:// or smtps://');
    const to = (s.CERBERE_ALERT_MAIL_TO ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    if (to.length === 0) problems.push('CERBERE_ALERT_MAIL_TO must list at least one address with CERBERE_ALERT_SMTP_URL');
    cfg.smtp = { url: s.CERBERE_ALERT_SMTP_URL, to, from: s.CERBERE_ALERT_MAIL_FROM || `cerbere-alerts@${hostname()}` };
  } else if (s.CERBERE_ALERT_MAIL_TO) {
    problems.push('CERBERE_ALERT_MAIL_TO is set without CERBERE_ALERT_SMTP_URL');
  }
  if (s.CERBERE_SYSLOG_URL) {
    const m = /^(udp|tcp):\/\/(\[[0-9a-fA-F:.]+\]|[^:/[\]]+)(?::(\d{1,5}))?\/?$/.exec(s.CERBERE_SYSLOG_URL);
    const facility = FACILITIES[s.CERBERE_SYSLOG_FACILITY ?? 'local4'];
    if (!m) problems.push('CERBERE_SYSLOG_URL must look like udp://host:514 or tcp://host:601');
    if (facility === undefined) problems.push(`CERBERE_SYSLOG_FACILITY must be one of ${Object.keys(FACILITIES).join(', ')}`);
    if (m && facility !== undefined) {
      cfg.syslog = { protocol: m[1] as 'udp' | 'tcp', host: m[2].replace(/^\[|\]$/g, ''), port: m[3] ? Number(m[3]) : 514, facility };
    }
  }
  if (problems.length > 0) throw new Error(`alert delivery settings: ${problems.join('; ')}`);
  return cfg;
}

export function channelsFrom(cfg: DeliveryConfig): Channel[] {
  const out: Channel[] = [];
  if (cfg.webhook) out.push(new WebhookChannel(cfg.webhook));
  if (cfg.smtp) out.push(new SmtpChannel(cfg.smtp));
  if (cfg.syslog) out.push(new SyslogChannel(cfg.syslog));
  return out;
}

export interface DispatcherOptions {
  retry?: Partial<RetryPolicy>;
  onOutcome?: (o: DeliveryOutcome) => void;
  random?: () => number;
}

export class Dispatcher {
  private readonly retry: RetryPolicy;
  private readonly stop = new AbortController();
  private readonly pending = new Set<Promise<DeliveryOutcome[]>>();

  constructor(readonly channels: Channel[], private readonly opts: DispatcherOptions = {}) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
  }

  /** Starts delivery on every channel and returns at once; the promise (never rejected) is for tests and CLIs. */
  dispatch(msg: AlertMessage): Promise<DeliveryOutcome[]> {
    const p = Promise.all(this.channels.map((c) => this.deliver(c, msg)));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  private async deliver(channel: Channel, msg: AlertMessage): Promise<DeliveryOutcome> {
    // Nothing of the delivery runs in the caller's turn (the first fetch alone loads undici for ~100 ms).
    await new Promise((r) => setImmediate(r));
    let error: string | null = null;
    let attempt = 0;
    while (attempt < this.retry.attempts && !this.stop.signal.aborted) {
      attempt++;
      try {
        await channel.send(msg, this.stop.signal);
        return this.report({ channel: channel.name, alertId: msg.id, ok: true, attempts: attempt, error: null, at: new Date() });
      } catch (err) {
        error = err instanceof Error ? err.message.slice(0, 200) : String(err).slice(0, 200);
        if (err instanceof PermanentDeliveryError) break;
        if (attempt < this.retry.attempts) await this.wait(backoffDelay(this.retry, attempt, this.opts.random));
      }
    }
    return this.report({ channel: channel.name, alertId: msg.id, ok: false, attempts: attempt, error: error ?? 'stopped', at: new Date() });
  }

  private report(o: DeliveryOutcome): DeliveryOutcome {
    try { this.opts.onOutcome?.(o); } catch { /* the caller's callback must not break delivery */ }
    return o;
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const onAbort = (): void => { clearTimeout(t); resolve(); };
      const t = setTimeout(() => { this.stop.signal.removeEventListener('abort', onAbort); resolve(); }, ms);
      this.stop.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Waits for deliveries in flight (up to their retries) or, with abort, cancels pending retries. */
  async close({ abort = false } = {}): Promise<void> {
    if (abort) this.stop.abort();
    await Promise.all([...this.pending]);
    await Promise.all(this.channels.map((c) => c.close?.()));
  }
}

/** Settings → dispatcher in one call (the caller passes process.env or a parsed config file). */
export function dispatcherFromSettings(s: DeliverySettings, opts?: DispatcherOptions): Dispatcher {
  return new Dispatcher(channelsFrom(deliveryConfig(s)), opts);
}
