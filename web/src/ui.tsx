// Small shared pieces of the pages.
import type { ReactNode } from 'react';

export function Page({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main>
      <header><span className="brand">Cerbère</span></header>
      <h1>{title}</h1>
      {children}
    </main>
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
