// Paging links carry an opaque, encrypted continuation instead of the search parameters,
// so names or NIRs typed into a search never reappear in a URL, a log line or a proxy cache.
import { randomBytes } from 'node:crypto';
import { aesGcmOpen, aesGcmSeal } from '../vault/aead.ts';

interface PageState { tenant: string; type: string; params: [string, string][]; offset: number; exp: number }

export class PageTokens {
  private readonly key = randomBytes(32); // per process: links expire on restart
  constructor(private readonly ttlMs = 30 * 60_000) {}

  seal(tenant: string, type: string, params: [string, string][], offset: number): string {
    const nonce = randomBytes(12);
    const body = Buffer.from(JSON.stringify({ tenant, type, params, offset, exp: Date.now() + this.ttlMs } satisfies PageState));
    const { ciphertext, tag } = aesGcmSeal(this.key, nonce, body, Buffer.from(tenant));
    return Buffer.concat([nonce, ciphertext, tag]).toString('base64url');
  }

  /** The saved search, or null when the token is forged, expired or from another tenant. */
  open(token: string, tenant: string, type: string): PageState | null {
    try {
      const b = Buffer.from(token, 'base64url');
      if (b.length < 29) return null;
      const s = JSON.parse(aesGcmOpen(this.key, b.subarray(0, 12), b.subarray(12, -16), b.subarray(-16), Buffer.from(tenant)).toString()) as PageState;
      return s.tenant === tenant && s.type === type && s.exp > Date.now() ? s : null;
    } catch {
      return null;
    }
  }
}
