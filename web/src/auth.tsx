// Authentication pages: login (password, then TOTP, recovery code, passkey or e-mailed code),
// invitation (password then TOTP enrolment), TOTP enrolment after an MFA reset, password reset.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import QRCode from 'qrcode';
import { startAuthentication } from '@simplewebauthn/browser';
import { Trans, useTranslation } from 'react-i18next';
import { api, session, takeFragmentToken, type Me } from './api.ts';
import { ErrorBox, Field, Page, errorText } from './ui.tsx';

const TENANT_KEY = 'cerbere.tenant';

/** Where a logged-in account goes: staff console or patient portal. */
export async function goHome(): Promise<void> {
  const me = await api<Me>('/auth/me');
  location.assign(me.kind === 'patient' ? '/portal' : '/staff');
}

export function LoginPage() {
  const { t } = useTranslation();
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
      <Page title={t('login.title')}>
        <form onSubmit={submitPassword}>
          <Field label={t('login.tenant')} name="tenant" value={tenant} onChange={setTenant} autoComplete="organization" />
          <Field label={t('login.email')} name="email" type="email" value={email} onChange={setEmail} autoComplete="username" />
          <Field label={t('login.password')} name="password" type="password" value={password} onChange={setPassword} autoComplete="current-password" />
          <ErrorBox error={error} />
          <button type="submit" disabled={busy}>{t('login.continue')}</button>
        </form>
        <p><a href="/auth/forgot">{t('login.forgot')}</a></p>
      </Page>
    );
  }
  const labels: Record<string, string> = t('login.method', { returnObjects: true });
  return (
    <Page title={t('login.mfaTitle')}>
      {ticket.methods.length > 1 && (
        <p className="methods">{ticket.methods.map((m) => (
          <button key={m} type="button" className={m === method ? 'chosen' : 'link'} onClick={() => { setMethod(m); setCode(''); }}>{labels[m] ?? m}</button>
        ))}</p>
      )}
      {method === 'passkey' ? (
        <p><button type="button" onClick={passkey} disabled={busy}>{t('login.usePasskey')}</button></p>
      ) : (
        <form onSubmit={submitCode}>
          {method === 'email' && <p><button type="button" onClick={sendMail} disabled={busy}>{mailed ? t('login.resendCode') : t('login.mailCode')}</button></p>}
          {mailed && <p className="notice">{t('login.codeSent')}</p>}
          <Field label={labels[method] ?? t('login.code')} name="code" value={code} onChange={setCode} autoComplete="one-time-code" />
          <button type="submit" disabled={busy}>{t('login.signIn')}</button>
        </form>
      )}
      <ErrorBox error={error} />
      {error && <p><a href="/auth/login">{t('login.restart')}</a></p>}
    </Page>
  );
}

/** Password choice, with the server's rules shown as its own error messages. */
function PasswordForm({ submitLabel, onSubmit }: { submitLabel: string; onSubmit: (password: string) => Promise<void> }) {
  const { t } = useTranslation();
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (password !== again) { setError(t('password.mismatch')); return; }
    setError(null); setBusy(true);
    try { await onSubmit(password); } catch (x) { setError(errorText(x)); } finally { setBusy(false); }
  };
  return (
    <form onSubmit={submit}>
      <p className="hint">{t('password.rules')}</p>
      <Field label={t('password.new')} name="password" type="password" value={password} onChange={setPassword} autoComplete="new-password" />
      <Field label={t('password.again')} name="password2" type="password" value={again} onChange={setAgain} autoComplete="new-password" />
      <ErrorBox error={error} />
      <button type="submit" disabled={busy}>{submitLabel}</button>
    </form>
  );
}

function QrCanvas({ text }: { text: string }) {
  const { t } = useTranslation();
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => { if (ref.current) void QRCode.toCanvas(ref.current, text, { margin: 2, width: 200 }); }, [text]);
  return <canvas ref={ref} aria-label={t('enrol.qr')} />;
}

