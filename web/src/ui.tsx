// Small shared pieces of the pages.
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { AUTONYMS, LANGS, setLang } from './i18n/index.ts';

export function Page({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main>
      <header><span className="brand">Cerbère</span><LangSwitch /></header>
      <h1>{title}</h1>
      {children}
    </main>
  );
}

/** FR/EN buttons; the chosen one is pressed. Each language is named in itself. */
export function LangSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <span role="group" aria-label={t('lang.label')} className="langs">
      {LANGS.map((l) => (
        <button key={l} type="button" lang={l} title={AUTONYMS[l]} aria-pressed={i18n.resolvedLanguage === l} className="lang" onClick={() => setLang(l)}>
          {l.toUpperCase()}
        </button>
      ))}
    </span>
  );
}

export function ErrorBox({ error }: { error: string | null }) {
  return error ? <p className="error" role="alert">{error}</p> : null;
}

export function Field({ label, name, type = 'text', value, onChange, autoComplete, required = true }: {
  label: string; name: string; type?: string; value: string; onChange: (v: string) => void; autoComplete?: string; required?: boolean;
}) {
  return (
    <label>
      {label}
      <input name={name} type={type} value={value} required={required} autoComplete={autoComplete} onChange={(e) => onChange(e.target.value)} />
    </label>
  );
}

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
