// Paging links carry an opaque, encrypted continuation instead of the search parameters,
// so names or NIRs typed into a search never reappear in a URL, a log line or a proxy cache.
// The key is derived from the tenant's keys, so any server of the deployment opens any server's links.
import { randomBytes } from 'node:crypto';
import { aesGcmOpen, aesGcmSeal } from '../vault/aead.ts';
import type { Keyring } from '../vault/keyring.ts';

interface PageState { tenant: string; type: string; params: [string, string][]; offset: number; exp: number }

export class PageTokens {
  constructor(private readonly keyring: Pick<Keyring, 'keys'>, private readonly ttlMs = 30 * 60_000) {}

  private async keyFor(tenant: string): Promise<Buffer> {
    return (await this.keyring.keys(tenant)).subkey('_paging', 'continuation');
  }

  async seal(tenant: string, type: string, params: [string, string][], offset: number): Promise<string> {
    const key = await this.keyFor(tenant);
    const nonce = randomBytes(12);
    const body = Buffer.from(JSON.stringify({ tenant, type, params, offset, exp: Date.now() + this.ttlMs } satisfies PageState));
    const { ciphertext, tag } = aesGcmSeal(key, nonce, body, Buffer.from(tenant));
    return Buffer.concat([nonce, ciphertext, tag]).toString('base64url');
  }

  /** The saved search, or null when the token is forged, expired or from another tenant. */
  async open(token: string, tenant: string, type: string): Promise<PageState | null> {
    const key = await this.keyFor(tenant);
    try {
      const b = Buffer.from(token, 'base64url');
      if (b.length < 29) return null;
      const s = JSON.parse(aesGcmOpen(key, b.subarray(0, 12), b.subarray(12, -16), b.subarray(-16), Buffer.from(tenant)).toString()) as PageState;
      return s.tenant === tenant && s.type === type && s.exp > Date.now() ? s : null;
    } catch {
      return null;
    }
  }
}
