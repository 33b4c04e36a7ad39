// Encrypted, authenticated archive files (backups and exports). Never holds plaintext on disk.
//   magic line | uint32 header length | header JSON (plaintext: ids, dates, wrapped key — nothing secret)
//   frames: uint32 length | flag (0 content, 1 final) | AES-256-GCM ciphertext ‖ tag(16)
// Frame i uses nonce 0x00000000 ‖ uint64 i and associated data SHA-256(magic ‖ header) ‖ uint64 i ‖ flag,
// under a key derived (HKDF-SHA-256, salt = archive id) from a fresh 256-bit archive key, so a frame moved,
// dropped, duplicated or taken from another archive fails, and so does a changed header. The final frame
// holds the manifest (content frame count, SHA-256 of all content, caller's fields) with an HMAC-SHA-256
// under a second derived key; anything after it, or a missing final frame, is refused.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync, fstatSync } from 'node:fs';
import { aesGcmOpen, aesGcmSeal, hkdfSha256, hmacSha256 } from './aead.ts';

export class ArchiveError extends Error {}

const MAX_HEADER = 1 << 20;
const MAX_FRAME = 64 << 20;
export const CHUNK_BYTES = 1 << 20;

export interface ArchiveHeader { format: 1; kind: string; id: string; [k: string]: unknown }

function keys(archiveKey: Buffer, id: string) {
  const salt = Buffer.from(id, 'hex');
  return { enc: hkdfSha256(archiveKey, salt, 'cerbere/v1/archive/enc', 32), mac: hkdfSha256(archiveKey, salt, 'cerbere/v1/archive/manifest', 32) };
}

function nonceAad(headerHash: Buffer, index: number, flag: number): { nonce: Buffer; aad: Buffer } {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(BigInt(index), 4);
  const aad = Buffer.alloc(32 + 9);
  headerHash.copy(aad, 0);
  aad.writeBigUInt64BE(BigInt(index), 32);
  aad[40] = flag;
  return { nonce, aad };
}

function manifestMac(macKey: Buffer, headerHash: Buffer, body: Record<string, unknown>): string {
  return hmacSha256(macKey, Buffer.concat([headerHash, Buffer.from(JSON.stringify(body))])).toString('base64');
}

export const newArchiveId = (): string => randomBytes(16).toString('hex');

/** Writes an archive to `path` (through a 0600 temporary file renamed at the end). */
export class ArchiveWriter {
  private readonly fd: number;
  private readonly tmp: string;
  private readonly enc: Buffer;
  private readonly mac: Buffer;
  private readonly headerHash: Buffer;
  private readonly digest = createHash('sha256');
  private index = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;

  constructor(private readonly path: string, magic: string, header: ArchiveHeader, archiveKey: Buffer, private readonly chunkBytes = CHUNK_BYTES) {
    if (!/^[0-9a-f]{32}$/.test(header.id)) throw new ArchiveError('archive id must be 16 random bytes in hex');
    this.tmp = `${path}.partial-${randomBytes(4).toString('hex')}`;
    this.fd = openSync(this.tmp, 'wx', 0o600);
    const h = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4); len.writeUInt32BE(h.length);
    const head = Buffer.concat([Buffer.from(magic), len, h]);
    writeSync(this.fd, head);
    this.headerHash = createHash('sha256').update(head).digest();
    ({ enc: this.enc, mac: this.mac } = keys(archiveKey, header.id));
  }

  private frame(plain: Buffer, flag: number): void {
    const { nonce, aad } = nonceAad(this.headerHash, this.index++, flag);
    const { ciphertext, tag } = aesGcmSeal(this.enc, nonce, plain, aad);
    const pre = Buffer.alloc(5); pre.writeUInt32BE(ciphertext.length + 16); pre[4] = flag;
    writeSync(this.fd, Buffer.concat([pre, ciphertext, tag]));
  }

  /** Adds content (buffered into ≈1 MiB frames). */
  write(data: Buffer | string): void {
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (this.pendingBytes >= this.chunkBytes) this.flush();
  }

  private flush(): void {
    if (!this.pendingBytes) return;
    const plain = Buffer.concat(this.pending);
    this.pending = []; this.pendingBytes = 0;
    this.digest.update(plain);
    this.frame(plain, 0);
    plain.fill(0);
  }

  /** Writes the MACed manifest as the final frame and moves the file into place. */
  finish(fields: Record<string, unknown>): void {
    this.flush();
    const body = { ...fields, frames: this.index, sha256: this.digest.digest('hex') };
    this.frame(Buffer.from(JSON.stringify({ ...body, mac: manifestMac(this.mac, this.headerHash, body) })), 1);
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
    this.done = true;
    this.enc.fill(0); this.mac.fill(0);
  }

  abort(): void {
    if (this.done) return;
    try { closeSync(this.fd); } catch { /* closed */ }
    try { unlinkSync(this.tmp); } catch { /* gone */ }
    this.enc.fill(0); this.mac.fill(0);
  }
}

