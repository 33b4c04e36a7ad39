// The suspended credentials of the tenant, each with its reason, budget, alert and a restore button.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorBox, errorText } from '../ui.tsx';
import { word } from '../i18n/index.ts';
import { Time } from './bits.tsx';
import { ReasonDialog } from './reason-dialog.tsx';
import { watch, type Credential } from './watch.ts';

export function SuspendedList({ version, onOpen, onChanged }: { version: number; onOpen: (alertId: string) => void; onChanged: () => void }) {
  const { t } = useTranslation();
  const [credentials, setCredentials] = useState<Credential[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [restoring, setRestoring] = useState<Credential | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    watch.suspended().then((c) => { if (live) setCredentials(c); }, (e) => { if (live) { setCredentials([]); setError(errorText(e)); } });
    return () => { live = false; };
  }, [version]);
  return (
    <section aria-labelledby="suspended-h">
      <h2 id="suspended-h">{t('security.suspendedTitle')}</h2>
      <ErrorBox error={error} />
      <p role="status" className={status ? 'notice' : 'sr-only'}>{status}</p>
      {credentials === null ? <p>{t('common.loading')}</p> : credentials.length === 0 ? <p className="none">{t('security.noSuspended')}</p> : (
        <ul className="cards" data-testid="suspended">
          {credentials.map((c) => (
            <li key={`${c.kind}:${c.id}`} className="card">
              <div className="card-head">
                <h3 id={`c-${c.kind}-${c.id}`}>{word('credentialKind', c.kind)} <span className="mono">{c.label}</span></h3>
                <span className="state">{word('credentialState', c.state)}</span>
              </div>
              <dl className="facts">
                <dt>{t('security.role')}</dt><dd>{word('role', c.role)}</dd>
                <dt>{t('security.suspendedAt')}</dt><dd><Time at={c.suspendedAt} /></dd>
                <dt>{t('security.reasonCol')}</dt><dd>{c.reason}</dd>
                {c.budget && (<><dt>{t('security.budget')}</dt><dd>{t('security.budgetValue', { used: c.budget.used, limit: c.budget.limit })}</dd></>)}
              </dl>
              <div className="buttons">
                {c.alertId && <button type="button" className="secondary" aria-describedby={`c-${c.kind}-${c.id}`} onClick={() => onOpen(c.alertId!)}>{t('security.alert')}</button>}
                {c.state === 'suspended' && (
                  <button type="button" aria-describedby={`c-${c.kind}-${c.id}`} onClick={() => setRestoring(c)}>{t('security.restore')}</button>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
      {restoring && (
        <ReasonDialog mode="restore" credential={restoring} onClose={() => setRestoring(null)}
          onDone={() => { setRestoring(null); setStatus(t('security.restored')); onChanged(); }} />
      )}
    </section>
  );
}
