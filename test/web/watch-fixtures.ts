// Stand-in for the watch API (contract: /work/shared-prompts/watch-api.md) while the server side is
// built elsewhere: the answers a Playwright route gives to /watch/**, with the state the page changes
// (acknowledge, close, suspend, restore) kept per page. Summaries are the server's own text (English).
import type { Route } from 'playwright-core';

const at = (minutesAgo: number) => new Date(Date.UTC(2026, 10, 20, 9, 30) - minutesAgo * 60_000).toISOString();

export function watchState() {
  const alerts: any[] = [
    {
      id: 'al_enum1', tenantId: 'lab', kind: 'enumeration', severity: 'high', state: 'open',
      actor: { kind: 'user', id: 'acc_7f3c', label: 'acc_7f3c' }, tokenId: null, firstAt: at(42), lastAt: at(3), patients: 1240,
      summary: '1,240 distinct patients read in 39 minutes, in identifier order', credentialState: 'active',
    },
    {
      id: 'al_host1', tenantId: null, kind: 'host.listener', severity: 'critical', state: 'open', actor: null, tokenId: null,
      firstAt: at(15), lastAt: at(15), patients: 0, summary: 'new listening port 27015/udp (process srcds_linux)',
    },
    {
      id: 'al_budget1', tenantId: 'lab', kind: 'budget', severity: 'medium', state: 'acknowledged',
      actor: { kind: 'token', id: 'tok_lims', label: 'LIMS Vannes' }, tokenId: 'tok_lims', firstAt: at(300), lastAt: at(290), patients: 500,
      summary: 'hourly patient budget of 500 reached; token suspended automatically', credentialState: 'suspended',
    },
  ];
  const credentials: any[] = [{
    kind: 'token', id: 'tok_lims', label: 'LIMS Vannes', role: 'service', state: 'suspended', suspendedAt: at(290),
    reason: 'Budget of 500 patients per hour reached', alertId: 'al_budget1', budget: { used: 500, limit: 500 },
  }];
  const detail = (a: any) => ({
    ...a,
    evidence: a.tenantId ? [10452, 10453, 10467, 10480] : [],
    history: [{ state: 'open', by: { kind: 'system', id: 'watch', label: 'watch' }, at: a.firstAt },
      ...(a.state !== 'open' ? [{ state: a.state, by: { kind: 'user', id: 'acc_dpo', label: 'dpo@example.fr' }, at: a.lastAt, note: 'Vu, en cours d’examen' }] : [])],
    timeline: a.actor ? Array.from({ length: 6 }, (_, i) => ({
      position: 10480 - i * 7, at: at(3 + i * 6), action: i % 3 === 0 ? 'search' : 'read', outcome: i === 2 ? 'denied' : 'success',
      patients: i % 3 === 0 ? 50 : 1, ip: '192.0.2.44', purpose: 'TREAT', tokenId: a.tokenId,
    })) : [],
  });
  return { alerts, credentials, detail };
}

export interface WatchCall { method: string; path: string; csrf: string | undefined; body: any }

/** Answers one /watch/** request from the state, as the contract says; records it in calls. */
export async function answer(route: Route, state: ReturnType<typeof watchState>, calls: WatchCall[]): Promise<void> {
  const req = route.request();
  const url = new URL(req.url());
  const body = req.postData() ? JSON.parse(req.postData()!) : undefined;
  calls.push({ method: req.method(), path: url.pathname + url.search, csrf: req.headers()['x-csrf-token'], body });
  const json = (status: number, data: unknown) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(data) });
  const outcome = (status: number, text: string) => json(status, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: text }] });
  const p = url.pathname;
  if (req.method() === 'GET' && p === '/watch/alerts') {
    const s = url.searchParams.get('state') ?? 'open';
    return json(200, { alerts: state.alerts.filter((a) => s === 'all' || a.state === s) });
  }
  const m = /^\/watch\/alerts\/([^/]+)(?:\/(ack|close))?$/.exec(p);
  const alert = m && state.alerts.find((a) => a.id === decodeURIComponent(m[1]));
  if (m && !alert) return outcome(404, 'no such alert');
  if (alert && req.method() === 'GET' && !m![2]) return json(200, state.detail(alert));
  if (alert && req.method() === 'POST' && m![2]) {
    alert.state = m![2] === 'ack' ? 'acknowledged' : 'closed';
    return json(200, alert);
  }
  if (req.method() === 'GET' && p === '/watch/credentials') return json(200, { credentials: state.credentials.filter((c) => c.state === 'suspended') });
  const c = /^\/watch\/credentials\/(suspend|restore)$/.exec(p);
  if (c && req.method() === 'POST') {
    const reason = String(body?.reason ?? '').trim();
    if (reason.length < 10 || reason.length > 500) return outcome(400, 'a reason of 10 to 500 characters is required');
    const suspended = c[1] === 'suspend';
    let cred = state.credentials.find((x) => x.kind === body.kind && x.id === body.id);
    if (!cred) state.credentials.push(cred = { kind: body.kind, id: body.id, label: body.id, role: 'reader', budget: null, alertId: null });
    Object.assign(cred, { state: suspended ? 'suspended' : 'active', suspendedAt: suspended ? new Date().toISOString() : null, reason: suspended ? reason : null });
    for (const a of state.alerts) if ((a.tokenId ?? a.actor?.id) === body.id) a.credentialState = cred.state;
    return json(200, cred);
  }
  return outcome(404, `not in the contract: ${req.method()} ${p}`);
}
