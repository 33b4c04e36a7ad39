// Webhook channel: POSTs the alert as JSON, signed so the receiver can check origin, integrity and freshness.
//
// Scheme (see docs/sentinel.md):
//   X-Cerbere-Timestamp: <unix seconds when this attempt was signed>
//   X-Cerbere-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body bytes>")>
//   X-Cerbere-Delivery:  <alert id>:<lastAt> (the same for every retry of one delivery: an idempotency key)
// The receiver recomputes the HMAC over the exact raw body, compares in constant time, and refuses a
// timestamp more than 300 s away from its clock; within that window it refuses a signature already seen.
// Each retry is signed afresh with a new timestamp, so a retry minutes later is still accepted.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AlertMessage } from '../../core/watch-types.ts';
import { PermanentDeliveryError, type Channel } from './types.ts';

export const SIGNATURE_HEADER = 'x-cerbere-signature';
export const TIMESTAMP_HEADER = 'x-cerbere-timestamp';
export const DELIVERY_HEADER = 'x-cerbere-delivery';
export const TOLERANCE_SECONDS = 300;

export function sign(secret: string, timestamp: number, rawBody: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

/** Receiver side: true when the signature is valid and the timestamp within the tolerance. */
export function verifySignature(secret: string, rawBody: string | Buffer, timestampHeader: string | undefined, signatureHeader: string | undefined,
  nowSeconds = Math.floor(Date.now() / 1000), toleranceSeconds = TOLERANCE_SECONDS): boolean {
  if (!timestampHeader || !signatureHeader || !/^\d{1,12}$/.test(timestampHeader)) return false;
  const ts = Number(timestampHeader);
  if (Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(sign(secret, ts, rawBody));
  const got = Buffer.from(signatureHeader);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export interface WebhookOptions {
  url: string;
  secret: string;
  /** Per-attempt timeout. */
  timeoutMs?: number;
  now?: () => number;
}

export class WebhookChannel implements Channel {
  readonly name = 'webhook';
  constructor(private readonly opts: WebhookOptions) {}

  async send(msg: AlertMessage, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify(msg);
    const ts = Math.floor((this.opts.now?.() ?? Date.now()) / 1000);
    const res = await fetch(this.opts.url, {
      method: 'POST',
      body,
      redirect: 'error',
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.opts.timeoutMs ?? 10_000)]),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'cerbere-alerts',
        [TIMESTAMP_HEADER]: String(ts),
        [SIGNATURE_HEADER]: sign(this.opts.secret, ts, body),
        [DELIVERY_HEADER]: `${msg.id}:${msg.lastAt}`,
      },
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return;
    const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
    const err = `HTTP ${res.status}`;
    throw retryable ? new Error(err) : new PermanentDeliveryError(err);
  }
}