/** Reads only the plaintext header (to find which key opens the archive). */
export function readArchiveHeader(path: string, magic: string): ArchiveHeader {
  const fd = openSync(path, 'r');
  try { return readHead(fd, magic).header; } finally { closeSync(fd); }
}

function readExact(fd: number, pos: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const r = readSync(fd, b, got, n - got, pos + got);
    if (r === 0) throw new ArchiveError('archive is truncated');
    got += r;
  }
  return b;
}

function readHead(fd: number, magic: string): { header: ArchiveHeader; headerHash: Buffer; pos: number } {
  const m = Buffer.from(magic);
  let first: Buffer;
  try { first = readExact(fd, 0, m.length + 4); } catch { throw new ArchiveError('not a Cerbère archive of this kind'); }
  if (!first.subarray(0, m.length).equals(m)) throw new ArchiveError('not a Cerbère archive of this kind');
  const hl = first.readUInt32BE(m.length);
  if (hl > MAX_HEADER) throw new ArchiveError('archive header too large');
  const h = readExact(fd, m.length + 4, hl);
  let header: ArchiveHeader;
  try { header = JSON.parse(h.toString('utf8')); } catch { throw new ArchiveError('archive header is not valid'); }
  if (header?.format !== 1 || typeof header.id !== 'string' || !/^[0-9a-f]{32}$/.test(header.id)) throw new ArchiveError('archive header is not valid');
  const headerHash = createHash('sha256').update(Buffer.concat([first, h])).digest();
  return { header, headerHash, pos: m.length + 4 + hl };
}

/**
 * Authenticates the whole archive frame by frame; `onContent` gets each decrypted content frame in
 * order (memory only). Resolves with the manifest once the final frame and its MAC check out.
 * Throws ArchiveError for anything tampered, truncated, reordered or extended.
 */
export async function readArchive(path: string, magic: string, archiveKey: (header: ArchiveHeader) => Promise<Buffer>, onContent: (plain: Buffer) => void | Promise<void>): Promise<{ header: ArchiveHeader; manifest: Record<string, unknown> }> {
  const fd = openSync(path, 'r');
  try {
    const { header, headerHash, pos: start } = readHead(fd, magic);
    const ak = await archiveKey(header);
    const k = keys(ak, header.id);
    ak.fill(0);
    try {
      const size = fstatSync(fd).size;
      const digest = createHash('sha256');
      let pos = start;
      for (let index = 0; ; index++) {
        if (pos + 5 > size) throw new ArchiveError(`archive is truncated (frame ${index} missing; no final manifest)`);
        const pre = readExact(fd, pos, 5);
        const len = pre.readUInt32BE(0);
        const flag = pre[4];
        if (len < 16 || len > MAX_FRAME || flag > 1 || pos + 5 + len > size) throw new ArchiveError(`archive is truncated or damaged at frame ${index}`);
        const body = readExact(fd, pos + 5, len);
        pos += 5 + len;
        const { nonce, aad } = nonceAad(headerHash, index, flag);
        let plain: Buffer;
        try {
          plain = aesGcmOpen(k.enc, nonce, body.subarray(0, -16), body.subarray(-16), aad);
        } catch {
          throw new ArchiveError(`archive frame ${index} fails authentication (tampered, reordered or from another archive)`);
        }
        if (flag === 0) {
          digest.update(plain);
          await onContent(plain);
          plain.fill(0);
          continue;
        }
        if (pos !== size) throw new ArchiveError('archive has data after its final manifest');
        let manifest: Record<string, unknown>;
        try { manifest = JSON.parse(plain.toString('utf8')); } catch { throw new ArchiveError('archive manifest is not valid'); }
        const { mac, ...rest } = manifest;
        const want = Buffer.from(manifestMac(k.mac, headerHash, rest));
        if (typeof mac !== 'string' || mac.length !== want.length || !timingSafeEqual(Buffer.from(mac), want)) throw new ArchiveError('archive manifest MAC does not verify');
        if (rest.frames !== index || rest.sha256 !== digest.digest('hex')) throw new ArchiveError('archive content does not match its manifest');
        return { header, manifest: rest };
      }
    } finally {
      k.enc.fill(0); k.mac.fill(0);
    }
  } finally {
    closeSync(fd);
  }
}
