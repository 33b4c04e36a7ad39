// Staff console: search a patient through /fhir with the session cookie, open them, list their
// Observations; a 403 is explained and, for a patient outside the care relationships, break-glass
// access can be opened with a reason (POST /fhir/Patient/{id}/$break-glass, CSRF header).
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, logout, type Me } from './api.ts';
import { ErrorBox, Field, errorText } from './ui.tsx';
import { ObservationTable, V, allEntries, isRedacted, nir, patientName } from './fhir.tsx';

export function Shell({ me, children }: { me: Me; children: React.ReactNode }) {
  const [error, setError] = useState<string | null>(null);
  // A refused logout is said (e.g. a tab opened without this session's CSRF token): the session stays open.
  const out = (all: boolean) => async () => {
    try { await logout(all); } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) { setError(`Déconnexion refusée : ${errorText(e)}. Reconnectez-vous dans cet onglet pour fermer la session.`); return; }
    }
    location.assign('/auth/login');
  };
  return (
    <main className="wide">
      <header>
        <span className="brand">Cerbère</span>
        <span className="who">{me.kind === 'patient' ? 'Espace patient' : `Rôle : ${me.role}`} · {me.tenant}</span>
        <button type="button" className="link" onClick={out(false)}>Se déconnecter</button>
        <button type="button" className="link" onClick={out(true)}>Se déconnecter partout</button>
      </header>
      <ErrorBox error={error} />
      {children}
    </main>
  );
}

/** Loads /auth/me, or sends the visitor to the login page. */
export function useMe(): Me | null {
  const [me, setMe] = useState<Me | null>(null);
  useEffect(() => {
    api<Me>('/auth/me').then(setMe, () => location.assign('/auth/login'));
  }, []);
  return me;
}

export function StaffPage() {
  const me = useMe();
  const [patientId, setPatientId] = useState<string | null>(() => new URLSearchParams(location.search).get('patient'));
  if (!me) return null;
  if (me.kind === 'patient') { location.assign('/portal'); return null; }
  return (
    <Shell me={me}>
      {patientId ? <PatientView id={patientId} onBack={() => { history.pushState(null, '', '/staff'); setPatientId(null); }} />
        : <Search onOpen={(id) => { history.pushState(null, '', `/staff?patient=${encodeURIComponent(id)}`); setPatientId(id); }} />}
    </Shell>
  );
}

function Search({ onOpen }: { onOpen: (id: string) => void }) {
  const [identifier, setIdentifier] = useState('');
  const [family, setFamily] = useState('');
  const [birthdate, setBirthdate] = useState('');
  const [results, setResults] = useState<any[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault(); setError(null); setResults(null);
    const q = new URLSearchParams();
    if (identifier.trim()) q.set('identifier', identifier.replace(/\s+/g, ''));
    if (family.trim()) q.set('family', family.trim());
    if (birthdate) q.set('birthdate', birthdate);
    if (![...q.keys()].length) { setError('Indiquez au moins un critère.'); return; }
    q.set('_count', '50');
    // Search values go in the query string of a same-origin GET: the server keeps them out of its logs.
    try { setResults((await api('/fhir/Patient?' + q.toString())).entry?.map((x: any) => x.resource).filter((r: any) => r?.resourceType === 'Patient') ?? []); } catch (x) { setError(errorText(x)); }
  };
  return (
    <section>
      <h1>Rechercher un patient</h1>
      <form onSubmit={submit} className="row">
        <Field label="NIR ou identifiant" name="identifier" value={identifier} onChange={setIdentifier} required={false} />
        <Field label="Nom de famille" name="family" value={family} onChange={setFamily} required={false} />
        <Field label="Date de naissance" name="birthdate" type="date" value={birthdate} onChange={setBirthdate} required={false} />
        <button type="submit">Rechercher</button>
      </form>
      <ErrorBox error={error} />
      {results && (results.length === 0 ? <p className="none">Aucun patient trouvé (ou aucun que votre rôle permet de voir).</p> : (
        <table data-testid="patients">
          <thead><tr><th>Nom</th><th>Naissance</th><th>Identifiant</th><th /></tr></thead>
          <tbody>{results.map((p) => (
            <tr key={p.id}>
              <td><V r={p} v={patientName(p)} /></td><td><V r={p} v={p.birthDate} /></td><td><V r={p} v={nir(p)} /></td>
              <td><button type="button" onClick={() => onOpen(p.id)}>Ouvrir</button></td>
            </tr>
          ))}</tbody>
        </table>
      ))}
    </section>
  );
}

function PatientView({ id, onBack }: { id: string; onBack: () => void }) {
  const [patient, setPatient] = useState<any>(null);
  const [observations, setObservations] = useState<any[] | null>(null);
  const [denied, setDenied] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [obsError, setObsError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  useEffect(() => {
    setDenied(null); setError(null); setObsError(null);
    (async () => {
      try {
        setPatient(await api(`/fhir/Patient/${encodeURIComponent(id)}`));
      } catch (e) {
        if (e instanceof ApiError && e.status === 403) setDenied(e.message); else setError(errorText(e));
        return;
      }
      try {
        setObservations(await allEntries(api, `/fhir/Observation?subject=Patient/${encodeURIComponent(id)}&_count=100`));
      } catch (e) {
        setObsError(e instanceof ApiError && e.status === 403 ? 'Votre rôle ne donne pas accès aux résultats de ce patient.' : errorText(e));
      }
    })();
  }, [id, reload]);
  return (
    <section>
      <p><button type="button" className="link" onClick={onBack}>← Recherche</button></p>
      <ErrorBox error={error} />
      {denied && <BreakGlass id={id} message={denied} onOpened={() => setReload((n) => n + 1)} />}
      {patient && !denied && (<>
        <h1 data-testid="patient-name"><V r={patient} v={patientName(patient)} /></h1>
        {isRedacted(patient) && <p className="notice">Certaines données sont masquées pour votre rôle.</p>}
        <dl>
          <dt>Naissance</dt><dd><V r={patient} v={patient.birthDate} /></dd>
          <dt>Sexe</dt><dd><V r={patient} v={patient.gender} /></dd>
          <dt>Identifiant</dt><dd><V r={patient} v={nir(patient)} /></dd>
        </dl>
        <h2>Résultats</h2>
        {obsError ? <p className="notice">{obsError}</p> : observations ? <ObservationTable observations={observations} /> : <p>Chargement…</p>}
      </>)}
    </section>
  );
}

function BreakGlass({ id, message, onOpened }: { id: string; message: string; onOpened: () => void }) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault(); setError(null);
    try {
      await api(`/fhir/Patient/${encodeURIComponent(id)}/$break-glass`, { body: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: reason.trim() }] } });
      onOpened();
    } catch (x) { setError(errorText(x)); }
  };
  return (
    <div className="denied" role="alert">
      <h2>Accès refusé</h2>
      <p>Ce patient n’est pas dans votre périmètre de soins ({message}).</p>
      <p>En cas d’urgence, vous pouvez ouvrir un accès temporaire « bris de glace ». Il est enregistré avec votre motif dans le journal d’accès, que le patient et le DPO peuvent lire.</p>
      <form onSubmit={submit}>
        <label>Motif (10 caractères au moins)
          <textarea name="reason" value={reason} required onChange={(e) => setReason(e.target.value)} />
        </label>
        <ErrorBox error={error} />
        <button type="submit" className="danger">Ouvrir l’accès d’urgence</button>
      </form>
    </div>
  );
}
