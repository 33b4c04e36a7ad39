// Probe: bytes in and out per network interface (/proc/net/dev) against a learned baseline rate.
// The baseline is an EWMA of the per-check rate; a deviation is a rate above k × baseline AND above an
// absolute floor; `sustain` consecutive deviating checks raise one alert (the 2010 game-server case was
// found only through lost bandwidth).
import { readText } from './procfs.ts';

export interface IfaceCounters { rx: number; tx: number }

export function parseNetDev(text: string): Map<string, IfaceCounters> {
  const out = new Map<string, IfaceCounters>();
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16) continue;
    out.set(name, { rx: f[0], tx: f[8] });
  }
  return out;
}

export interface EgressOptions {
  /** EWMA weight of the newest rate (0..1). */
  alpha: number;
  /** Deviation factor over the baseline rate. */
  k: number;
  /** Absolute floor, bytes per second: below it nothing alerts, whatever the ratio. */
  floorBytesPerSec: number;
  /** Consecutive deviating checks before alerting. */
  sustain: number;
  /** Rates needed before the baseline is trusted. */
  warmup: number;
  /** Interfaces not watched (loopback by default). */
  ignore: readonly string[];
}

export const DEFAULT_EGRESS: EgressOptions = { alpha: 0.1, k: 4, floorBytesPerSec: 256 * 1024, sustain: 4, warmup: 8, ignore: ['lo'] };

export interface DirBaseline { rate: number; samples: number }
export interface IfaceBaseline { rx: DirBaseline; tx: DirBaseline }

export interface EgressFinding { iface: string; dir: 'in' | 'out'; rate: number; baseline: number; checks: number }

export class EgressProbe {
  baselines = new Map<string, IfaceBaseline>();
  current = new Map<string, { rx: number; tx: number }>();
  private last: { at: number; counters: Map<string, IfaceCounters> } | null = null;
  private streak = new Map<string, number>();

  constructor(private readonly opts: EgressOptions = DEFAULT_EGRESS, private readonly procRoot = '/proc') {}

  read(): Map<string, IfaceCounters> {
    const t = readText(`${this.procRoot}/net/dev`);
    return t === null ? new Map() : parseNetDev(t);
  }

  /** Feeds one reading (ms timestamp); returns the deviations sustained long enough (every check while they last). */
  sample(atMs: number, counters: Map<string, IfaceCounters> = this.read()): EgressFinding[] {
    const prev = this.last;
    this.last = { at: atMs, counters };
    if (!prev || atMs <= prev.at) return [];
    const dt = (atMs - prev.at) / 1000;
    const findings: EgressFinding[] = [];
    for (const [iface, c] of counters) {
      if (this.opts.ignore.includes(iface)) continue;
      const p = prev.counters.get(iface);
      if (!p || c.rx < p.rx || c.tx < p.tx) continue; // new interface or counters reset
      const rates = { rx: (c.rx - p.rx) / dt, tx: (c.tx - p.tx) / dt };
      this.current.set(iface, rates);
      let b = this.baselines.get(iface);
      if (!b) { b = { rx: { rate: 0, samples: 0 }, tx: { rate: 0, samples: 0 } }; this.baselines.set(iface, b); }
      for (const dir of ['rx', 'tx'] as const) {
        const f = this.step(`${iface}|${dir}`, b[dir], rates[dir]);
        if (f) findings.push({ iface, dir: dir === 'rx' ? 'in' : 'out', rate: rates[dir], baseline: b[dir].rate, checks: f });
      }
    }
    return findings;
  }

  private step(key: string, b: DirBaseline, rate: number): number | null {
    const o = this.opts;
    const deviating = b.samples >= o.warmup && rate > o.floorBytesPerSec && rate > o.k * Math.max(b.rate, 1);
    if (!deviating) {
      // Learn only from normal traffic, so an attack does not become the baseline by itself.
      b.rate = b.samples === 0 ? rate : o.alpha * rate + (1 - o.alpha) * b.rate;
      b.samples++;
      this.streak.delete(key);
      return null;
    }
    const n = (this.streak.get(key) ?? 0) + 1;
    this.streak.set(key, n);
    return n >= o.sustain ? n : null;
  }

  /** `accept`: the current rates become the baseline. */
  acceptCurrent(): void {
    for (const [iface, r] of this.current) {
      const b = this.baselines.get(iface);
      if (b) { b.rx.rate = r.rx; b.tx.rate = r.tx; }
    }
    this.streak.clear();
  }
}

export function formatRate(bps: number): string {
  if (bps >= 1024 * 1024) return `${(bps / 1024 / 1024).toFixed(1)} MiB/s`;
  if (bps >= 1024) return `${(bps / 1024).toFixed(1)} KiB/s`;
  return `${Math.round(bps)} B/s`;
}
