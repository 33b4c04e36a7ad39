// Dates and numbers in the reader's language, through Intl.
import { currentLang } from './index.ts';

// The browser's own variant (en-US, fr-CA…) when it is of the page's language.
const locale = () => {
  const lang = currentLang();
  return navigator.language?.toLowerCase().startsWith(lang) ? navigator.language : lang === 'en' ? 'en-GB' : 'fr-FR';
};
const valid = (d: Date) => !Number.isNaN(d.getTime());

export const fmt = {
  number: (n: number | null | undefined): string => (n === null || n === undefined ? '' : new Intl.NumberFormat(locale()).format(n)),
  /** An instant (ISO 8601 with time), in the reader's time zone, to the minute. */
  dateTime(iso: string | null | undefined): string {
    const d = new Date(iso ?? '');
    return iso && valid(d) ? new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d) : (iso ?? '');
  },
  /** A calendar date (YYYY-MM-DD, or the date part of an instant): no time-zone shift. */
  date(iso: string | null | undefined): string {
    const day = (iso ?? '').slice(0, 10);
    const d = new Date(`${day}T00:00:00Z`);
    return /^\d{4}-\d{2}-\d{2}$/.test(day) && valid(d) ? new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'UTC' }).format(d) : (iso ?? '');
  },
};
