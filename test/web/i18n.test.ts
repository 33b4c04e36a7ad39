// The pages' translations: both languages have the same keys, no empty message, the same
// placeholders; every code of the watch API has a word; and no page shows a string that skips the
// translation function (a scan of the JSX of web/src/**/*.tsx with TypeScript's own parser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { fr } from '../../web/src/i18n/fr.ts';
import { en } from '../../web/src/i18n/en.ts';

type Tree = { [k: string]: string | Tree };
const flat = (o: Tree, prefix = ''): Map<string, string> => new Map(Object.entries(o).flatMap(([k, v]) =>
  typeof v === 'string' ? [[prefix + k, v] as [string, string]] : [...flat(v, `${prefix}${k}.`)]));
const FR = flat(fr as Tree);
const EN = flat(en as Tree);
const LANGS = { fr: FR, en: EN };

test('French and English have exactly the same keys', () => {
  assert.deepEqual([...EN.keys()].filter((k) => !FR.has(k)), [], 'keys only in English');
  assert.deepEqual([...FR.keys()].filter((k) => !EN.has(k)), [], 'keys only in French');
});

test('no message is empty, and both languages use the same placeholders and tags', () => {
  const marks = (s: string) => [...s.matchAll(/\{\{\s*(\w+)[^}]*\}\}|<(\w+)>/g)].map((m) => m[1] ?? `<${m[2]}>`).sort();
  for (const [lang, messages] of Object.entries(LANGS)) {
    for (const [k, v] of messages) assert.ok(v.trim() !== '', `${lang}: ${k} is empty`);
  }
  for (const [k, v] of FR) assert.deepEqual(marks(EN.get(k) ?? ''), marks(v), `placeholders of ${k}`);
  // <Trans> parses the message as HTML: a tag named like a void element (link, br…) would lose its text.
  const VOID = ['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'];
  for (const [k, v] of FR) for (const m of v.matchAll(/<(\w+)>/g)) assert.ok(!VOID.includes(m[1]), `${k}: <${m[1]}> is a void element`);
});

test('every code of the watch API and of the pages is shown as a word in both languages', () => {
  const codes: Record<string, string[]> = {
    kind: ['unexplained', 'volume', 'enumeration', 'context', 'auth', 'break-glass', 'export', 'canary', 'budget',
      'host.listener', 'host.process', 'host.egress', 'host.cpu', 'host.integrity', 'host.outbound'],
    severity: ['low', 'medium', 'high', 'critical'],
    state: ['open', 'acknowledged', 'closed'],
    credentialState: ['active', 'suspended', 'revoked'],
    credentialKind: ['token', 'client', 'user', 'patient'],
    outcome: ['success', 'denied', 'failure'],
    actorKind: ['token', 'client', 'user', 'patient', 'system'],
    action: ['read', 'vread', 'search', 'create', 'update', 'delete', 'history'],
    role: ['service', 'reader', 'dpo', 'auditor', 'admin', 'receptionist', 'lab_technician', 'biologist', 'physician', 'tenant_admin'],
  };
  for (const [lang, messages] of Object.entries(LANGS)) {
    for (const [group, list] of Object.entries(codes)) {
      for (const c of list) assert.ok(messages.has(`words.${group}.${c}`), `${lang}: no word for ${group} ${c}`);
    }
  }
});

// ---- The scan of the pages' source ----

const ALLOWED = new Set(['Cerbère']);
/** Attributes a reader sees or hears: a literal there must come from t(). */
const READ_ATTRIBUTES = new Set(['title', 'aria-label', 'aria-description', 'placeholder', 'alt', 'label', 'submitLabel', 'error']);
const hasWords = (s: string) => /\p{L}/u.test(s) && !ALLOWED.has(s.trim());

/** String literals an expression can evaluate to (its branches), not those passed to calls inside it. */
function results(e: ts.Expression): ts.Node[] {
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return [e];
  if (ts.isTemplateExpression(e)) return [e.head, ...e.templateSpans.map((s) => s.literal)];
  if (ts.isParenthesizedExpression(e)) return results(e.expression);
  if (ts.isConditionalExpression(e)) return [...results(e.whenTrue), ...results(e.whenFalse)];
  if (ts.isBinaryExpression(e) && [ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.AmpersandAmpersandToken].includes(e.operatorToken.kind)) {
    return [...results(e.left), ...results(e.right)];
  }
  return [];
}
const textOf = (n: ts.Node) => (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateLiteralToken(n) ? n.text : n.getText());

/** Untranslated strings of one .tsx source: JSX text, read attributes, and the results of JSX expressions. */
export function untranslated(source: string, file = 'x.tsx'): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
  const found: string[] = [];
  const report = (n: ts.Node, text: string) => {
    if (hasWords(text)) found.push(`${file}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}: ${text.trim()}`);
  };
  const visit = (n: ts.Node) => {
    if (ts.isJsxText(n)) report(n, n.text);
    else if (ts.isJsxAttribute(n) && READ_ATTRIBUTES.has(n.name.getText()) && n.initializer) {
      const init = n.initializer;
      if (ts.isStringLiteral(init)) report(init, init.text);
      else if (ts.isJsxExpression(init) && init.expression) for (const r of results(init.expression)) report(r, textOf(r));
    } else if (ts.isJsxExpression(n) && n.expression && !ts.isJsxAttribute(n.parent)) {
      for (const r of results(n.expression)) report(r, textOf(r));
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const tsxFiles = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
  const p = join(dir, name);
  return statSync(p).isDirectory() ? tsxFiles(p) : p.endsWith('.tsx') ? [p] : [];
});

test('the scan finds an untranslated string, and accepts t(), the brand and punctuation', () => {
  assert.equal(untranslated('const A = () => <p>Bonjour</p>;').length, 1);
  assert.equal(untranslated('const A = () => <Page title="Connexion" />;').length, 1);
  assert.equal(untranslated("const A = ({ ok }) => <p>{ok ? t('a.b') : 'en cours'}</p>;").length, 1);
  assert.deepEqual(untranslated("const A = ({ x }) => <p className=\"hint\">{t('a.b', { x: f(x, 'date') })} · <span>Cerbère</span> — ▮▮ {x}</p>;"), []);
});

test('every JSX string of web/src goes through the translation function', () => {
  const files = tsxFiles('web/src');
  assert.ok(files.length >= 10, 'the pages are found');
  const found = files.flatMap((f) => untranslated(readFileSync(f, 'utf8'), f));
  assert.deepEqual(found, [], `untranslated strings:\n${found.join('\n')}`);
});

test('every literal key given to t() or <Trans i18nKey> exists', () => {
  const missing: string[] = [];
  for (const f of tsxFiles('web/src')) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/\bt\(\s*'([\w.-]+)'|i18nKey="([\w.-]+)"/g)) {
      const key = m[1] ?? m[2];
      if (!FR.has(key) && !FR.has(`${key}_other`) && ![...FR.keys()].some((k) => k.startsWith(`${key}.`))) missing.push(`${f}: ${key}`);
    }
  }
  assert.deepEqual(missing, []);
});
