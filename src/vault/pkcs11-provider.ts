// PKCS#11 key provider (an HSM; tested against SoftHSM2). The KEK is an AES-256 secret key object
// generated inside the token (CKA_SENSITIVE, not CKA_EXTRACTABLE): it never leaves the HSM. Data keys
// are wrapped by AES-GCM encryption inside the HSM (C_Encrypt with CKM_AES_GCM, 96-bit random IV,
// 128-bit tag, the wrap context as GCM associated data) and unwrapped by C_Decrypt.
// KEK versions are separate key objects labelled `<label>-v<N>`; rotation generates the next one.
// Library: pkcs11js (PeculiarVentures; thin N-API binding over the Cryptoki C API, which graphene-pk11
// itself is built on) — fewer layers to audit, and we only need a dozen calls.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import type * as Pkcs11Types from 'pkcs11js';
import { KeyProviderError, type KeyProvider } from './key-provider.ts';

export interface Pkcs11Options {
  module: string;
  tokenLabel: string;
  pin: string;
  keyLabel: string;
}

type P11 = typeof Pkcs11Types;
const require = createRequire(import.meta.url);

/** Loads the native binding; throws KeyProviderError with a one-line reason if it is not available. */
export function loadPkcs11js(): P11 {
  try { return require('pkcs11js') as P11; } catch {
    throw new KeyProviderError('the pkcs11js native module could not be loaded (npm install must build it: needs a C++ compiler)');
  }
}

// Wrapped format: 0xCB 'P' | KEK version (uint32 BE) | iv(12) | ciphertext ‖ tag(16)
const MAGIC = 0xcb;
const users = new Map<string, number>(); // open providers per module path
const TAG_P = 0x50;

export class Pkcs11Provider implements KeyProvider {
  private readonly lib: Pkcs11Types.PKCS11;
  private session: Buffer;
  private readonly keys = new Map<number, Buffer>(); // KEK version → object handle
  private current = 0;
  private closed = false;
  /** C_Decrypt calls (tests count them). */
  unwraps = 0;

  private constructor(private readonly p: P11, private readonly opts: Pkcs11Options) {
    this.lib = new p.PKCS11();
    try {
      this.lib.load(opts.module);
    } catch {
      throw new KeyProviderError(`cannot load the PKCS#11 module ${opts.module}`);
    }
    try { this.lib.C_Initialize(); } catch (e) {
      // Several providers in one process share the loaded module (Cryptoki is initialised once).
      if ((e as { code?: number }).code !== p.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw new KeyProviderError(`cannot initialise the PKCS#11 module ${opts.module}`);
    }
    users.set(opts.module, (users.get(opts.module) ?? 0) + 1);
    this.session = this.openSession();
  }

  static open(opts: Pkcs11Options): Pkcs11Provider {
    const p = new Pkcs11Provider(loadPkcs11js(), opts);
    p.findKeys();
    if (!p.current) p.generate(1);
    return p;
  }

  private openSession(): Buffer {
    const { p, lib } = this;
    let slot: Buffer | undefined;
    for (const s of lib.C_GetSlotList(true)) {
      if (lib.C_GetTokenInfo(s).label.trim() === this.opts.tokenLabel) { slot = s; break; }
    }
    if (!slot) throw new KeyProviderError(`no PKCS#11 token labelled ${this.opts.tokenLabel}`);
    const session = lib.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
    try {
      lib.C_Login(session, p.CKU_USER, this.opts.pin);
    } catch (e) {
      if ((e as { code?: number }).code !== p.CKR_USER_ALREADY_LOGGED_IN) throw new KeyProviderError('PKCS#11 login refused (check CERBERE_PKCS11_PIN)');
    }
    return session;
  }

  private findKeys(): void {
    const { p, lib } = this;
    lib.C_FindObjectsInit(this.session, [{ type: p.CKA_CLASS, value: p.CKO_SECRET_KEY }, { type: p.CKA_KEY_TYPE, value: p.CKK_AES }]);
    const handles = lib.C_FindObjects(this.session, 1000);
    lib.C_FindObjectsFinal(this.session);
    const re = new RegExp(`^${this.opts.keyLabel.replace(/[^a-zA-Z0-9_-]/g, '')}-v(\\d+)$`);
    for (const h of handles) {
      const [label] = lib.C_GetAttributeValue(this.session, h, [{ type: p.CKA_LABEL }]);
      const m = re.exec(String(label.value ?? ''));
      if (!m) continue;
      const v = Number(m[1]);
      this.keys.set(v, h);
      this.current = Math.max(this.current, v);
    }
  }

  private generate(version: number): void {
    const { p, lib } = this;
    const label = `${this.opts.keyLabel}-v${version}`;
    const h = lib.C_GenerateKey(this.session, { mechanism: p.CKM_AES_KEY_GEN }, [
      { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
      { type: p.CKA_KEY_TYPE, value: p.CKK_AES },
      { type: p.CKA_VALUE_LEN, value: 32 },
      { type: p.CKA_TOKEN, value: true },
      { type: p.CKA_PRIVATE, value: true },
      { type: p.CKA_SENSITIVE, value: true },
      { type: p.CKA_EXTRACTABLE, value: false },
      { type: p.CKA_ENCRYPT, value: true },
      { type: p.CKA_DECRYPT, value: true },
      { type: p.CKA_LABEL, value: label },
      { type: p.CKA_ID, value: Buffer.from(label) },
    ]);
    this.keys.set(version, h);
    this.current = version;
  }

  get id(): string { return `pkcs11:${this.opts.tokenLabel}/${this.opts.keyLabel}-v${this.current}`; }
  get version(): number { return this.current; }

  private gcm(iv: Buffer, aad: Buffer): Pkcs11Types.Mechanism {
    return { mechanism: this.p.CKM_AES_GCM, parameter: { type: this.p.CK_PARAMS_AES_GCM, iv, aad, ivBits: 96, tagBits: 128 } as Pkcs11Types.AesGCM };
  }

  /** Runs a token operation; on a lost session (token removed, daemon restarted) reopens once. */
  private op<T>(fn: () => T): T {
    if (this.closed) throw new KeyProviderError('PKCS#11 provider closed');
    try { return fn(); } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === this.p.CKR_SESSION_HANDLE_INVALID || code === this.p.CKR_SESSION_CLOSED || code === this.p.CKR_USER_NOT_LOGGED_IN) {
        this.session = this.openSession();
        return fn();
      }
      throw e;
    }
  }

