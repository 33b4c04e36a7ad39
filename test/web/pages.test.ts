// The web pages in a real browser (playwright-core driving Debian's chromium, see
// scripts/setup-chromium.sh): a staff member follows the invitation e-mail, sets a password, enrols
// TOTP, logs in, searches and opens a patient, logs out; the patient then logs in with an e-mailed
// code and sees who accessed their record. Skipped, with a notice, only if chromium cannot be had.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { testEnv, type TestEnv, DB_LABEL } from '../helpers.ts';
import { createTenant, addSite } from '../../src/store/tenants.ts';
import { systemContext } from '../../src/core/context.ts';
import { runCommand } from '../../src/cli/commands.ts';
import { buildApp } from '../../src/server/app.ts';
import { totpNow } from '../../src/auth/totp.ts';
import { smtpSink, mailText } from '../auth/smtp-sink.ts';
import { clearOfStepBoundary } from '../auth/totp-step.ts';

const PASSWORD = 'Marée-haute à Vannes 1987';
const NIR = '2800256012345'; // synthetic; key computed below
const nirKey = (n: string) => String(97 - Number(BigInt(n) % 97n)).padStart(2, '0');

let browserPath: string | null = null;
let env: TestEnv;
let app: FastifyInstance;
let sink: Awaited<ReturnType<typeof smtpSink>>;
let browser: Browser;
let base: string;
let patientId: string;

const setup = spawnSync('sh', ['scripts/setup-chromium.sh'], { encoding: 'utf8' });
if (setup.status === 0) browserPath = setup.stdout.trim().split('\n').at(-1) || null;
else console.log(`# test/web skipped: chromium is not available (${(setup.stderr || '').trim().split('\n').at(-1)})`);
const skip = browserPath ? false : 'chromium is not installed and cannot be installed here';

/** With CERBERE_SCREENSHOTS=DIR, keeps a PNG of the page at this step (to look at the pages). */
async function shot(page: Page, name: string): Promise<void> {
  if (process.env.CERBERE_SCREENSHOTS) await page.screenshot({ path: `${process.env.CERBERE_SCREENSHOTS}/${name}.png`, fullPage: true });
}

async function cli(...argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  const code = await runCommand(env.services, argv, { line: (t) => lines.push(t), progress: () => {} });
  assert.equal(code, 0, lines.join('\n'));
  return lines;
}
/** The link of the next e-mail, pointed at the test server (the path and fragment are the mail's). */
async function mailedLink(kind: string): Promise<string> {
  const text = mailText((await sink.next()).raw);
  const m = new RegExp(`https?://[^\\s/]+(/auth/${kind}#\\S+)`).exec(text);
  assert.ok(m, `no /auth/${kind} link in the mail`);
  return base + m[1];
}
/** A page that records CSP violations and script errors. */
async function newPage(): Promise<{ page: Page; problems: string[] }> {
  // The pages follow the browser's language; these steps read the French pages.
  const context = await browser.newContext({ locale: 'fr-FR' });
  const page = await context.newPage();
  const problems: string[] = [];
  // HTTP errors the pages expect (a refused password, /auth/me after logout) are shown by the pages, not collected.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  return { page, problems };
}

/** On the login page: tenant, e-mail and password, then the current TOTP code; ends on the staff console. */
async function staffLogin(page: Page, email: string, secret: string): Promise<void> {
  await page.fill('input[name=tenant]', 'lab');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.fill('input[name=code]', totpNow(secret));
  await page.click('button[type=submit]');
  await page.waitForURL(/\/staff$/);
}

