// Patient portal: their own results, and who accessed their record ($access-log) with receipts.
import { useEffect, useState } from 'react';
import { api } from './api.ts';
import { ErrorBox, errorText } from './ui.tsx';
import { ObservationTable, allEntries } from './fhir.tsx';
import { Shell, useMe } from './staff.tsx';

const part = (p: any, name: string): any => {
  const x = p.part?.find((q: any) => q.name === name);
  return x ? (x.valueString ?? x.valueDateTime ?? x.valueInstant ?? x.valueInteger ?? x.valueBoolean ?? x.valueCode ?? x.valueUri ?? x.valueUrl) : undefined;
};

export function PortalPage() {
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
      <h1>Mon dossier</h1>
      <ErrorBox error={error} />
      <h2>Mes résultats</h2>
      {observations ? <ObservationTable observations={observations} /> : <p>Chargement…</p>}
      <h2>Qui a consulté mon dossier</h2>
      <p className="hint">Chaque accès est inscrit dans un journal infalsifiable. Le reçu d’un accès se vérifie hors ligne (<code>cerbere audit verify-receipt</code>).</p>
      {log && (log.length === 0 ? <p className="none">Aucun accès.</p> : (
        <table data-testid="access-log">
          <thead><tr><th>Date</th><th>Qui</th><th>Rôle</th><th>Action</th><th>Motif</th><th>Reçu</th></tr></thead>
          <tbody>{log.map((a, i) => {
            const receipt = part(a, 'receipt');
            return (
              <tr key={part(a, 'event') ?? `p${i}`} className={part(a, 'breakGlass') ? 'breakglass' : undefined}>
                <td>{String(part(a, 'date') ?? '').replace('T', ' ').slice(0, 19)}</td>
                <td>{part(a, 'actor')}</td>
                <td>{part(a, 'roleLabel') ?? part(a, 'role')}{part(a, 'site') ? ` · ${part(a, 'site')}` : ''}</td>
                <td>{part(a, 'action')}{part(a, 'outcome') !== 'success' ? ` (${part(a, 'outcome')})` : ''}</td>
                <td>{part(a, 'breakGlass') ? 'Urgence (bris de glace)' : part(a, 'purpose')}</td>
                <td>{receipt ? <a href={new URL(receipt, location.origin).pathname + new URL(receipt, location.origin).search} download>télécharger</a> : 'en cours'}</td>
              </tr>
            );
          })}</tbody>
        </table>
      ))}
    </Shell>
  );
}
