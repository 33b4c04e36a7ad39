// Pieces of the security page shared by the alert list, the alert detail and the credentials.
import { useTranslation } from 'react-i18next';
import { word } from '../i18n/index.ts';
import { fmt } from '../i18n/fmt.ts';
import { credentialOf, type Alert, type Severity } from './watch.ts';

// A level meter beside the word, so that severity never rests on colour alone.
const METER: Record<Severity, string> = { low: '▮▯▯▯', medium: '▮▮▯▯', high: '▮▮▮▯', critical: '▮▮▮▮' };

export function SeverityBadge({ severity }: { severity: Severity }) {
  const { t } = useTranslation();
  return (
    <span className={`sev sev-${severity}`}>
      <span className="sr-only">{t('security.severity')} </span>
      <span aria-hidden="true" className="meter">{METER[severity] ?? ''}</span> {word('severity', severity)}
    </span>
  );
}

/** An alert kind in words; host kinds are nested under "host" in the messages. */
export const kindWord = (kind: string): string => word('kind', kind);

/** The alert's credential in words (kind and label), the server for a host alert, or "none". */
export function CredentialName({ alert }: { alert: Alert }) {
  const { t } = useTranslation();
  const c = credentialOf(alert);
  if (c) return <>{word('credentialKind', c.kind)} <span className="mono">{c.label}</span></>;
  if (alert.tenantId === null) return <>{t('security.host')}</>;
  return <span className="none">{t('security.noCredential')}</span>;
}

/** The facts every alert shows: credential, patients count, first and last time. */
export function AlertFacts({ alert }: { alert: Alert }) {
  const { t } = useTranslation();
  return (
    <dl className="facts">
      <dt>{t('security.credential')}</dt><dd><CredentialName alert={alert} /></dd>
      <dt>{t('security.patientsLabel')}</dt><dd>{t('security.patients', { count: alert.patients })}</dd>
      <dt>{t('security.first')}</dt><dd><Time at={alert.firstAt} /></dd>
      <dt>{t('security.last')}</dt><dd><Time at={alert.lastAt} /></dd>
    </dl>
  );
}

export const Time = ({ at }: { at: string | null }) => (at ? <time dateTime={at}>{fmt.dateTime(at)}</time> : null);
