// Authentication pages: login (password, then TOTP, recovery code, passkey or e-mailed code),
// invitation (password then TOTP enrolment), TOTP enrolment after an MFA reset, password reset.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import QRCode from 'qrcode';
import { startAuthentication } from '@simplewebauthn/browser';
import { api, session, takeFragmentToken, type Me } from './api.ts';
import { ErrorBox, Field, Page, errorText } from './ui.tsx';

const TENANT_KEY = 'cerbere.tenant';

/** Where a logged-in account goes: staff console or patient portal. */
export async function goHome(): Promise<void> {
  const me = await api<Me>('/auth/me');
  location.assign(me.kind === 'patient' ? '/portal' : '/staff');
}

export function LoginPage() {
  const [tenant, setTenant] = useState(() => new URLSearchParams(location.search).get('tenant') ?? localStorage.getItem(TENANT_KEY) ?? '');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [ticket, setTicket] = useState<{ ticket: string; methods: string[] } | null>(null);
  const [method, setMethod] = useState('totp');
  const [code, setCode] = useState('');
  const [mailed, setMailed] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (fn: () => Promise<void>) => {
    setError(null); setBusy(true);
    try { await fn(); } catch (e) { setError(errorText(e)); } finally { setBusy(false); }
  };
  const finish = async (r: { csrf_token: string }) => { session.set(r.csrf_token); await goHome(); };

  const submitPassword = (e: FormEvent) => { e.preventDefault(); void run(async () => {
    const r = await api<{ mfa_ticket: string; methods: string[] }>('/auth/login', { body: { tenant, email, password } });
    localStorage.setItem(TENANT_KEY, tenant);
    setPassword('');
    setTicket({ ticket: r.mfa_ticket, methods: r.methods });
    setMethod(r.methods[0]);
  }); };
  const submitCode = (e: FormEvent) => { e.preventDefault(); void run(async () => {
    const field = method === 'recovery' ? 'recovery_code' : method === 'email' ? 'email_code' : 'code';
    await finish(await api('/auth/login/mfa', { body: { ticket: ticket!.ticket, [field]: code.trim(), mode: 'cookie' } }));
  }); };
  const sendMail = () => void run(async () => { await api('/auth/login/email-code', { body: { ticket: ticket!.ticket } }); setMailed(true); });
  const passkey = () => void run(async () => {
    const optionsJSON = await api('/auth/login/passkey/options', { body: { ticket: ticket!.ticket } });
    const response = await startAuthentication({ optionsJSON });
    await finish(await api('/auth/login/passkey', { body: { ticket: ticket!.ticket, response, mode: 'cookie' } }));
  });

  if (!ticket) {
    return (
      <Page title="Connexion">
        <form onSubmit={submitPassword}>
          <Field label="Établissement" name="tenant" value={tenant} onChange={setTenant} autoComplete="organization" />
          <Field label="Adresse e-mail" name="email" type="email" value={email} onChange={setEmail} autoComplete="username" />
          <Field label="Mot de passe" name="password" type="password" value={password} onChange={setPassword} autoComplete="current-password" />
          <ErrorBox error={error} />
          <button type="submit" disabled={busy}>Continuer</button>
        </form>
        <p><a href="/auth/forgot">Mot de passe oublié ?</a></p>
      </Page>
    );
  }
  const labels: Record<string, string> = { totp: 'Code de l’application', recovery: 'Code de secours', passkey: 'Clé d’accès', email: 'Code reçu par e-mail' };
  return (
    <Page title="Second facteur">
      {ticket.methods.length > 1 && (
        <p className="methods">{ticket.methods.map((m) => (
          <button key={m} type="button" className={m === method ? 'chosen' : 'link'} onClick={() => { setMethod(m); setCode(''); }}>{labels[m] ?? m}</button>
        ))}</p>
      )}
      {method === 'passkey' ? (
        <p><button type="button" onClick={passkey} disabled={busy}>Utiliser ma clé d’accès</button></p>
      ) : (
        <form onSubmit={submitCode}>
          {method === 'email' && <p><button type="button" onClick={sendMail} disabled={busy}>{mailed ? 'Renvoyer le code' : 'Recevoir un code par e-mail'}</button></p>}
          {mailed && <p className="notice">Un code a été envoyé à votre adresse e-mail.</p>}
          <Field label={labels[method] ?? 'Code'} name="code" value={code} onChange={setCode} autoComplete="one-time-code" />
          <button type="submit" disabled={busy}>Se connecter</button>
        </form>
      )}
      <ErrorBox error={error} />
      {error && <p><a href="/auth/login">Recommencer</a></p>}
    </Page>
  );
}

/** Password choice, with the server's rules shown as its own error messages. */
function PasswordForm({ submitLabel, onSubmit }: { submitLabel: string; onSubmit: (password: string) => Promise<void> }) {
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (password !== again) { setError('Les deux mots de passe diffèrent.'); return; }
    setError(null); setBusy(true);
    try { await onSubmit(password); } catch (x) { setError(errorText(x)); } finally { setBusy(false); }
  };
  return (
    <form onSubmit={submit}>
      <p className="hint">Au moins 12 caractères ; les mots de passe courants sont refusés. Une phrase est une bonne idée.</p>
      <Field label="Nouveau mot de passe" name="password" type="password" value={password} onChange={setPassword} autoComplete="new-password" />
      <Field label="Confirmation" name="password2" type="password" value={again} onChange={setAgain} autoComplete="new-password" />
      <ErrorBox error={error} />
      <button type="submit" disabled={busy}>{submitLabel}</button>
    </form>
  );
}