before(async () => {
  if (skip) return;
  const b = spawnSync(process.execPath, ['scripts/build-web.mjs'], { encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  sink = await smtpSink();
  env = await testEnv({ env: { CERBERE_SMTP_URL: sink.url, CERBERE_PUBLIC_URL: 'https://cerbere.test' } });
  await createTenant(env.services.database.db, env.services.keyring, 'lab', 'Laboratoire');
  await addSite(env.services.database.db, 'lab', 'vannes', 'Vannes');
  const sys = systemContext('lab');
  const p = await env.services.repo.create(sys, {
    resourceType: 'Patient', name: [{ family: 'Kerouac', given: ['Soizic'] }], gender: 'female', birthDate: '1980-02-03',
    identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: NIR + nirKey(NIR) }],
  });
  patientId = p.resource.id;
  await env.services.repo.create(sys, {
    resourceType: 'Observation', status: 'final', code: { text: 'Hémoglobine' }, subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: '2026-11-20T08:00:00Z', valueQuantity: { value: 13.2, unit: 'g/dL' },
  });
  app = await buildApp(env.services, { logLevel: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://localhost:${(app.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: browserPath!, args: ['--no-sandbox'] });
});
after(async () => {
  if (skip) return;
  await browser?.close();
  await app?.close();
  await env?.close();
  await sink?.close();
});

test(`staff (${DB_LABEL}): invitation e-mail → password → TOTP enrolment → login → search and open a patient → log out`, { skip }, async () => {
  await cli('user', 'create', '--tenant', 'lab', '--email', 'yann.bio@example.fr', '--role', 'reader', '--site', 'vannes');
  const link = await mailedLink('invitation');
  const { page, problems } = await newPage();
  const res = await page.goto(link);
  const csp = res!.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  await page.locator('input[name=password]').waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the token is removed from the address bar');

  // The server's password rule comes back as its own message.
  await page.fill('input[name=password]', 'court');
  await page.fill('input[name=password2]', 'court');
  await page.click('button[type=submit]');
  await page.getByRole('alert').waitFor();
  await page.fill('input[name=password]', PASSWORD);
  await page.fill('input[name=password2]', PASSWORD);
  await page.click('button[type=submit]');

  const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
  assert.ok(await page.locator('canvas').count(), 'a QR code is drawn');
  await clearOfStepBoundary();
  await page.fill('input[name=code]', totpNow(secret, Math.floor(Date.now() / 1000) - 30));
  await page.click('button[type=submit]');
  await page.getByTestId('recovery-codes').waitFor();
  assert.equal(await page.getByTestId('recovery-codes').locator('li').count(), 10);
  await shot(page, 'recovery-codes');

  await page.click('a[href="/auth/login"]');
  await staffLogin(page, 'yann.bio@example.fr', secret);
  const cookies = await page.context().cookies();
  const c = cookies.find((x) => x.name === '__Host-cbr_session');
  assert.ok(c?.httpOnly && c.sameSite === 'Strict', 'HttpOnly SameSite=Strict session cookie');

  await page.fill('input[name=family]', 'kerouac');
  await page.fill('input[name=birthdate]', '1980-02-03');
  await page.click('button[type=submit]');
  const rows = page.getByTestId('patients').locator('tbody tr');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 1);
  await rows.first().getByRole('button').click();
  assert.match((await page.getByTestId('patient-name').textContent())!, /Kerouac Soizic/);
  assert.match((await page.getByTestId('observations').textContent())!, /Hémoglobine.*13\.2 g\/dL/);
  await shot(page, 'staff-patient');

  // Search by NIR, written with spaces as on a carte Vitale.
  await page.click('text=← Recherche');
  await page.fill('input[name=identifier]', (NIR + nirKey(NIR)).replace(/^(\d)(\d\d)(\d\d)/, '$1 $2 $3 '));
  await page.click('button[type=submit]');
  await page.getByTestId('patients').waitFor();
  assert.equal(await page.getByTestId('patients').locator('tbody tr').count(), 1);

  await page.click('text=Se déconnecter partout');
  await page.waitForURL(/\/auth\/login$/);
  const me = await page.evaluate(async () => (await fetch('/auth/me')).status);
  assert.equal(me, 401);
  assert.deepEqual(problems, [], 'no CSP violation or script error');
  await page.context().close();
});

test(`physician outside the care relationships (${DB_LABEL}): 403 explained, break-glass with a reason, then the record`, { skip }, async () => {
  await cli('user', 'create', '--tenant', 'lab', '--email', 'dr.le-goff@example.fr', '--role', 'physician', '--site', 'vannes');
  const { page, problems } = await newPage();
  await page.goto(await mailedLink('invitation'));
  await page.fill('input[name=password]', PASSWORD);
  await page.fill('input[name=password2]', PASSWORD);
  await page.click('button[type=submit]');
  const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
  await clearOfStepBoundary();
  await page.fill('input[name=code]', totpNow(secret, Math.floor(Date.now() / 1000) - 30));
  await page.click('button[type=submit]');
  await page.getByTestId('recovery-codes').waitFor();
  await page.goto(base + '/auth/login');
  await staffLogin(page, 'dr.le-goff@example.fr', secret);

  await page.goto(`${base}/staff?patient=${patientId}`);
  await page.getByText('Accès refusé').waitFor();
  await page.fill('textarea[name=reason]', 'urgence');
  await page.click('button.danger');
  await page.getByText('a reason of 10 to 1000 characters is required').waitFor();
  await shot(page, 'break-glass');
  await page.fill('textarea[name=reason]', 'Patiente inconsciente aux urgences, résultats nécessaires');
  await page.click('button.danger');
  assert.match((await page.getByTestId('patient-name').textContent())!, /Kerouac/);
  assert.match((await page.getByTestId('observations').textContent())!, /13\.2 g\/dL/);
  assert.deepEqual(problems, [], 'no CSP violation or script error');
  await page.context().close();
});

test(`patient (${DB_LABEL}): invitation → e-mailed login code → own results and who accessed the record`, { skip }, async () => {
  await cli('user', 'create', '--tenant', 'lab', '--email', 'soizic@example.fr', '--patient', patientId);
  const link = await mailedLink('invitation');
  const { page, problems } = await newPage();
  await page.goto(link);
  await page.fill('input[name=password]', PASSWORD);
  await page.fill('input[name=password2]', PASSWORD);
  await page.click('button[type=submit]');
  await page.getByTestId('totp-secret').waitFor();
  await page.click('text=vous connecter'); // patients may skip TOTP and use e-mailed codes

  await page.fill('input[name=tenant]', 'lab');
  await page.fill('input[name=email]', 'soizic@example.fr');
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.click('text=Recevoir un code par e-mail');
  const code = /\b(\d{6})\b/.exec(mailText((await sink.next()).raw))![1];
  await page.fill('input[name=code]', code);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/portal$/);

  assert.match((await page.getByTestId('observations').textContent())!, /Hémoglobine/);
  const log = page.getByTestId('access-log');
  await log.waitFor();
  const text = (await log.textContent())!;
  await shot(page, 'portal');
  assert.match(text, /Vous-même/);
  assert.match(text, /bris de glace/, 'the physician\'s break-glass is shown as such');
  assert.ok((await log.locator('tbody tr').count()) >= 3, 'the staff member\'s search and reads are listed');
  const receipt = log.locator('a[download]').first();
  if (await receipt.count()) {
    const href = (await receipt.getAttribute('href'))!;
    assert.match(href, /^\/fhir\/Patient\/[^/]+\/\$access-receipt\?event=\d+$/);
    const body = await page.evaluate(async (u) => (await fetch(u)).text(), href);
    assert.match(body, /^c2sp\.org\/tlog-proof@v1/);
  }
  assert.deepEqual(problems, [], 'no CSP violation or script error');
  await page.context().close();
});
