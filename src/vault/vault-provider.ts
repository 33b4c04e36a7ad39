// Vault / OpenBao Transit key provider over HTTP: the KEK is a Transit key that never leaves Vault.
//   wrap    = POST /v1/<mount>/encrypt/<key>   {plaintext}      → {data: {ciphertext: "vault:vN:…"}}
//   unwrap  = POST /v1/<mount>/decrypt/<key>   {ciphertext}     → {data: {plaintext}}
//   rewrap  = POST /v1/<mount>/rewrap/<key>    {ciphertext}     → {data: {ciphertext}} (plaintext never leaves Vault)
//   rotate  = POST /v1/<mount>/keys/<key>/rotate; versions from GET /v1/<mount>/keys/<key> (latest_version)
//   check   = GET  /v1/sys/health
// Token auth (X-Vault-Token; X-Vault-Namespace when set). The wrap context is bound to the key by
// prefixing the plaintext with a 16-byte hash of the context, checked on unwrap: a wrapped key moved
// to another row, tenant or purpose is refused, and the binding survives Transit's rewrap.
import { createHash, timingSafeEqual } from 'node:crypto';
import { KeyProviderError, type KeyProvider } from './key-provider.ts';

export interface VaultOptions {
  /** e.g. https://vault.internal:8200 */
  addr: string;
  token: string;
  mount: string;
  key: string;
  namespace?: string | null;
  timeoutMs?: number;
}

const BIND = Buffer.from('cbr1');
const bindTag = (context: string): Buffer => createHash('sha256').update('cerbere/vault-wrap|').update(context).digest().subarray(0, 16);

export class VaultTransitProvider implements KeyProvider {
  private latest = 0;
  /** Decrypt calls sent to Vault (tests count them). */
  unwraps = 0;

  private constructor(private readonly o: VaultOptions) {}

  /** Connects, creates the Transit key (aes256-gcm96) if it does not exist, reads its latest version. */
  static async open(o: VaultOptions): Promise<VaultTransitProvider> {
    const p = new VaultTransitProvider({ ...o, addr: o.addr.replace(/\/+$/, '') });
    let info = await p.call('GET', `keys/${p.o.key}`, undefined, true);
    if (!info) {
      await p.call('POST', `keys/${p.o.key}`, { type: 'aes256-gcm96', exportable: false });
      info = await p.call('GET', `keys/${p.o.key}`);
    }
    p.latest = Number(info?.data?.latest_version ?? 1);
    return p;
  }

  get id(): string { return `vault:${this.o.mount}/${this.o.key}:v${this.latest}`; }
  get version(): number { return this.latest; }

  private async request(method: string, url: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { 'X-Vault-Token': this.o.token };
    if (this.o.namespace) headers['X-Vault-Namespace'] = this.o.namespace;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    // One retry: a pooled keep-alive connection closed by the server at the same moment fails once.
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.o.timeoutMs ?? 5000) });
      } catch {
        if (attempt >= 1) throw new KeyProviderError('Vault Transit unreachable');
      }
    }
  }

  // Never puts the token, plaintext or Vault's error text (which may echo input) into an error.
  private async call(method: string, path: string, body?: unknown, allow404 = false): Promise<any> {
    const res = await this.request(method, `${this.o.addr}/v1/${this.o.mount}/${path}`, body);
    if (allow404 && res.status === 404) { await res.body?.cancel(); return null; }
    if (res.status === 204) return {};
    if (!res.ok) {
      await res.body?.cancel();
      if (res.status === 403) throw new KeyProviderError('Vault Transit refused the token (403)');
      throw new KeyProviderError(`Vault Transit answered ${res.status} to ${path.split('/')[0]}`);
    }
    try { return await res.json(); } catch { throw new KeyProviderError('Vault Transit answered with invalid JSON'); }
  }

  async wrap(plain: Buffer, context: string): Promise<Buffer> {
    const bound = Buffer.concat([BIND, bindTag(context), plain]);
    try {
      const r = await this.call('POST', `encrypt/${this.o.key}`, { plaintext: bound.toString('base64') });
      const ct = r?.data?.ciphertext;
      if (typeof ct !== 'string' || !ct.startsWith('vault:v')) throw new KeyProviderError('Vault Transit returned no ciphertext');
      const v = Number(/^vault:v(\d+):/.exec(ct)?.[1]);
      if (v > this.latest) this.latest = v;
      return Buffer.from(ct, 'utf8');
    } finally {
      bound.fill(0);
    }
  }

  async unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    const ct = wrapped.toString('utf8');
    if (!/^vault:v\d+:[A-Za-z0-9+/=]+$/.test(ct)) throw new KeyProviderError('not a Vault-wrapped key');
    this.unwraps++;
    const r = await this.call('POST', `decrypt/${this.o.key}`, { ciphertext: ct });
    if (typeof r?.data?.plaintext !== 'string') throw new KeyProviderError('Vault Transit returned no plaintext');
    const bound = Buffer.from(r.data.plaintext, 'base64');
    try {
      const tag = bindTag(context);
      if (bound.length < 20 || !bound.subarray(0, 4).equals(BIND) || !timingSafeEqual(bound.subarray(4, 20), tag)) {
        throw new KeyProviderError('wrapped key does not belong to this context');
      }
      return Buffer.from(bound.subarray(20));
    } finally {
      bound.fill(0);
    }
  }

  /** Re-encrypts under the latest Transit key version inside Vault; the context binding is kept. */
  async rewrap(wrapped: Buffer, _context: string): Promise<Buffer> {
    const r = await this.call('POST', `rewrap/${this.o.key}`, { ciphertext: wrapped.toString('utf8') });
    const ct = r?.data?.ciphertext;
    if (typeof ct !== 'string' || !ct.startsWith('vault:v')) throw new KeyProviderError('Vault Transit returned no ciphertext');
    return Buffer.from(ct, 'utf8');
  }

  async rotate(): Promise<string> {
    await this.call('POST', `keys/${this.o.key}/rotate`);
    const info = await this.call('GET', `keys/${this.o.key}`);
    this.latest = Number(info?.data?.latest_version ?? this.latest + 1);
    return this.id;
  }

  async check(): Promise<void> {
    const res = await this.request('GET', `${this.o.addr}/v1/sys/health`);
    await res.body?.cancel();
    if (res.status !== 200 && res.status !== 429 && res.status !== 473) throw new KeyProviderError(`Vault is not serving (health ${res.status})`);
    await this.call('GET', `keys/${this.o.key}`);
  }
}
