// Detector `auth`: attacks on the login itself.
//
// Rule. From auth.login and auth.mfa events with outcome failure, and auth.lockout:
// - failed-login burst: more than 8 failures for one account in 15 minutes: medium (the lockout
//   stops guessing at 5; failures that go on are someone who does not know the password);
// - credential stuffing: failures for at least 6 distinct accounts from one address in 10 minutes:
//   high (people who mistype do it on their own account; a list of accounts is a list);
// - second factor: 3 MFA failures for one account in 15 minutes, or a lockout caused by MFA
//   failures: high (an MFA failure follows a correct password: someone holds it);
// Why: credential stuffing and password spraying precede the misuse of valid credentials.
// Severity: medium for bursts, high for stuffing and second-factor failures.
import { DistinctWindow, EventWindow, LruMap } from './bounded.ts';
import { MINUTE, type AlertCandidate, type CommittedAccessEvent, type Detector } from './types.ts';

export const BURST_LIMIT = 8;
export const STUFFING_ACCOUNTS = 6;
export const MFA_LIMIT = 3;

export class AuthenticationDetector implements Detector {
  readonly name = 'auth';
  private readonly accounts = new LruMap<string, { fails: EventWindow; mfa: EventWindow }>(50_000);
  private readonly addresses = new LruMap<string, { accounts: DistinctWindow; evidence: EventWindow }>(50_000);

  observe(e: CommittedAccessEvent): AlertCandidate[] {
    const lockout = e.action === 'auth.lockout' && !!e.detail?.startsWith('mfa');
    if (!lockout && ((e.action !== 'auth.login' && e.action !== 'auth.mfa') || e.outcome !== 'failure')) return [];
    const out: AlertCandidate[] = [];
    const t = e.at.getTime();
    const acct = `${e.tenantId}|${e.actor.kind}:${e.actor.id}`;
    const base = (severity: AlertCandidate['severity'], evidence: number[], summary: string, key: string): AlertCandidate => ({
      tenantId: e.tenantId, kind: 'auth', severity, actor: { kind: e.actor.kind, id: e.actor.id }, tokenId: e.tokenId, at: e.at,
      patients: 0, evidence: evidence.slice(-50), summary, dedupKey: `${e.tenantId}|auth|${key}`,
    });
    if (lockout) {
      out.push(base('high', [e.position], `account ${e.actor.kind}:${e.actor.id} locked after second-factor failures: its password is known`, `${e.actor.kind}:${e.actor.id}`));
      return out;
    }
    const a = this.accounts.upsert(acct, () => ({ fails: new EventWindow(15 * MINUTE, 100), mfa: new EventWindow(15 * MINUTE, 100) }));
    const n = a.fails.add(t, e.position);
    if (n > BURST_LIMIT) out.push(base('medium', a.fails.positions(), `${n} failed logins in 15 minutes for account ${e.actor.kind}:${e.actor.id}`, `${e.actor.kind}:${e.actor.id}`));
    if (e.action === 'auth.mfa') {
      const m = a.mfa.add(t, e.position);
      if (m >= MFA_LIMIT) out.push(base('high', a.mfa.positions(), `${m} second-factor failures in 15 minutes for account ${e.actor.kind}:${e.actor.id}: its password is known`, `${e.actor.kind}:${e.actor.id}`));
    }
    if (e.ip) {
      const ad = this.addresses.upsert(`${e.tenantId}|${e.ip}`, () => ({ accounts: new DistinctWindow(10 * MINUTE, 1000), evidence: new EventWindow(10 * MINUTE, 200) }));
      ad.accounts.add(`${e.actor.kind}:${e.actor.id}`, t);
      ad.evidence.add(t, e.position);
      const k = ad.accounts.count(t);
      if (k >= STUFFING_ACCOUNTS) out.push(base('high', ad.evidence.positions(), `failed logins for ${k} distinct accounts from one address in 10 minutes (address ${e.ip})`, `ip:${e.ip}`));
    }
    return out;
  }

  tick(_now: Date): AlertCandidate[] { return []; }
}
