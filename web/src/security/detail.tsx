// One alert: its facts, acknowledge/close with an optional note, suspend/restore of its credential,
// the evidence (access-log positions, shown ungrouped as the CLI takes them), the state history and the actor's recent events.
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorBox, errorText } from '../ui.tsx';
import { word } from '../i18n/index.ts';
import { fmt } from '../i18n/fmt.ts';
import { AlertFacts, SeverityBadge, Time, kindWord } from './bits.tsx';
import { ReasonDialog } from './reason-dialog.tsx';
import { credentialOf, watch, type AlertDetail, type TimelineEvent } from './watch.ts';

export function AlertView({ id, onBack, onChanged }: { id: string; onBack: () => void; onChanged: () => void }) {
  const { t } = useTranslation();
  const [alert, setAlert] = useState<AlertDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);
  const focused = useRef(false);
  useEffect(() => {
    let live = true;
    watch.alert(id).then((a) => { if (live) setAlert(a); }, (e) => { if (live) setError(errorText(e)); });
    return () => { live = false; };
  }, [id, reload]);
  // The detail replaces the list: focus goes to its heading once, so keyboard and screen-reader users land on it.
  useEffect(() => { if (alert && !focused.current) { heading.current?.focus(); focused.current = true; } }, [alert]);
  const changed = (message: string) => { setStatus(message); setReload((n) => n + 1); onChanged(); };
  return (
    <section aria-labelledby="alert-h">
      <p><button type="button" className="link" onClick={onBack}>{t('security.back')}</button></p>
      <ErrorBox error={error} />
      <p role="status" className={status ? 'notice' : 'sr-only'}>{status}</p>
      {alert && (<>
        <div className="card-head">
          <SeverityBadge severity={alert.severity} />
          <h2 id="alert-h" tabIndex={-1} ref={heading}>{t('security.detailsOf', { kind: kindWord(alert.kind) })}</h2>
          <span className="state">{word('state', alert.state)}</span>
        </div>
        <p className="summary">{alert.summary}</p>
        <AlertFacts alert={alert} />
        {alert.credentialState && <p>{t('security.credentialState', { state: word('credentialState', alert.credentialState) })}</p>}
        <AlertActions alert={alert} onDone={changed} />
        <h3>{t('security.evidence')}</h3>
        <p className="hint">{t('security.evidenceHint')}</p>
        {alert.evidence.length ? <ul className="positions" data-testid="evidence">{alert.evidence.map((p) => <li key={p}>{p}</li>)}</ul>
          : <p className="none">{t('security.noEvidence')}</p>}
        <h3>{t('security.history')}</h3>
        {alert.history.length ? (
          <ol className="history" data-testid="history">{alert.history.map((h, i) => (
            <li key={i}><Time at={h.at} /> · {t('security.historyEntry', { state: word('state', h.state), by: h.by.label || `${word('actorKind', h.by.kind)} ${h.by.id}` })}
              {h.note && <q>{h.note}</q>}</li>
          ))}</ol>
        ) : <p className="none">{t('security.noHistory')}</p>}
        <Timeline events={alert.timeline} />
      </>)}
    </section>
  );
}

function AlertActions({ alert, onDone }: { alert: AlertDetail; onDone: (message: string) => void }) {
  const { t } = useTranslation();
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<'suspend' | 'restore' | null>(null);
  const cred = credentialOf(alert);
  const act = (call: typeof watch.ack, message: string) => async () => {
    setBusy(true); setError(null);
    try { await call(alert.id, note); setNote(''); onDone(message); } catch (e) { setError(errorText(e)); } finally { setBusy(false); }
  };
  return (
    <div className="actions">
      {alert.state !== 'closed' && (<>
        <label>{t('security.note')}
          <textarea name="note" value={note} maxLength={500} onChange={(e) => setNote(e.target.value)} />
        </label>
        <div className="buttons">
          {alert.state === 'open' && <button type="button" disabled={busy} onClick={act(watch.ack, t('security.acked'))}>{t('security.ack')}</button>}
          <button type="button" className="secondary" disabled={busy} onClick={act(watch.close, t('security.closed'))}>{t('security.close')}</button>
        </div>
      </>)}
      {cred && alert.credentialState !== 'revoked' && (
        <div className="buttons">
          {alert.credentialState === 'suspended'
            ? <button type="button" className="secondary" onClick={() => setDialog('restore')}>{t('security.restore')}</button>
            : <button type="button" className="danger" onClick={() => setDialog('suspend')}>{t('security.suspend')}</button>}
        </div>
      )}
      <ErrorBox error={error} />
      {dialog && cred && (
        <ReasonDialog mode={dialog} credential={cred} onClose={() => setDialog(null)}
          onDone={() => { setDialog(null); onDone(t(dialog === 'suspend' ? 'security.suspended' : 'security.restored')); }} />
      )}
    </div>
  );
}

function Timeline({ events }: { events: TimelineEvent[] }) {
  const { t } = useTranslation();
  return (<>
    <h3 id="timeline-h">{t('security.timeline')}</h3>
    {events.length === 0 ? <p className="none">{t('security.noTimeline')}</p> : (
      // A region that scrolls sideways on a narrow screen; focusable so that the keyboard can scroll it.
      <div className="scroll" role="region" aria-labelledby="timeline-h" tabIndex={0}>
        <table data-testid="timeline">
          <caption className="sr-only">{t('security.timelineCaption')}</caption>
          <thead><tr>
            <th scope="col">{t('security.position')}</th><th scope="col">{t('security.at')}</th><th scope="col">{t('security.action')}</th>
            <th scope="col">{t('security.outcome')}</th><th scope="col">{t('security.patientsLabel')}</th><th scope="col">{t('security.ip')}</th>
            <th scope="col">{t('security.purpose')}</th><th scope="col">{t('security.token')}</th>
          </tr></thead>
          <tbody>{events.map((e) => (
            <tr key={e.position} className={e.outcome === 'success' ? undefined : 'refused'}>
              <td className="num">{e.position}</td><td><Time at={e.at} /></td><td>{word('action', e.action)}</td>
              <td>{word('outcome', e.outcome)}</td><td className="num">{fmt.number(e.patients)}</td>
              <td className="mono">{e.ip ?? '—'}</td><td>{e.purpose}</td><td className="mono">{e.tokenId ?? '—'}</td>
            </tr>
          ))}</tbody>
        </table>
      </div>
    )}
  </>);
}
