// Patient portal: their own results, and who accessed their record ($access-log) with receipts.
import { useEffect, useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { word } from './i18n/index.ts';
import { fmt } from './i18n/fmt.ts';
import { api } from './api.ts';
import { ErrorBox, errorText } from './ui.tsx';
import { ObservationTable, allEntries } from './fhir.tsx';
import { Shell, useMe } from './staff.tsx';

const part = (p: any, name: string): any => {
  const x = p.part?.find((q: any) => q.name === name);
  return x ? (x.valueString ?? x.valueDateTime ?? x.valueInstant ?? x.valueInteger ?? x.valueBoolean ?? x.valueCode ?? x.valueUri ?? x.valueUrl) : undefined;
};

export function PortalPage() {
  const { t } = useTranslation();
  const me = useMe();
  const [observations, setObservations] = useState<any[] | null>(null);
  const [log, setLog] = useState<any[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!me) return;
    if (me.kind !== 'patient' || !me.patient_id) { location.assign('/staff'); return; }
    const pid = encodeURIComponent(me.patient_id);
    (async () => {
      try {
        setObservations(await allEntries(api, `/fhir/Observation?subject=Patient/${pid}&_count=100`));
        const p = await api(`/fhir/Patient/${pid}/$access-log?_count=100`);
        setLog((p.parameter ?? []).filter((x: any) => x.name === 'access'));
      } catch (e) { setError(errorText(e)); }
    })();
  }, [me]);
  if (!me) return null;
  return (
    <Shell me={me}>
      <h1>{t('portal.title')}</h1>
      <ErrorBox error={error} />
      <h2>{t('portal.results')}</h2>
      {observations ? <ObservationTable observations={observations} /> : <p>{t('common.loading')}</p>}
      <h2>{t('portal.who')}</h2>
      <p className="hint"><Trans i18nKey="portal.hint" components={{ code: <code /> }} /></p>
      {log && (log.length === 0 ? <p className="none">{t('portal.none')}</p> : (
        <table data-testid="access-log">
          <thead><tr><th>{t('portal.date')}</th><th>{t('portal.actor')}</th><th>{t('portal.role')}</th><th>{t('portal.action')}</th><th>{t('portal.purpose')}</th><th>{t('portal.receipt')}</th></tr></thead>
          <tbody>{log.map((a, i) => {
            const receipt = part(a, 'receipt');
            return (
              <tr key={part(a, 'event') ?? `p${i}`} className={part(a, 'breakGlass') ? 'breakglass' : undefined}>
                <td>{fmt.dateTime(part(a, 'date'))}</td>
                <td>{part(a, 'actor')}</td>
                <td>{part(a, 'roleLabel') ?? word('role', part(a, 'role'))}{part(a, 'site') ? ` · ${part(a, 'site')}` : ''}</td>
                <td>{word('action', part(a, 'action'))}{part(a, 'outcome') !== 'success' ? ` (${word('outcome', part(a, 'outcome'))})` : ''}</td>
                <td>{part(a, 'breakGlass') ? t('portal.breakGlass') : part(a, 'purpose')}</td>
                <td>{receipt ? <a href={new URL(receipt, location.origin).pathname + new URL(receipt, location.origin).search} download>{t('portal.download')}</a> : t('portal.pending')}</td>
              </tr>
            );
          })}</tbody>
        </table>
      ))}
    </Shell>
  );
}
