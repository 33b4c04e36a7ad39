// `cerbere doctor`: checks a deployment and says what to fix. Each check answers ok, warn, FAIL or
// "could not check"; the command exits non-zero when one fails. It never prints a secret.
import { statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Services } from '../detect/services.ts';
import { keyFileVersions } from '../vault/key-provider.ts';

export type Status = 'ok' | 'warn' | 'fail' | 'unknown';
export interface Check { name: string; status: Status; message: string; fix?: string }
export interface AuditSummary { status: 'ok' | 'vulnerable' | 'unknown'; counts?: Record<string, number>; reason?: string }

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs `npm audit --omit=dev --json` in the project root; "unknown" when the registry cannot be reached. */
export function npmAudit(timeoutMs = 60_000): Promise<AuditSummary> {
  return new Promise((resolve) => {
    let out = '';
    let child;
    try {
      child = spawn('npm', ['audit', '--omit=dev', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'], timeout: timeoutMs });
    } catch { resolve({ status: 'unknown', reason: 'npm not available' }); return; }
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', () => resolve({ status: 'unknown', reason: 'npm not available' }));
    child.on('close', () => resolve(parseNpmAudit(out)));
  });
}

export function parseNpmAudit(json: string): AuditSummary {
  let j: any;
  try { j = JSON.parse(json); } catch { return { status: 'unknown', reason: 'the registry could not be reached' }; }
  if (j?.error) return { status: 'unknown', reason: 'the registry could not be reached' };
  const v = j?.metadata?.vulnerabilities;
  if (!v || typeof v !== 'object') return { status: 'unknown', reason: 'unexpected npm audit output' };
  const counts: Record<string, number> = {};
  for (const k of ['info', 'low', 'moderate', 'high', 'critical']) counts[k] = Number(v[k] ?? 0);
  return { status: counts.low + counts.moderate + counts.high + counts.critical > 0 ? 'vulnerable' : 'ok', counts };
}

function mode(path: string): number | null {
  try { return statSync(path).mode & 0o777; } catch { return null; }
}

/** Tries DATABASE_URL's server without the password: it must refuse. */
async function passwordlessConnection(url: string): Promise<'refused' | 'accepted' | 'unreachable'> {
  const pg = (await import('pg')).default;
  const u = new URL(url);
  const client = new pg.Client({
    host: u.hostname, port: Number(u.port || 5432), user: decodeURIComponent(u.username || 'postgres'),
    database: decodeURIComponent(u.pathname.slice(1) || 'postgres'), password: '', connectionTimeoutMillis: 3000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return 'accepted';
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    // 28P01 bad password, 28000 no pg_hba entry / auth refused; a password request with none given is a client error.
    if (code.startsWith('28') || /password/i.test(String((e as Error).message))) return 'refused';
    return 'unreachable';
  }
}

export async function runDoctor(svc: Services, opts: { audit?: () => Promise<AuditSummary> } = {}): Promise<Check[]> {
  const c = svc.config;
  const k = c.keys;
  const db = svc.database.db;
  const checks: Check[] = [];
  const add = (name: string, status: Status, message: string, fix?: string) => checks.push({ name, status, message, fix });

  // 1. Key material on disk.
  if (k.provider === 'file') {
    const files = keyFileVersions(c.keyFile);
    if (!files.length) add('key file', 'fail', `no key file at ${c.keyFile}`, 'start the server once to create it, or restore it from its backup');
    for (const f of files) {
      const m = mode(f.path);
      if (m !== null && m & 0o077) add('key file', 'fail', `${f.path} is readable by group or others (mode ${m.toString(8)})`, `chmod 600 ${f.path}`);
      else add('key file', 'ok', `${f.path} mode 600`);
    }
    const kd = mode(dirname(c.keyFile));
    if (kd !== null && kd & 0o077) add('key directory', 'fail', `${dirname(c.keyFile)} is open to group or others (mode ${kd.toString(8)})`, `chmod 700 ${dirname(c.keyFile)}`);
    if (c.databaseUrl === null && dirname(c.keyFile).startsWith(c.dataDir)) add('key file location', 'warn', 'the key file is inside the data directory: one copy of that directory holds both data and key', 'set CERBERE_KEY_FILE to another disk, or use CERBERE_KEY_PROVIDER=pkcs11|vault');
  } else {
    add('key file', 'ok', `not used (key provider ${k.provider})`);
    if (k.provider === 'pkcs11' && process.env.CERBERE_PKCS11_PIN && !process.env.CERBERE_PKCS11_PIN_FILE) add('HSM PIN', 'warn', 'the HSM PIN is given in an environment variable', 'use CERBERE_PKCS11_PIN_FILE (a 0600 file)');
    if (k.provider === 'vault' && k.vault.addr.startsWith('http://') && !/^http:\/\/(127\.|localhost|\[::1\])/.test(k.vault.addr)) add('Vault TLS', 'fail', 'Vault is reached over plain http on the network', 'use an https:// CERBERE_VAULT_ADDR');
  }
  const dd = mode(c.dataDir);
  if (dd !== null && dd & 0o022) add('data directory', 'fail', `${c.dataDir} is writable by group or others (mode ${dd.toString(8)})`, `chmod 700 ${c.dataDir}`);

  // 2. Key provider reachable: a wrap/unwrap round trip.
  try {
    await svc.provider.check();
    const probe = randomBytes(32);
    const back = await svc.provider.unwrap(await svc.provider.wrap(probe, 'cerbere/v1/doctor-probe'), 'cerbere/v1/doctor-probe');
    const same = back.equals(probe);
    probe.fill(0); back.fill(0);
    add('key provider', same ? 'ok' : 'fail', same ? `${svc.provider.id} answers (wrap/unwrap round trip)` : 'wrap/unwrap round trip returned another key', same ? undefined : 'check the key provider');
  } catch {
    add('key provider', 'fail', `${k.provider} key provider unreachable or refusing`, k.provider === 'vault' ? 'check CERBERE_VAULT_ADDR, the token and that Vault is unsealed' : k.provider === 'pkcs11' ? 'check the HSM, CERBERE_PKCS11_MODULE/TOKEN/PIN' : 'check the key file');
  }

  // 3. TLS in front.
  const loopback = /^(127\.|localhost$|::1$)/.test(c.host);
  if (k.publicUrl?.startsWith('https://')) add('TLS', 'ok', `public URL ${k.publicUrl}`);
  else if (k.trustProxy.length) add('TLS', k.publicUrl ? 'warn' : 'ok', k.publicUrl ? `CERBERE_TRUST_PROXY is set but CERBERE_PUBLIC_URL is not https (${k.publicUrl})` : 'behind a TLS-terminating proxy (CERBERE_TRUST_PROXY)', k.publicUrl ? 'set CERBERE_PUBLIC_URL to the https:// address' : undefined);
  else if (loopback) add('TLS', k.production ? 'fail' : 'warn', `serving plain http on ${c.host} with no TLS proxy declared`, 'put a TLS-terminating reverse proxy in front and set CERBERE_PUBLIC_URL=https://… (or CERBERE_TRUST_PROXY=<proxy address>)');
  else add('TLS', 'fail', `listening on ${c.host} in plain http`, 'listen on 127.0.0.1 behind a TLS-terminating reverse proxy and set CERBERE_PUBLIC_URL=https://…');

  // 4. Demo tenant and default credentials.
  const demo = await db.selectFrom('tenants').select('tenant_id').where('tenant_id', '=', 'demo').executeTakeFirst();
  if (demo) {
    const tokens = await db.selectFrom('api_tokens').select('token_id').where('tenant_id', '=', 'demo').where('revoked_at', 'is', null).execute();
    if (k.production) add('demo tenant', 'fail', `the demo tenant exists in production (${tokens.length} active token(s))`, 'set CERBERE_DEMO=false and revoke its tokens: cerbere token revoke --tenant demo TOKEN_ID');
    else if (tokens.length) add('demo credentials', 'warn', `${tokens.length} active demo token(s): ${tokens.map((t) => t.token_id).join(', ')}`, 'revoke them before real use: cerbere token revoke --tenant demo TOKEN_ID');
    else add('demo credentials', 'ok', 'demo tenant present, its tokens revoked');
  } else add('demo credentials', 'ok', 'no demo tenant');
  if (c.demo && k.production) add('CERBERE_DEMO', 'fail', 'CERBERE_DEMO is on in production', 'set CERBERE_DEMO=false');

  // 5. Database reachable only with a password.
  if (c.databaseUrl) {
    const u = new URL(c.databaseUrl);
    if (!u.password) add('database password', 'warn', 'DATABASE_URL has no password (peer/cert auth, or trust?)', 'use password or certificate authentication');
    const r = await passwordlessConnection(c.databaseUrl);
    if (r === 'accepted') add('database password', 'fail', `PostgreSQL at ${u.hostname}:${u.port || 5432} accepts connections without a password`, 'set scram-sha-256 (not trust) for this host in pg_hba.conf');
    else if (r === 'refused') add('database password', 'ok', 'connecting without a password is refused');
    else add('database password', 'unknown', 'could not check (the server did not answer a password-less attempt)');
  } else {
    const m = mode(join(c.dataDir, 'db'));
    if (m !== null && m & 0o077) add('embedded database', 'fail', `${join(c.dataDir, 'db')} is open to group or others`, `chmod -R go-rwx ${join(c.dataDir, 'db')}`);
    else add('embedded database', 'ok', 'embedded PGlite: reachable only through this process and its files');
  }

  // 6. Retention configured (retention rules are added by the retention work; absent table = not configured).
  const retention = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = current_schema() and table_name like 'retention%'`.execute(db);
  if (!retention.rows.length) add('retention', 'fail', 'no retention rules: patient data is kept forever', 'configure retention per tenant and resource type (see docs)');
  else {
    const t = retention.rows[0].table_name;
    const n = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(t)}`.execute(db).catch(() => ({ rows: [{ n: '0' }] }));
    const count = Number(n.rows[0]?.n ?? 0);
    add('retention', count ? 'ok' : 'fail', count ? `${count} retention rule(s)` : 'no retention rules configured', count ? undefined : 'configure retention per tenant and resource type');
  }

  // 7. Dependencies with known vulnerabilities.
  const a = await (opts.audit ?? npmAudit)();
  if (a.status === 'unknown') add('dependencies', 'unknown', `could not check (${a.reason})`, 'run npm audit --omit=dev where the registry is reachable');
  else if (a.status === 'ok') add('dependencies', 'ok', 'npm audit: no known vulnerabilities in production dependencies');
  else {
    const cn = a.counts!;
    add('dependencies', cn.high + cn.critical ? 'fail' : 'warn', `npm audit: ${cn.critical} critical, ${cn.high} high, ${cn.moderate} moderate, ${cn.low} low`, 'npm audit fix, or update the affected packages');
  }
  return checks;
}

export function formatCheck(ch: Check): string {
  const tag = { ok: 'ok   ', warn: 'warn ', fail: 'FAIL ', unknown: '?    ' }[ch.status];
  return `${tag} ${ch.name}: ${ch.message}${ch.fix && ch.status !== 'ok' ? `\n        fix: ${ch.fix}` : ''}`;
}

