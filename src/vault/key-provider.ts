// Key providers hold the key-encryption key (KEK) outside the database and wrap/unwrap data keys.
// Implementations: the local key file (default, this file), PKCS#11 HSM (pkcs11-provider.ts) and
// Vault/OpenBao Transit (vault-provider.ts); createKeyProvider (provider-factory.ts) picks one from
// the configuration and puts an unwrap cache (caching-provider.ts) in front of it.
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { aesGcmOpen, aesGcmSeal } from './aead.ts';

export interface KeyProvider {
  /** Stable identifier of the KEK version new wraps use, stored beside each wrapped key. */
  readonly id: string;
  wrap(plain: Buffer, context: string): Promise<Buffer>;
  /** Unwraps a key wrapped under any KEK version the provider still has. */
  unwrap(wrapped: Buffer, context: string): Promise<Buffer>;
  /** Throws when the provider cannot serve (fail closed). */
  check(): Promise<void>;
  /** KEK rotation: creates a new KEK version that new wraps use; returns the new id. */
  rotate?(): Promise<string>;
  /** Re-wraps under the current KEK version (Vault: transit rewrap, the key never leaves it). */
  rewrap?(wrapped: Buffer, context: string): Promise<Buffer>;
  /** Releases sessions and zeroes cached key material. */
  close?(): Promise<void>;
}

export class KeyProviderError extends Error {}

/** Re-wraps with the provider's rewrap if it has one, otherwise unwrap + wrap (plaintext zeroed). */
export async function rewrapKey(provider: KeyProvider, wrapped: Buffer, context: string): Promise<Buffer> {
  if (provider.rewrap) return provider.rewrap(wrapped, context);
  const plain = await provider.unwrap(wrapped, context);
  try { return await provider.wrap(plain, context); } finally { plain.fill(0); }
}

const FILE_PREFIX = 'cerbere-kek-v1:';

function checkKeyFileMode(path: string): void {
  const st = statSync(path);
  if (!st.isFile()) throw new KeyProviderError(`key file ${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new KeyProviderError(`key file ${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`);
  }
}

function readKeyFile(path: string): Buffer {
  checkKeyFileMode(path);
  const text = readFileSync(path, 'utf8').trim();
  if (!text.startsWith(FILE_PREFIX)) throw new KeyProviderError(`key file ${path} is not a Cerbère key file`);
  const kek = Buffer.from(text.slice(FILE_PREFIX.length), 'base64');
  if (kek.length !== 32) throw new KeyProviderError(`key file ${path} does not hold a 256-bit key`);
  return kek;
}

/** Version N ≥ 2 of the KEK lives beside the first one, in `<keyFile>.v<N>` (the older ones are kept). */
export const keyFileVersionPath = (path: string, version: number): string => (version === 1 ? path : `${path}.v${version}`);

/** Every version file of a key file that exists (version 1 first). */
export function keyFileVersions(path: string): { version: number; path: string }[] {
  const out: { version: number; path: string }[] = [];
  for (let v = 1; existsSync(keyFileVersionPath(path, v)); v++) out.push({ version: v, path: keyFileVersionPath(path, v) });
  return out;
}

/** Creates the key file (mode 0600) if missing; refuses a file readable by group or others. */
export function loadOrCreateKeyFile(path: string): { kek: Buffer; created: boolean } {
  let created = false;
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, FILE_PREFIX + randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    created = true;
  }
  return { kek: readKeyFile(path), created };
}

// Wrapped format: 0xCB 'F' | KEK version (uint32 BE) | nonce(12) | ciphertext | tag(16).
// Keys wrapped before versioning existed are nonce | ciphertext | tag under version 1.
const MAGIC = 0xcb;
const FILE_TAG = 0x46;

/** Wraps with AES-256-GCM under the file's KEK; context binds tenant, purpose and version. */
export class LocalKeyFileProvider implements KeyProvider {
  private readonly keks = new Map<number, Buffer>();
  private current = 1;
  /** Calls to unwrap (tests count them). */
  unwraps = 0;
  constructor(kek: Buffer | Map<number, Buffer>, private readonly path: string | null = null) {
    const m = Buffer.isBuffer(kek) ? new Map([[1, kek]]) : kek;
    for (const [v, k] of m) { this.keks.set(v, Buffer.from(k)); this.current = Math.max(this.current, v); } // own copies: the caller zeroes its buffers
  }

  /** Loads (creating version 1 if needed) every version of the key file. */
  static fromKeyFile(path: string): { provider: LocalKeyFileProvider; created: boolean } {
    const first = loadOrCreateKeyFile(path);
    const m = new Map<number, Buffer>([[1, first.kek]]);
    for (const f of keyFileVersions(path)) if (f.version > 1) m.set(f.version, readKeyFile(f.path));
    const provider = new LocalKeyFileProvider(m, path);
    for (const k of m.values()) k.fill(0);
    return { provider, created: first.created };
  }

  private idOf(version: number): string {
    const h = createHash('sha256').update('cerbere-kek-id').update(this.keks.get(version)!).digest('hex').slice(0, 16);
    return version === 1 ? `file:${h}` : `file:v${version}:${h}`;
  }
  get id(): string { return this.idOf(this.current); }
  get version(): number { return this.current; }

  async wrap(plain: Buffer, context: string): Promise<Buffer> {
    const head = Buffer.alloc(6);
    head[0] = MAGIC; head[1] = FILE_TAG; head.writeUInt32BE(this.current, 2);
    const nonce = randomBytes(12);
    const { ciphertext, tag } = aesGcmSeal(this.keks.get(this.current)!, nonce, plain, Buffer.concat([head, Buffer.from(context)]));
    return Buffer.concat([head, nonce, ciphertext, tag]);
  }

  async unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    this.unwraps++;
    if (wrapped.length >= 6 + 28 && wrapped[0] === MAGIC && wrapped[1] === FILE_TAG) {
      const version = wrapped.readUInt32BE(2);
      if (!this.keks.has(version) && this.path && existsSync(keyFileVersionPath(this.path, version))) {
        this.keks.set(version, readKeyFile(keyFileVersionPath(this.path, version))); // rotated by another process
      }
      const kek = this.keks.get(version);
      if (kek) {
        try {
          return aesGcmOpen(kek, wrapped.subarray(6, 18), wrapped.subarray(18, -16), wrapped.subarray(-16), Buffer.concat([wrapped.subarray(0, 6), Buffer.from(context)]));
        } catch { /* maybe a legacy blob whose nonce starts with the magic bytes */ }
      }
    }
    if (wrapped.length < 28) throw new KeyProviderError('wrapped key too short');
    const v1 = this.keks.get(1);
    if (!v1) throw new KeyProviderError('no key-encryption key for this wrapped key');
    return aesGcmOpen(v1, wrapped.subarray(0, 12), wrapped.subarray(12, -16), wrapped.subarray(-16), Buffer.from(context));
  }

  async check(): Promise<void> {}

  /** New KEK version; with a key file it is written to `<keyFile>.v<N>` (mode 0600) beside the older ones. */
  async rotate(): Promise<string> {
    const next = this.current + 1;
    const kek = randomBytes(32);
    if (this.path) {
      writeFileSync(keyFileVersionPath(this.path, next), FILE_PREFIX + kek.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    }
    this.keks.set(next, kek);
    this.current = next;
    return this.id;
  }

  async close(): Promise<void> {
    for (const k of this.keks.values()) k.fill(0);
  }
}
