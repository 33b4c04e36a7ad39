// The DPO's security page in a real browser: the real server (buildApp) serves the page and the DPO's
// real login (invitation, TOTP enrolment); the watch API is answered by fixtures until the server's
// /watch endpoints are on this branch (FIXTURES below). French and English, the CSRF header on
// writes, the reason and confirm step of a suspension, keyboard focus, axe-core (WCAG 2.1 A/AA).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { testEnv, type TestEnv, DB_LABEL } from '../helpers.ts';
import { createTenant } from '../../src/store/tenants.ts';
import { runCommand } from '../../src/cli/commands.ts';
import { buildApp } from '../../src/server/app.ts';
import { totpNow } from '../../src/auth/totp.ts';
import { smtpSink, mailText } from '../auth/smtp-sink.ts';
import { clearOfStepBoundary } from '../auth/totp-step.ts';
import { answer, watchState, type WatchCall } from './watch-fixtures.ts';

// ROUTE INTERCEPTION: while true, /watch/** is answered by test/web/watch-fixtures.ts, not the server.
// Set CERBERE_WATCH_FIXTURES=0 (or flip this) once the server's watch API is merged, to test it for real.
const FIXTURES = process.env.CERBERE_WATCH_FIXTURES !== '0';

const PASSWORD = 'Marée-haute à Vannes 1987';
const WCAG = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
let browserPath: string | null = null;
let env: TestEnv;
let app: FastifyInstance;
let sink: Awaited<ReturnType<typeof smtpSink>>;
let browser: Browser;
let base: string;
let secret: string;
let lastStep = 0;

const setup = spawnSync('sh', ['scripts/setup-chromium.sh'], { encoding: 'utf8' });
if (setup.status === 0) browserPath = setup.stdout.trim().split('\n').at(-1) || null;
else console.log(`# test/web skipped: chromium is not available (${(setup.stderr || '').trim().split('\n').at(-1)})`);
const skip = browserPath ? false : 'chromium is not installed and cannot be installed here';

async function shot(page: Page, name: string): Promise<void> {
  const dir = process.env.CERBERE_SCREENSHOTS;
  if (dir) { mkdirSync(dir, { recursive: true }); await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true }); }
}
/** Zero violations of the WCAG 2.1 A and AA rules of axe-core on the page as it is. */
async function axe(page: Page, what: string): Promise<void> {
  const r = await new AxeBuilder({ page }).withTags(WCAG).analyze();
  const lines = r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.ok(r.passes.length > 10, `axe ran its rules on ${what}`);
  if (process.env.CERBERE_AXE_LOG) console.log(`axe ${what}: ${r.passes.length} rules passed, ${r.violations.length} violations, to review by hand: ${r.incomplete.map((i) => i.id).join(', ') || 'none'}`);
  assert.deepEqual(lines, [], `axe on ${what}`);
}

