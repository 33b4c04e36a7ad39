// Alert delivery: a channel sends one AlertMessage once; the dispatcher retries and reports outcomes.
import type { AlertMessage } from '../../core/watch-types.ts';

export interface Channel {
  /** webhook, smtp, syslog-udp, syslog-tcp: the name outcomes are recorded under. */
  readonly name: string;
  /** One attempt. Throws on failure; a PermanentDeliveryError is not retried. */
  send(msg: AlertMessage, signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}

/** A failure that retrying cannot fix (a 4xx answer, a refused recipient). */
export class PermanentDeliveryError extends Error {}

export interface DeliveryOutcome {
  channel: string;
  alertId: string;
  ok: boolean;
  attempts: number;
  /** Short reason of the last failure (no message content). */
  error: string | null;
  at: Date;
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Delay before the second attempt; doubles each time, capped at maxDelayMs, times a jitter in [0.5, 1.5). */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** 6 attempts, waits of about 10, 20, 40, 80, 160 s: the last try ~5 min after the first. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 10_000, maxDelayMs: 160_000 };

export function backoffDelay(policy: RetryPolicy, failedAttempt: number, random: () => number = Math.random): number {
  const d = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempt - 1));
  return Math.round(d * (0.5 + random()));
}