function QrCanvas({ text }: { text: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => { if (ref.current) void QRCode.toCanvas(ref.current, text, { margin: 2, width: 200 }); }, [text]);
  return <canvas ref={ref} aria-label="QR code à scanner" />;
}

/** TOTP enrolment with an enrolment ticket: secret + QR code, confirmation code, recovery codes shown once. */
function TotpEnrolment({ ticket }: { ticket: string }) {
  const [secret, setSecret] = useState<{ secret: string; otpauth_uri: string } | null>(null);
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const start = async () => {
    setError(null);
    try { setSecret(await api('/auth/mfa/totp/enrol', { body: { ticket } })); } catch (e) { setError(errorText(e)); }
  };
  useEffect(() => { void start(); }, [ticket]);
  const confirm = async (e: FormEvent) => {
    e.preventDefault(); setError(null);
    try { setRecovery((await api<{ recovery_codes: string[] }>('/auth/mfa/totp/confirm', { body: { ticket, code: code.trim() } })).recovery_codes); } catch (x) { setError(errorText(x)); }
  };
  if (recovery) {
    return (
      <section>
        <h2>Codes de secours</h2>
        <p className="notice">Ils ne seront plus affichés : notez-les et gardez-les hors ligne. Chacun sert une seule fois.</p>
        <ul className="codes" data-testid="recovery-codes">{recovery.map((c) => <li key={c}>{c}</li>)}</ul>
        <p><a href="/auth/login">Se connecter</a></p>
      </section>
    );
  }
  if (!secret) {
    return (
      <section>
        <ErrorBox error={error} />
      </section>
    );
  }
  return (
    <section>
      <h2>Application d’authentification</h2>
      <p>Scannez ce code avec votre application (FreeOTP, Aegis, Google Authenticator…) ou saisissez la clé.</p>
      <QrCanvas text={secret.otpauth_uri} />
      <p>Clé : <code data-testid="totp-secret">{secret.secret}</code></p>
      <details><summary>Lien otpauth</summary><code className="wrap">{secret.otpauth_uri}</code></details>
      <form onSubmit={confirm}>
        <Field label="Code à 6 chiffres affiché par l’application" name="code" value={code} onChange={setCode} autoComplete="one-time-code" />
        <ErrorBox error={error} />
        <button type="submit">Valider</button>
      </form>
      <p className="hint">Patients : sans application, vous pouvez <a href="/auth/login">vous connecter</a> avec un code reçu par e-mail.</p>
    </section>
  );
}

export function InvitationPage() {
  const [token] = useState(takeFragmentToken);
  const [enrol, setEnrol] = useState<string | null>(null);
  if (!token) return <Page title="Invitation"><ErrorBox error="Ce lien d’invitation est incomplet." /></Page>;
  return (
    <Page title="Activer votre compte">
      {enrol ? <TotpEnrolment ticket={enrol} /> : (
        <PasswordForm submitLabel="Choisir ce mot de passe" onSubmit={async (password) => {
          setEnrol((await api<{ enrol_ticket: string }>('/auth/invitation/accept', { body: { token, password } })).enrol_ticket);
        }} />
      )}
    </Page>
  );
}

export function EnrolPage() {
  const [ticket] = useState(takeFragmentToken);
  if (!ticket) return <Page title="Second facteur"><ErrorBox error="Ce lien d’enrôlement est incomplet." /></Page>;
  return <Page title="Second facteur"><TotpEnrolment ticket={ticket} /></Page>;
}

export function ResetPage() {
  const [token] = useState(takeFragmentToken);
  const [done, setDone] = useState(false);
  if (!token) return <Page title="Nouveau mot de passe"><ErrorBox error="Ce lien est incomplet." /></Page>;
  return (
    <Page title="Nouveau mot de passe">
      {done ? <p className="notice">Mot de passe changé ; toutes vos sessions ont été fermées. <a href="/auth/login">Se connecter</a></p> : (
        <PasswordForm submitLabel="Changer le mot de passe" onSubmit={async (password) => {
          await api('/auth/password/reset', { body: { token, password } });
          setDone(true);
        }} />
      )}
    </Page>
  );
}

export function ForgotPage() {
  const [tenant, setTenant] = useState(() => localStorage.getItem(TENANT_KEY) ?? '');
  const [email, setEmail] = useState('');
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault(); setError(null);
    try { await api('/auth/password/forgot', { body: { tenant, email } }); setDone(true); } catch (x) { setError(errorText(x)); }
  };
  return (
    <Page title="Mot de passe oublié">
      {done ? <p className="notice">Si un compte existe à cette adresse, un lien valable 30 minutes vient d’y être envoyé.</p> : (
        <form onSubmit={submit}>
          <Field label="Établissement" name="tenant" value={tenant} onChange={setTenant} />
          <Field label="Adresse e-mail" name="email" type="email" value={email} onChange={setEmail} autoComplete="username" />
          <ErrorBox error={error} />
          <button type="submit">Envoyer le lien</button>
        </form>
      )}
    </Page>
  );
}
