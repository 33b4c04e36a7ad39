// Runs the detection engine on the committed access-event stream: each batch (in log order) is prefetched for
// the care oracle and the canary lists, fed event by event, and the resulting candidates go to Watch (stored,
// delivered, contained). Candidates merged into an open alert are folded per key and batch, so a long
// extraction is one alert whose evidence grows, at one update per batch. A timer ticks the time-based checks.
import type { CommittedAccessEvent, AlertCandidate } from '../core/watch-types.ts';
import { Engine } from './engine.ts';
import { LiveCareOracle } from './live-oracle.ts';
import type { Watch } from './watch.ts';

const TICK_MS = 5_000;

export class DetectionRunner {
  readonly engine: Engine;
  private timer: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();
  /** Events seen and the position of the last one per tenant (operator's status, metrics). */
  readonly stats = { events: 0, raised: 0, last: new Map<string, number>() };

  constructor(private readonly watch: Watch, readonly oracle: LiveCareOracle, private readonly report: (m: string) => void = () => {}) {
    this.engine = new Engine({ care: oracle, isCanary: (t, p) => watch.canaries.has(t, p) });
  }

  /** One batch of committed events, in log order. Resolves once its alerts are stored. */
  async onEvents(events: CommittedAccessEvent[]): Promise<void> {
    const run = this.busy.then(() => this.feed(events));
    this.busy = run.catch(() => {});
    return run;
  }

  private async feed(events: CommittedAccessEvent[]): Promise<void> {
    if (!events.length) return;
    await this.oracle.prefetch(events);
    for (const t of new Set(events.map((e) => e.tenantId))) await this.watch.canaries.refresh(t);
    const raised: AlertCandidate[] = [];
    const merged = new Map<string, AlertCandidate>();
    for (const e of events) {
      const o = this.engine.observeAll(e);
      raised.push(...o.raised);
      for (const c of o.merged) merged.set(c.dedupKey, fold(merged.get(c.dedupKey), c));
      this.stats.events++;
      this.stats.last.set(e.tenantId, e.position);
    }
    await this.store(raised, merged);
  }

  private async store(raised: AlertCandidate[], merged: Map<string, AlertCandidate>): Promise<void> {
    for (const c of raised) { await this.watch.raise(c); this.stats.raised++; }
    for (const c of merged.values()) await this.watch.raise(c);
  }

  async tick(now = new Date()): Promise<void> {
    const run = this.busy.then(async () => {
      await this.oracle.refreshRecent(now.getTime());
      const o = this.engine.tickAll(now);
      const merged = new Map<string, AlertCandidate>();
      for (const c of o.merged) merged.set(c.dedupKey, fold(merged.get(c.dedupKey), c));
      await this.store(o.raised, merged);
    });
    this.busy = run.catch(() => {});
    return run;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => { this.tick().catch(() => this.report('detection tick failed (database unavailable?)')); }, TICK_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.busy;
  }
}

function fold(a: AlertCandidate | undefined, b: AlertCandidate): AlertCandidate {
  if (!a) return b;
  return { ...b, at: a.at > b.at ? a.at : b.at, patients: Math.max(a.patients, b.patients), evidence: [...a.evidence, ...b.evidence].slice(-200) };
}
