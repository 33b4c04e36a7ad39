// The README path as a new user would follow it: `npm start` (demo tenant), `cerbere user create`
// through the admin socket, accept the invitation, enrol TOTP, log in, read a Patient through /fhir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { totpNow } from '../../src/auth/totp.ts';
import { DEMO_TOKEN, startServer } from './start-server.ts';
import { clearOfStepBoundary } from '../auth/totp-step.ts';

const BIN = resolve('bin/cerbere.js');

test('README path: npm start, cerbere user create, invitation, TOTP, login, read a Patient', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cerbere-user-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const env = { ...process.env, CERBERE_DATA_DIR: dir, DATABASE_URL: '', PORT: String(port), CERBERE_DEMO_PATIENTS: '5', REDIS_URL: '', CERBERE_SMTP_URL: '' };
  const started = await startServer(env);
  try {
    const out = started.output();
    assert.match(out, /listening on/, out);
    const demoToken = DEMO_TOKEN.exec(out)![0];
    const c = spawnSync(process.execPath, [BIN, 'user', 'create', '--tenant', 'demo', '--email', 'anne.martin@example.fr', '--role', 'reader', '--site', 'vannes'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(c.status, 0, c.stdout + c.stderr);
    const invitation = c.stdout.trim().split('\n').pop()!;
    assert.match(invitation, /^demo\.[A-Za-z0-9_-]{43}$/);
    const base = `http://127.0.0.1:${port}`;
    const post = async (path: string, body: object) => {
      const r = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const j = await r.json() as any;
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(j)}`);
      return j;
    };
    const password = 'une phrase de passe assez longue';
    const { enrol_ticket } = await post('/auth/invitation/accept', { token: invitation, password });
    const { secret } = await post('/auth/mfa/totp/enrol', { ticket: enrol_ticket });
    await clearOfStepBoundary(5); // the server is another process
    const now = Math.floor(Date.now() / 1000);
    await post('/auth/mfa/totp/confirm', { ticket: enrol_ticket, code: totpNow(secret, now - 30) });
    const { mfa_ticket } = await post('/auth/login', { tenant: 'demo', email: 'anne.martin@example.fr', password });
    const { access_token } = await post('/auth/login/mfa', { ticket: mfa_ticket, code: totpNow(secret, now), mode: 'token' });
    const bundle = await (await fetch(`${base}/fhir/Patient?_count=1`, { headers: { authorization: `Bearer ${demoToken}` } })).json() as any;
    const id = bundle.entry[0].resource.id;
    const r = await fetch(`${base}/fhir/Patient/${id}`, { headers: { authorization: `Bearer ${access_token}` } });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as any).id, id);
    const list = spawnSync(process.execPath, [BIN, 'user', 'list', '--tenant', 'demo'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.match(list.stdout, /u[0-9a-f]{16}\tstaff\treader\tactive\tvannes\ttotp/);
    assert.doesNotMatch(list.stdout, /martin|@/);
  } finally {
    await started.stop();
  }
});
