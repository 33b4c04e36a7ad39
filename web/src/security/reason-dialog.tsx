// Suspend or restore a credential: a modal <dialog> (the browser traps focus and closes it on Escape)
// asking for a reason of 10 to 500 characters, then a confirm step before the call.
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorBox, errorText } from '../ui.tsx';
import { word } from '../i18n/index.ts';
import { REASON_MAX, REASON_MIN, watch, type Credential, type CredentialRef } from './watch.ts';

export function ReasonDialog({ mode, credential, onDone, onClose }: {
  mode: 'suspend' | 'restore'; credential: CredentialRef; onDone: (c: Credential) => void; onClose: () => void;
}) {
  const { t } = useTranslation();
  const ids = useId();
  const dialog = useRef<HTMLDialogElement>(null);
  const textarea = useRef<HTMLTextAreaElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  // The element that opened the dialog gets the focus back when it closes.
  const opener = useRef<Element | null>(document.activeElement);
  const [step, setStep] = useState<'reason' | 'confirm'>('reason');
  const [reason, setReason] = useState('');
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const length = reason.trim().length;
  const valid = length >= REASON_MIN && length <= REASON_MAX;
  const label = `${word('credentialKind', credential.kind)} ${credential.label}`;

  useEffect(() => {
    const d = dialog.current!;
    d.showModal();
    const back = opener.current;
    return () => { d.close(); if (back instanceof HTMLElement && back.isConnected) back.focus(); };
  }, []);
  useEffect(() => { (step === 'confirm' ? confirmButton : textarea).current?.focus(); }, [step]);

  const next = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (valid) setStep('confirm'); else textarea.current?.focus();
  };
  const confirm = async () => {
    setBusy(true); setError(null);
    try { onDone(await (mode === 'suspend' ? watch.suspend : watch.restore)(credential, reason.trim())); }
    catch (e) { setError(errorText(e)); setBusy(false); }
  };
  const showInvalid = tried && !valid;
  return (
    <dialog ref={dialog} className="dialog" aria-labelledby={`${ids}h`} onCancel={(e) => { e.preventDefault(); onClose(); }}>
      <h2 id={`${ids}h`}>{t(mode === 'suspend' ? 'security.suspendTitle' : 'security.restoreTitle', { label })}</h2>
      {step === 'reason' ? (
        <form onSubmit={next} noValidate>
          <label>{t('security.reason')}
            <textarea ref={textarea} name="reason" value={reason} maxLength={REASON_MAX} required aria-invalid={showInvalid}
              aria-describedby={showInvalid ? `${ids}e` : undefined} onChange={(e) => setReason(e.target.value)} />
          </label>
          {showInvalid && <p id={`${ids}e`} className="error" role="alert">{t('security.reasonLength', { count: length })}</p>}
          <div className="buttons">
            <button type="button" className="secondary" onClick={onClose}>{t('common.cancel')}</button>
            <button type="submit">{t('security.next')}</button>
          </div>
        </form>
      ) : (
        <div>
          <p>{t(mode === 'suspend' ? 'security.confirmSuspend' : 'security.confirmRestore', { label })}</p>
          <blockquote className="reason">{reason.trim()}</blockquote>
          <ErrorBox error={error} />
          <div className="buttons">
            <button type="button" className="secondary" onClick={() => setStep('reason')} disabled={busy}>{t('security.edit')}</button>
            <button type="button" ref={confirmButton} className={mode === 'suspend' ? 'danger' : undefined} onClick={confirm} disabled={busy}>
              {t('common.confirm')}
            </button>
          </div>
        </div>
      )}
    </dialog>
  );
}