before(async () => {
  if (skip) return;
  const b = spawnSync(process.execPath, ['scripts/build-web.mjs'], { encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  sink = await smtpSink();
  env = await testEnv({ env: { CERBERE_SMTP_URL: sink.url, CERBERE_PUBLIC_URL: 'https://cerbere.test' } });
  await createTenant(env.services.database.db, env.services.keyring, 'lab', 'Laboratoire');
  app = await buildApp(env.services, { logLevel: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://localhost:${(app.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: browserPath!, args: ['--no-sandbox'] });
  // The DPO's account: invitation e-mail, password, TOTP enrolment (as in pages.test.ts).
  const lines: string[] = [];
  const code = await runCommand(env.services, ['user', 'create', '--tenant', 'lab', '--email', 'dpo@example.fr', '--role', 'dpo'], { line: (t) => lines.push(t), progress: () => {} });
  assert.equal(code, 0, lines.join('\n'));
  const link = new RegExp('https?://[^\\s/]+(/auth/invitation#\\S+)').exec(mailText((await sink.next()).raw))![1];
  const page = await (await browser.newContext({ locale: 'fr-FR' })).newPage();
  await page.goto(base + link);
  await page.fill('input[name=password]', PASSWORD);
  await page.fill('input[name=password2]', PASSWORD);
  await page.click('button[type=submit]');
  secret = (await page.getByTestId('totp-secret').textContent())!.trim();
  await clearOfStepBoundary();
  await page.fill('input[name=code]', totpNow(secret, Math.floor(Date.now() / 1000) - 30));
  await page.click('button[type=submit]');
  await page.getByTestId('recovery-codes').waitFor();
  await page.context().close();
});
after(async () => {
  if (skip) return;
  await browser?.close();
  await app?.close();
  await env?.close();
  await sink?.close();
});

/** The focused element of the page (evaluated in the browser; the test's own types have no DOM). */
const focused = (page: Page) => page.evaluate(() => {
  const a = (globalThis as any).document.activeElement;
  return { id: a?.id as string, name: a?.name as string | undefined, text: a?.textContent as string };
});

/** A French browser logged in as the DPO, on the staff console, with /watch/** answered by fixtures. */
async function dpoPage(): Promise<{ page: Page; problems: string[]; calls: WatchCall[] }> {
  const context = await browser.newContext({ locale: 'fr-FR' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  const calls: WatchCall[] = [];
  if (FIXTURES) {
    const state = watchState();
    await page.route('**/watch/**', (route) => answer(route, state, calls));
  }
  await page.goto(base + '/auth/login');
  await page.fill('input[name=tenant]', 'lab');
  await page.fill('input[name=email]', 'dpo@example.fr');
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  // A TOTP code is accepted once: a second login waits for the next 30-second step.
  while (Math.floor(Date.now() / 30_000) <= lastStep) await sleep(500);
  lastStep = Math.floor(Date.now() / 30_000);
  await page.fill('input[name=code]', totpNow(secret));
  await page.click('button[type=submit]');
  await page.waitForURL(/\/staff$/);
  return { page, problems, calls };
}

test(`DPO security page (${DB_LABEL}): French, alerts and suspended credentials, acknowledge with the CSRF header, suspend with a reason`, { skip }, async () => {
  const { page, problems, calls } = await dpoPage();
  // The console offers the security page to a DPO, without redirecting.
  const nav = page.getByRole('navigation');
  await nav.getByRole('link', { name: 'Sécurité' }).click();
  await page.waitForURL(/\/security$/);
  const alerts = page.getByTestId('alerts');
  await alerts.waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'fr');
  assert.equal(await alerts.locator('li').count(), 2, 'open alerts only by default');
  const list = (await alerts.textContent())!;
  for (const s of ['Parcours de dossiers en série', 'Élevée', 'Nouveau port en écoute', 'Critique', 'Serveur (alerte de l’hôte)', 'Compte acc_7f3c']) assert.ok(list.includes(s), `${s} in ${list}`);
  assert.match(list, /1\s240 patients/, 'counts in French number format');
  const suspended = (await page.getByTestId('suspended').textContent())!;
  assert.match(suspended, /Jeton d’API LIMS Vannes.*Service \(API\).*500\s\/\s500 patients/);
  await axe(page, 'the alert list (fr)');
  await shot(page, 'security-fr');

  await page.selectOption('select[name=state]', 'all');
  await alerts.locator('li').nth(2).waitFor();
  assert.ok(calls.some((c) => c.path === '/watch/alerts?state=all'));

  // Detail of the enumeration alert: evidence, history, the actor's timeline; focus on its heading.
  await alerts.locator('li', { hasText: 'Parcours de dossiers' }).getByRole('button', { name: 'Détail' }).click();
  await page.getByTestId('timeline').waitFor();
  assert.equal((await focused(page)).id, 'alert-h');
  assert.equal(await page.getByTestId('evidence').locator('li').count(), 4);
  assert.equal(await page.getByTestId('timeline').locator('tbody tr').count(), 6);
  assert.match((await page.getByTestId('timeline').textContent())!, /Recherche.*Réussi.*Lecture.*Refusé/);
  await axe(page, 'an alert (fr)');
  await shot(page, 'security-alert-fr');

  // Acknowledge with a note: POST with the session's CSRF token.
  await page.fill('textarea[name=note]', 'Vu avec le cadre de santé');
  await page.getByRole('button', { name: 'Prendre en compte' }).click();
  await page.getByText('Alerte prise en compte.').waitFor();
  const ack = calls.find((c) => c.path === '/watch/alerts/al_enum1/ack')!;
  assert.equal(ack?.method, 'POST');
  assert.ok(ack.csrf && ack.csrf === await page.evaluate(() => (globalThis as any).sessionStorage.getItem('cerbere.csrf')), 'the CSRF header is sent');
  assert.deepEqual(ack.body, { note: 'Vu avec le cadre de santé' });

  // Suspend: a dialog that takes the focus, refuses a short reason, then asks for confirmation.
  const opener = page.getByRole('button', { name: 'Suspendre l’identifiant' });
  await opener.click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.equal((await focused(page)).name, 'reason');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await focused(page)).text, 'Suspendre l’identifiant', 'focus back on the opener');
  await opener.click();
  await page.keyboard.type('court'); // 5 characters
  await dialog.getByRole('button', { name: 'Continuer' }).click();
  await dialog.getByRole('alert').waitFor();
  assert.match((await dialog.getByRole('alert').textContent())!, /de 10 à 500 caractères/);
  await page.keyboard.type(' : 1 240 dossiers lus en série par ce compte');
  await dialog.getByRole('button', { name: 'Continuer' }).click();
  await dialog.getByRole('button', { name: 'Confirmer' }).waitFor();
  assert.equal((await focused(page)).text, 'Confirmer');
  await axe(page, 'the suspension dialog (fr)');
  await shot(page, 'security-suspend-fr');
  assert.ok(!calls.some((c) => c.path === '/watch/credentials/suspend'), 'nothing sent before the confirmation');
  await dialog.getByRole('button', { name: 'Confirmer' }).click();
  await page.getByText('Identifiant suspendu.').waitFor();
  const suspend = calls.find((c) => c.path === '/watch/credentials/suspend')!;
  assert.ok(suspend.csrf);
  assert.deepEqual(suspend.body, { kind: 'user', id: 'acc_7f3c', reason: 'court : 1 240 dossiers lus en série par ce compte' });
  await page.getByRole('button', { name: 'Rétablir l’identifiant' }).first().waitFor();
  await page.getByTestId('suspended').locator('li', { hasText: 'Compte acc_7f3c' }).waitFor(); // the list reloads
  assert.deepEqual(problems, [], 'no CSP violation or script error');
  await page.context().close();
});

test(`DPO security page (${DB_LABEL}): English on demand, kept across reloads; desktop and 390 px; axe in both languages`, { skip }, async () => {
  const { page, problems } = await dpoPage();
  await page.goto(base + '/security');
  await page.getByTestId('alerts').waitFor();
  await page.setViewportSize({ width: 390, height: 844 });
  await axe(page, 'the alert list at 390 px (fr)');
  await shot(page, 'security-fr-390');

  await page.getByRole('button', { name: 'EN', exact: true }).click();
  await page.getByRole('heading', { name: 'Security', level: 1 }).waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await page.reload();
  await page.getByTestId('alerts').waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'en', 'the choice is kept');
  const list = (await page.getByTestId('alerts').textContent())!;
  for (const s of ['Records walked in series', 'High', 'New listening port', 'Critical', 'Server (host alert)', 'Account acc_7f3c']) assert.ok(list.includes(s), `${s} in ${list}`);
  assert.match(list, /1,240 patients/);
  assert.match((await page.getByTestId('suspended').textContent())!, /API token LIMS Vannes.*Budget500 \/ 500 patients/);
  await axe(page, 'the alert list at 390 px (en)');
  await shot(page, 'security-en-390');
  await page.setViewportSize({ width: 1280, height: 900 });
  await axe(page, 'the alert list (en)');
  await shot(page, 'security-en');

  // The suspended token's budget alert, opened from the credentials: restore, with the dialog in English.
  await page.getByTestId('suspended').getByRole('button', { name: 'Alert' }).click();
  await page.getByTestId('timeline').waitFor();
  assert.match((await page.getByRole('heading', { level: 2 }).first().textContent())!, /Patient budget reached/);
  await page.getByRole('button', { name: 'Restore the credential' }).first().click();
  await page.getByRole('dialog').getByRole('heading', { name: 'Restore the credential: API token LIMS Vannes' }).waitFor();
  await axe(page, 'the restore dialog (en)');
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, 'security-restore-en-390');
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.keyboard.press('Escape');
  await axe(page, 'an alert (en)');
  await shot(page, 'security-alert-en');
  assert.deepEqual(problems, [], 'no CSP violation or script error');
  await page.context().close();
});