/** TOTP enrolment with an enrolment ticket: secret + QR code, confirmation code, recovery codes shown once. */
function TotpEnrolment({ ticket }: { ticket: string }) {
  const { t } = useTranslation();
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
        <h2>{t('enrol.recoveryTitle')}</h2>
        <p className="notice">{t('enrol.recoveryNotice')}</p>
        <ul className="codes" data-testid="recovery-codes">{recovery.map((c) => <li key={c}>{c}</li>)}</ul>
        <p><a href="/auth/login">{t('login.signIn')}</a></p>
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
      <h2>{t('enrol.appTitle')}</h2>
      <p>{t('enrol.scan')}</p>
      <QrCanvas text={secret.otpauth_uri} />
      <p>{t('enrol.key')} <code data-testid="totp-secret">{secret.secret}</code></p>
      <details><summary>{t('enrol.otpauth')}</summary><code className="wrap">{secret.otpauth_uri}</code></details>
      <form onSubmit={confirm}>
        <Field label={t('enrol.codeLabel')} name="code" value={code} onChange={setCode} autoComplete="one-time-code" />
        <ErrorBox error={error} />
        <button type="submit">{t('enrol.validate')}</button>
      </form>
      <p className="hint"><Trans i18nKey="enrol.patientHint" components={{ signin: <a href="/auth/login" /> }} /></p>
    </section>
  );
}

export function InvitationPage() {
  const { t } = useTranslation();
  const [token] = useState(takeFragmentToken);
  const [enrol, setEnrol] = useState<string | null>(null);
  if (!token) return <Page title={t('invitation.title')}><ErrorBox error={t('invitation.incomplete')} /></Page>;
  return (
    <Page title={t('invitation.activate')}>
      {enrol ? <TotpEnrolment ticket={enrol} /> : (
        <PasswordForm submitLabel={t('invitation.choose')} onSubmit={async (password) => {
          setEnrol((await api<{ enrol_ticket: string }>('/auth/invitation/accept', { body: { token, password } })).enrol_ticket);
        }} />
      )}
    </Page>
  );
}

export function EnrolPage() {
  const { t } = useTranslation();
  const [ticket] = useState(takeFragmentToken);
  if (!ticket) return <Page title={t('enrol.title')}><ErrorBox error={t('enrol.incomplete')} /></Page>;
  return <Page title={t('enrol.title')}><TotpEnrolment ticket={ticket} /></Page>;
}

export function ResetPage() {
  const { t } = useTranslation();
  const [token] = useState(takeFragmentToken);
  const [done, setDone] = useState(false);
  if (!token) return <Page title={t('reset.title')}><ErrorBox error={t('reset.incomplete')} /></Page>;
  return (
    <Page title={t('reset.title')}>
      {done ? <p className="notice">{t('reset.done')} <a href="/auth/login">{t('login.signIn')}</a></p> : (
        <PasswordForm submitLabel={t('reset.change')} onSubmit={async (password) => {
          await api('/auth/password/reset', { body: { token, password } });
          setDone(true);
        }} />
      )}
    </Page>
  );
}

export function ForgotPage() {
  const { t } = useTranslation();
  const [tenant, setTenant] = useState(() => localStorage.getItem(TENANT_KEY) ?? '');
  const [email, setEmail] = useState('');
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault(); setError(null);
    try { await api('/auth/password/forgot', { body: { tenant, email } }); setDone(true); } catch (x) { setError(errorText(x)); }
  };
  return (
    <Page title={t('forgot.title')}>
      {done ? <p className="notice">{t('forgot.done')}</p> : (
        <form onSubmit={submit}>
          <Field label={t('login.tenant')} name="tenant" value={tenant} onChange={setTenant} />
          <Field label={t('login.email')} name="email" type="email" value={email} onChange={setEmail} autoComplete="username" />
          <ErrorBox error={error} />
          <button type="submit">{t('forgot.send')}</button>
        </form>
      )}
    </Page>
  );
}
