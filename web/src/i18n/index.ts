// Languages of the pages: i18next with the French and English messages bundled (no loading),
// the reader's choice kept in localStorage, else the browser's language; French by default.
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { fr } from './fr.ts';
import { en } from './en.ts';

export const LANGS = ['fr', 'en'] as const;
export type Lang = (typeof LANGS)[number];
/** Each language's name in itself (an autonym is never translated). */
export const AUTONYMS: Record<Lang, string> = { fr: 'Français', en: 'English' };
const LANG_KEY = 'cerbere.lang';

function stored(): Lang | null {
  try { const v = localStorage.getItem(LANG_KEY); return (LANGS as readonly string[]).includes(v ?? '') ? v as Lang : null; } catch { return null; }
}

export function detectLang(): Lang {
  return stored() ?? (navigator.language?.toLowerCase().startsWith('en') ? 'en' : 'fr');
}

i18n.on('languageChanged', (lng) => { document.documentElement.lang = lng; });
void i18n.use(initReactI18next).init({
  resources: { fr: { translation: fr }, en: { translation: en } },
  lng: detectLang(), fallbackLng: 'fr', supportedLngs: [...LANGS],
  // React escapes what it renders.
  interpolation: { escapeValue: false },
  returnNull: false, initAsync: false,
});

export function setLang(lang: Lang): void {
  try { localStorage.setItem(LANG_KEY, lang); } catch { /* private mode: the choice lasts for this page */ }
  void i18n.changeLanguage(lang);
}

export const currentLang = (): Lang => (i18n.resolvedLanguage === 'en' ? 'en' : 'fr');

/** A code shown as a word (role, alert kind, state…), or the code itself when it has no translation. */
export function word(group: string, code: string | null | undefined): string {
  if (!code) return '';
  const key = `words.${group}.${code}`;
  return i18n.exists(key) ? String(i18n.t(key as never)) : code;
}

export { i18n };
