// The DPO's security page (/security): open alerts with a state filter, an alert's detail (evidence,
// history, the actor's timeline, acknowledge/close, suspend/restore its credential) and the suspended
// credentials. Built against the watch API contract; roles dpo and admin (the API answers 403 to others).
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorBox, errorText } from './ui.tsx';
import { Shell, useMe } from './staff.tsx';
import { AlertFacts, SeverityBadge, kindWord } from './security/bits.tsx';
import { AlertView } from './security/detail.tsx';
import { SuspendedList } from './security/credentials.tsx';
import { word } from './i18n/index.ts';
import { ALERT_FILTERS, watch, type Alert, type AlertFilter } from './security/watch.ts';

export function SecurityPage() {
  const { t } = useTranslation();
  const me = useMe();
  const [alertId, setAlertId] = useState<string | null>(() => new URLSearchParams(location.search).get('alert'));
  const [lastOpened, setLastOpened] = useState<string | null>(null);
  // Bumped after a suspension or restoration so that both lists reload.
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const pop = () => setAlertId(new URLSearchParams(location.search).get('alert'));
    addEventListener('popstate', pop);
    return () => removeEventListener('popstate', pop);
  }, []);
  if (!me) return null;
  if (me.kind === 'patient') { location.assign('/portal'); return null; }
  const open = (id: string) => { history.pushState(null, '', `/security?alert=${encodeURIComponent(id)}`); setLastOpened(id); setAlertId(id); };
  const back = () => { history.pushState(null, '', '/security'); setAlertId(null); };
  return (
    <Shell me={me}>
      <h1>{t('security.title')}</h1>
      <p className="hint">{t('security.intro')}</p>
      {alertId ? <AlertView id={alertId} onBack={back} onChanged={() => setVersion((v) => v + 1)} />
        : <AlertList onOpen={open} focusId={lastOpened} version={version} />}
      <SuspendedList version={version} onOpen={open} onChanged={() => setVersion((v) => v + 1)} />
    </Shell>
  );
}

function AlertList({ onOpen, focusId, version }: { onOpen: (id: string) => void; focusId: string | null; version: number }) {
  const { t } = useTranslation();
  const [filter, setFilter] = useState<AlertFilter>('open');
  const [alerts, setAlerts] = useState<Alert[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const list = useRef<HTMLUListElement>(null);
  useEffect(() => {
    let live = true;
    setError(null);
    watch.alerts(filter).then((a) => { if (live) setAlerts(a); }, (e) => { if (live) { setAlerts([]); setError(errorText(e)); } });
    return () => { live = false; };
  }, [filter, version]);
  // Back from a detail: focus returns to the button that opened it.
  useEffect(() => { if (alerts && focusId) list.current?.querySelector<HTMLElement>(`[data-alert="${CSS.escape(focusId)}"]`)?.focus(); }, [alerts, focusId]);
  return (
    <section aria-labelledby="alerts-h">
      <div className="section-head">
        <h2 id="alerts-h">{t('security.alerts')}</h2>
        <label className="inline">{t('security.filter')}
          <select name="state" value={filter} onChange={(e) => setFilter(e.target.value as AlertFilter)}>
            {ALERT_FILTERS.map((f) => <option key={f} value={f}>{t(`filter.${f}`)}</option>)}
          </select>
        </label>
      </div>
      <ErrorBox error={error} />
      {alerts === null ? <p>{t('common.loading')}</p> : alerts.length === 0 ? <p className="none">{t('security.noAlerts')}</p> : (
        <ul className="cards" ref={list} data-testid="alerts">
          {alerts.map((a) => (
            <li key={a.id} className={`card sev-border-${a.severity}`}>
              <div className="card-head">
                <SeverityBadge severity={a.severity} />
                <h3 id={`k-${a.id}`}>{kindWord(a.kind)}</h3>
                <span className="state">{word('state', a.state)}</span>
              </div>
              <p className="summary">{a.summary}</p>
              <AlertFacts alert={a} />
              <button type="button" data-alert={a.id} aria-describedby={`k-${a.id}`} onClick={() => onOpen(a.id)}>{t('security.details')}</button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
