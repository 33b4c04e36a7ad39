// Calls to the server's API with the session cookie (sent by the browser, HttpOnly) and the CSRF
// token returned at login, kept in sessionStorage for this tab and sent on every write.
import { i18n } from './i18n/index.ts';

const CSRF_KEY = 'cerbere.csrf';

export class ApiError extends Error {
  constructor(public status: number, message: string, public code?: string) { super(message); }
}

export const session = {
  set(csrf: string) { sessionStorage.setItem(CSRF_KEY, csrf); },
  csrf: () => sessionStorage.getItem(CSRF_KEY),
  clear() { sessionStorage.removeItem(CSRF_KEY); },
};

/** The message the API gave: {error_description} on /auth, the OperationOutcome's diagnostics on /fhir. */
function messageOf(data: any, status: number): string {
  if (data?.error_description) return String(data.error_description);
  const issue = data?.resourceType === 'OperationOutcome' ? data.issue?.[0] : null;
  if (issue) return String(issue.diagnostics ?? issue.details?.text ?? issue.code);
  return i18n.t('common.httpError', { status });
}

export async function api<T = any>(path: string, opts: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<T> {
  const method = opts.method ?? (opts.body === undefined ? 'GET' : 'POST');
  const headers: Record<string, string> = { accept: 'application/json, application/fhir+json', ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const csrf = session.csrf();
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  const r = await fetch(path, { method, headers, credentials: 'same-origin', body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await r.text();
  let data: any = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!r.ok) throw new ApiError(r.status, messageOf(data, r.status), data?.error);
  return data as T;
}

/** The token after '#' in the page's URL, then removed from the address bar (it never goes to the server in a URL). */
export function takeFragmentToken(): string {
  const t = decodeURIComponent(location.hash.slice(1));
  if (t) history.replaceState(null, '', location.pathname);
  return t;
}

export interface Me { account_id: string; tenant: string; kind: 'staff' | 'patient'; role: string; site_ids: string[]; patient_id: string | null }

export async function logout(all: boolean): Promise<void> {
  try { await api(all ? '/auth/logout-all' : '/auth/logout', { method: 'POST' }); } finally { session.clear(); }
}
