// Detector `context`: a credential used from somewhere, or at a time, that is not its own.
//
// Rule. Per actor, learn the networks (/24 for IPv4, /64 for IPv6) and addresses of its successful
// events, its hours of the day (UTC hour histogram) and the tokens it used. An actor is learnt once
// it has 50 events over at least 2 distinct days; before that it only learns. Then, for a success:
// - a token or client (integrations run from fixed hosts) on a new network: high;
// - a person on a new network at an hour in which fewer than 1 % of its past events fall
//   (off-hours for this actor): high;
// - a person on a new network with a token it never used: medium.
// A person on a new network alone, or working late alone, is not raised (home, mobile, on-call:
// common, and raising it would drown the rest); it is learnt.
// Why: a stolen credential is typically used from the thief's network and at the thief's hours.
// Severity: high, medium for the new-token combination.
import { LruMap } from './bounded.ts';
import { DAY, candidate, credentialKey, who, type AlertCandidate, type CommittedAccessEvent, type Detector } from './types.ts';

export function networkOf(ip: string): string {
  if (ip.includes(':')) {
    const parts = ip.split('::')[0].split(':');
    return `${parts.slice(0, 4).join(':')}::/64`;
  }
  return `${ip.split('.').slice(0, 3).join('.')}.0/24`;
}

interface Profile { lastIp: string; lastNet: string; events: number; days: Set<number>; hours: number[]; nets: LruMap<string, true>; ips: LruMap<string, true>; tokens: LruMap<string, true> }

export const LEARN_EVENTS = 50;
export const OFF_HOURS_SHARE = 0.01;

export class ContextDetector implements Detector {
  readonly name = 'context';
  private readonly profiles: LruMap<string, Profile>;
  constructor(opts: { actorCap?: number } = {}) { this.profiles = new LruMap(opts.actorCap ?? 20_000); }

  observe(e: CommittedAccessEvent): AlertCandidate[] {
    if (e.outcome !== 'success' || !e.ip || e.actor.kind === 'system') return [];
    const isToken = e.tokenId !== null || e.actor.kind === 'token' || e.actor.kind === 'client';
    const key = credentialKey(e); // a person's events without a token: its account, as credentialOf gives
    const p = this.profiles.upsert(key, () => ({ lastIp: '', lastNet: '', events: 0, days: new Set(), hours: new Array(24).fill(0), nets: new LruMap(64), ips: new LruMap(256), tokens: new LruMap(32) }));
    if (e.ip !== p.lastIp) { p.lastIp = e.ip; p.lastNet = networkOf(e.ip); }
    const net = p.lastNet;
    const hour = e.at.getUTCHours();
    const learnt = p.events >= LEARN_EVENTS && p.days.size >= 2;
    const newNet = !p.nets.has(net);
    const offHours = p.hours[hour] < OFF_HOURS_SHARE * p.events;
    const newToken = e.tokenId !== null && !p.tokens.has(e.tokenId);
    const out: AlertCandidate[] = [];
    if (learnt && newNet) {
      if (isToken) out.push(candidate(e, 'context', 'high', e.patientIds.length, [e.position], `${who(e)} used from a network it never used before${offHours ? ', at an unusual hour' : ''}`));
      else if (offHours) out.push(candidate(e, 'context', 'high', e.patientIds.length, [e.position], `${who(e)} active from a new network at an hour it never works`));
      else if (newToken) out.push(candidate(e, 'context', 'medium', e.patientIds.length, [e.position], `${who(e)} active from a new network with a token it never used`));
    }
    p.events++;
    if (p.days.size < 8) p.days.add(Math.floor(e.at.getTime() / DAY));
    p.hours[hour]++;
    p.nets.set(net, true);
    p.ips.set(e.ip, true);
    if (e.tokenId) p.tokens.set(e.tokenId, true);
    return out;
  }

  tick(_now: Date): AlertCandidate[] { return []; }
}
