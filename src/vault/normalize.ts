// Normalisation before blind indexing: stored values and query values go through the same
// functions, so only equality of the normalised form matters. All functions are pure.

// NIR normalisation lives with the rest of the NIR rules; re-exported so indexers find every normaliser here.
export { normalizeNir } from '../fhir/nir.ts';

// Ligatures NFKD leaves alone but that French users type both ways ("Lætitia" / "Laetitia").
const LIGATURES: Record<string, string> = { 'œ': 'oe', 'æ': 'ae', 'ß': 'ss' };

/** Accent-, case- and separator-insensitive form: "Éloïse  Le-Gall" → "eloise le gall". */
export function normalizeText(s: string): string {
  return s
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[œæß]/g, (c) => LIGATURES[c])
    // Whitespace, any dash (\p{Pd}) and apostrophe variants all separate words the same way.
    .replace(/[\s\p{Pd}'‘’ʼ`]+/gu, ' ')
    .trim();
}

const EMAIL = /^[^\s@]{1,64}@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+\p{L}{2,63}$/u;

/** Trimmed, lower-cased address (a "mailto:" prefix is dropped), or null if not plausibly an e-mail. */
export function normalizeEmail(s: string): string | null {
  const e = s.trim().toLowerCase().replace(/^mailto:/, '');
  return e.length <= 254 && EMAIL.test(e) ? e : null;
}

// French overseas departments use their own country codes but are dialled nationally with a
// leading 0 like mainland numbers ("0692…" is +262 692…). Keyed by the first 3 national digits.
const FR_OVERSEAS: Record<string, string> = {
  '590': '590', '690': '590', '691': '590', // Guadeloupe, Saint-Martin, Saint-Barthélemy
  '594': '594', '694': '594', // Guyane
  '596': '596', '696': '596', '697': '596', // Martinique
  '262': '262', '263': '262', '692': '262', '693': '262', // La Réunion
  '269': '262', '639': '262', // Mayotte
};
// Country codes sharing France's 9-digit national significant numbers.
const FR_PLAN = new Set(['33', '590', '594', '596', '262']);

// 9 national digits in the French plan (optionally written with the trunk 0) → E.164.
function frenchE164(cc: string, national: string): string | null {
  const nsn = national.length === 10 && national[0] === '0' ? national.slice(1) : national;
  if (!/^[1-9][0-9]{8}$/.test(nsn)) return null;
  return '+' + (FR_OVERSEAS[nsn.slice(0, 3)] ?? cc) + nsn;
}

/**
 * E.164 form ("+33612345678") or null. Accepts "06 12 34 56 78", "+33 6 12 34 56 78",
 * "0033612345678", "(+33) 6.12.34.56.78", "+33 (0)6…" and a "tel:" prefix. National numbers
 * must start with the trunk 0; for France they have 10 digits.
 */
export function normalizePhone(s: string, defaultCountry = '33'): string | null {
  let t = s.trim().replace(/^tel:/i, '');
  const international = /^\(?(?:\+|00)/.test(t);
  // "+33 (0)6…": the bracketed trunk 0 is a national-dialling hint, not part of the number.
  if (international) t = t.replace(/\(0\)/g, '');
  t = t.replace(/[\s.\-()/]/g, '');
  if (!/^(?:\+|00)?[0-9]+$/.test(t)) return null;
  if (international) {
    const digits = t.startsWith('+') ? t.slice(1) : t.slice(2);
    // Country codes are prefix-free, so a French-plan code decides the number's shape.
    for (const cc of FR_PLAN) if (digits.startsWith(cc)) return frenchE164(cc, digits.slice(cc.length));
    // E.164 allows at most 15 digits; North America (+1) always has 10 after the code.
    if (digits[0] === '1') return digits.length === 11 ? '+' + digits : null;
    return /^[1-9][0-9]{6,14}$/.test(digits) ? '+' + digits : null;
  }
  if (t[0] !== '0') return null;
  if (FR_PLAN.has(defaultCountry)) return t.length === 10 ? frenchE164(defaultCountry, t) : null;
  const e164 = defaultCountry + t.slice(1);
  return /^[1-9][0-9]{6,14}$/.test(e164) ? '+' + e164 : null;
}

export type DatePrecision = 'year' | 'month' | 'day';
export interface NormalizedDate {
  precision: DatePrecision;
  year: number;
  month?: number;
  day?: number;
}

const DATE = /^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?$/;

export function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * FHIR date or dateTime → its date part at the precision written, or null. A dateTime's date is
 * taken as written (no conversion to UTC): "1985-03-12T23:30:00-05:00" is 1985-03-12.
 */
export function normalizeDate(s: string): NormalizedDate | null {
  const m = DATE.exec(s.trim());
  if (!m) return null;
  const year = Number(m[1]);
  if (year < 1) return null;
  if (m[2] === undefined) return { precision: 'year', year };
  const month = Number(m[2]);
  if (month < 1 || month > 12) return null;
  if (m[3] === undefined) return { precision: 'month', year, month };
  const day = Number(m[3]);
  if (day < 1 || day > daysInMonth(year, month)) return null;
  return { precision: 'day', year, month, day };
}

/** "system|code" with the code trimmed; codes are case-sensitive, so case is kept. */
export function normalizeToken(system: string | undefined, code: string): string {
  return `${system ?? ''}|${code.trim()}`;
}
