// Display of FHIR resources as the API releases them: elements masked for the reader's role are
// absent and the resource carries the REDACTED security label.
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { i18n, word } from './i18n/index.ts';
import { fmt } from './i18n/fmt.ts';

export const isRedacted = (r: any): boolean => (r?.meta?.security ?? []).some((s: any) => s?.code === 'REDACTED');

/** A value, or a "masked" marker when the resource is redacted and the element is absent. */
export function V({ r, v }: { r: any; v: ReactNode }) {
  const { t } = useTranslation();
  if (v !== undefined && v !== null && v !== '') return <>{v}</>;
  return isRedacted(r) ? <span className="masked" title={t('fhir.maskedTitle')}>{t('fhir.masked')}</span> : <span className="none">—</span>;
}

export const patientName = (p: any): string | undefined => {
  const n = p?.name?.[0];
  if (!n) return undefined;
  return [n.family, ...(n.given ?? [])].filter(Boolean).join(' ') || n.text;
};

export const nir = (p: any): string | undefined => p?.identifier?.find((i: any) => String(i.system ?? '').includes('1.2.250.1.213.1.4.8'))?.value ?? p?.identifier?.[0]?.value;

export function observationValue(o: any): string | undefined {
  if (o.valueQuantity) return `${o.valueQuantity.value ?? ''} ${o.valueQuantity.unit ?? o.valueQuantity.code ?? ''}`.trim();
  if (o.valueString !== undefined) return o.valueString;
  if (o.valueCodeableConcept) return o.valueCodeableConcept.text ?? o.valueCodeableConcept.coding?.[0]?.display;
  if (o.valueInteger !== undefined) return String(o.valueInteger);
  if (o.valueBoolean !== undefined) return i18n.t(o.valueBoolean ? 'fhir.yes' : 'fhir.no');
  return undefined;
}

export const codeText = (c: any): string | undefined => c?.text ?? c?.coding?.[0]?.display ?? c?.coding?.[0]?.code;

export function ObservationTable({ observations }: { observations: any[] }) {
  const { t } = useTranslation();
  if (!observations.length) return <p className="none">{t('fhir.noResults')}</p>;
  return (
    <table data-testid="observations">
      <thead><tr><th>{t('fhir.date')}</th><th>{t('fhir.test')}</th><th>{t('fhir.result')}</th><th>{t('fhir.status')}</th></tr></thead>
      <tbody>
        {observations.map((o) => (
          <tr key={o.id}>
            <td><V r={o} v={fmt.date(o.effectiveDateTime ?? o.issued)} /></td>
            <td><V r={o} v={codeText(o.code)} /></td>
            <td><V r={o} v={observationValue(o)} /></td>
            <td>{word('obsStatus', o.status)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Every resource of a searchset Bundle's pages (follows `next` links, same origin only). */
export async function allEntries(get: (url: string) => Promise<any>, first: string, max = 500): Promise<any[]> {
  const out: any[] = [];
  let url: string | undefined = first;
  while (url && out.length < max) {
    const b = await get(url);
    for (const e of b.entry ?? []) if (e.search?.mode !== 'outcome' && e.resource) out.push(e.resource);
    const next: string | undefined = b.link?.find((l: any) => l.relation === 'next')?.url;
    url = next ? new URL(next, location.origin).pathname + new URL(next, location.origin).search : undefined;
  }
  return out;
}
