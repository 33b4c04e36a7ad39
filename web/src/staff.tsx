// Staff console: search a patient through /fhir with the session cookie, open them, list their
// Observations; a 403 is explained and, for a patient outside the care relationships, break-glass
// access can be opened with a reason (POST /fhir/Patient/{id}/$break-glass, CSRF header).
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError, logout, type Me } from './api.ts';
import { ErrorBox, Field, LangSwitch, errorText } from './ui.tsx';
import { word } from './i18n/index.ts';
import { fmt } from './i18n/fmt.ts';
import { ObservationTable, V, allEntries, isRedacted, nir, patientName } from './fhir.tsx';

/** Roles that may use the security page (capability security:watch of the watch API). */
export const WATCH_ROLES = ['dpo', 'tenant_admin'];

export function Shell({ me, children }: { me: Me; children: React.ReactNode }) {
  const { t } = useTranslation();
  const [error, setError] = useState<string | null>(null);
  // A refused logout is said (e.g. a tab opened without this session's CSRF token): the session stays open.
  const out = (all: boolean) => async () => {
    try { await logout(all); } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) { setError(t('shell.logoutRefused', { error: errorText(e) })); return; }
    }
    location.assign('/auth/login');
  };
  return (
    <main className="wide">
      <header>
        <span className="brand">Cerbère</span>
        {me.kind === 'staff' && WATCH_ROLES.includes(me.role) && <Nav />}
        <span className="who">{me.kind === 'patient' ? t('shell.patientSpace') : t('shell.role', { role: word('role', me.role) })} · {me.tenant}</span>
        <LangSwitch />
        <button type="button" className="link" onClick={out(false)}>{t('shell.logout')}</button>
        <button type="button" className="link" onClick={out(true)}>{t('shell.logoutAll')}</button>
      </header>
      <ErrorBox error={error} />
      {children}
    </main>
  );
}

/** Links between the staff console and the security page; the current one is marked. */
function Nav() {
  const { t } = useTranslation();
  const here = location.pathname.replace(/\/+$/, '');
  const link = (href: string, text: string) => <a href={href} aria-current={here === href ? 'page' : undefined}>{text}</a>;
  return <nav aria-label={t('nav.label')} className="nav">{link('/staff', t('nav.console'))}{link('/security', t('nav.security'))}</nav>;
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
  const { t } = useTranslation();
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
    if (![...q.keys()].length) { setError(t('staff.oneCriterion')); return; }
    q.set('_count', '50');
    // Search values go in the query string of a same-origin GET: the server keeps them out of its logs.
    try { setResults((await api('/fhir/Patient?' + q.toString())).entry?.map((x: any) => x.resource).filter((r: any) => r?.resourceType === 'Patient') ?? []); } catch (x) { setError(errorText(x)); }
  };
  return (
    <section>
      <h1>{t('staff.searchTitle')}</h1>
      <form onSubmit={submit} className="row">
        <Field label={t('staff.identifier')} name="identifier" value={identifier} onChange={setIdentifier} required={false} />
        <Field label={t('staff.family')} name="family" value={family} onChange={setFamily} required={false} />
        <Field label={t('staff.birthdate')} name="birthdate" type="date" value={birthdate} onChange={setBirthdate} required={false} />
        <button type="submit">{t('staff.search')}</button>
      </form>
      <ErrorBox error={error} />
      {results && (results.length === 0 ? <p className="none">{t('staff.noneFound')}</p> : (
        <table data-testid="patients">
          <thead><tr><th>{t('staff.name')}</th><th>{t('staff.birth')}</th><th>{t('staff.id')}</th><th><span className="sr-only">{t('staff.open')}</span></th></tr></thead>
          <tbody>{results.map((p) => (
            <tr key={p.id}>
              <td><V r={p} v={patientName(p)} /></td><td><V r={p} v={fmt.date(p.birthDate)} /></td><td><V r={p} v={nir(p)} /></td>
              <td><button type="button" onClick={() => onOpen(p.id)}>{t('staff.open')}</button></td>
            </tr>
          ))}</tbody>
        </table>
      ))}
    </section>
  );
}

function PatientView({ id, onBack }: { id: string; onBack: () => void }) {
  const { t } = useTranslation();
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
        setObsError(e instanceof ApiError && e.status === 403 ? t('staff.noResultsAccess') : errorText(e));
      }
    })();
  }, [id, reload]);
  return (
    <section>
      <p><button type="button" className="link" onClick={onBack}>{t('staff.back')}</button></p>
      <ErrorBox error={error} />
      {denied && <BreakGlass id={id} message={denied} onOpened={() => setReload((n) => n + 1)} />}
      {patient && !denied && (<>
        <h1 data-testid="patient-name"><V r={patient} v={patientName(patient)} /></h1>
        {isRedacted(patient) && <p className="notice">{t('staff.masked')}</p>}
        <dl>
          <dt>{t('staff.birth')}</dt><dd><V r={patient} v={fmt.date(patient.birthDate)} /></dd>
          <dt>{t('staff.gender')}</dt><dd><V r={patient} v={word('gender', patient.gender)} /></dd>
          <dt>{t('staff.id')}</dt><dd><V r={patient} v={nir(patient)} /></dd>
        </dl>
        <h2>{t('staff.results')}</h2>
        {obsError ? <p className="notice">{obsError}</p> : observations ? <ObservationTable observations={observations} /> : <p>{t('common.loading')}</p>}
      </>)}
    </section>
  );
}

function BreakGlass({ id, message, onOpened }: { id: string; message: string; onOpened: () => void }) {
  const { t } = useTranslation();
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
      <h2>{t('breakGlass.title')}</h2>
      <p>{t('breakGlass.outside', { message })}</p>
      <p>{t('breakGlass.explain')}</p>
      <form onSubmit={submit}>
        <label>{t('breakGlass.reason')}
          <textarea name="reason" value={reason} required onChange={(e) => setReason(e.target.value)} />
        </label>
        <ErrorBox error={error} />
        <button type="submit" className="danger">{t('breakGlass.open')}</button>
      </form>
    </div>
  );
}