  async wrap(plain: Buffer, context: string): Promise<Buffer> {
    const head = Buffer.alloc(6);
    head[0] = MAGIC; head[1] = TAG_P; head.writeUInt32BE(this.current, 2);
    const iv = randomBytes(12);
    const key = this.keys.get(this.current)!;
    const out = this.op(() => {
      this.lib.C_EncryptInit(this.session, this.gcm(iv, Buffer.concat([head, Buffer.from(context)])), key);
      return this.lib.C_Encrypt(this.session, plain, Buffer.alloc(plain.length + 16));
    });
    return Buffer.concat([head, iv, out]);
  }

  async unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    if (wrapped.length < 6 + 12 + 16 || wrapped[0] !== MAGIC || wrapped[1] !== TAG_P) throw new KeyProviderError('not a PKCS#11-wrapped key');
    const version = wrapped.readUInt32BE(2);
    if (!this.keys.has(version)) this.op(() => this.findKeys()); // rotated by another process
    const key = this.keys.get(version);
    if (!key) throw new KeyProviderError('the HSM has no key-encryption key of this version');
    this.unwraps++;
    const iv = wrapped.subarray(6, 18);
    const body = wrapped.subarray(18);
    try {
      return this.op(() => {
        this.lib.C_DecryptInit(this.session, this.gcm(Buffer.from(iv), Buffer.concat([wrapped.subarray(0, 6), Buffer.from(context)])), key);
        return Buffer.from(this.lib.C_Decrypt(this.session, Buffer.from(body), Buffer.alloc(body.length)));
      });
    } catch {
      throw new KeyProviderError('the HSM refused to unwrap the key (wrong context or altered)');
    }
  }

  async check(): Promise<void> {
    this.op(() => this.lib.C_GetSessionInfo(this.session));
  }

  async rotate(): Promise<string> {
    this.op(() => this.generate(this.current + 1));
    return this.id;
  }

  /** Deletes a KEK version from the token (after every key wrapped under it was re-wrapped). */
  async destroyVersion(version: number): Promise<void> {
    if (version === this.current) throw new KeyProviderError('cannot destroy the current key-encryption key');
    const h = this.keys.get(version);
    if (!h) return;
    this.op(() => this.lib.C_DestroyObject(this.session, h));
    this.keys.delete(version);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try { this.lib.C_Logout(this.session); } catch { /* already logged out */ }
    try { this.lib.C_CloseSession(this.session); } catch { /* closed */ }
    const n = (users.get(this.opts.module) ?? 1) - 1;
    users.set(this.opts.module, n);
    if (n === 0) { try { this.lib.C_Finalize(); } catch { /* finalized */ } }
  }
}
