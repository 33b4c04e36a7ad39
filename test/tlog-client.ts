// An outside tlog-tiles client, written from the specifications only (C2SP tlog-checkpoint, signed-note,
// tlog-tiles; RFC 9162 hashing) and importing nothing from src/: what an auditor would run against
// Cerbère. It fetches the checkpoint, checks its Ed25519 signature with the verifier key, fetches every
// hash tile and entry bundle of the checkpointed tree, checks every tile against the tiles below it and
// every entry against its leaf hash, and recomputes the root. It is checked against Tessera's test log.
import { createHash, createPublicKey, verify } from 'node:crypto';

export type Fetch = (path: string) => Promise<Uint8Array>;

const sha256 = (...parts: Uint8Array[]) => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest(); };
const leaf = (e: Uint8Array) => sha256(Buffer.from([0]), e);
const node = (l: Uint8Array, r: Uint8Array) => sha256(Buffer.from([1]), l, r);

/** RFC 9162 MTH over leaf hashes: split at the largest power of two below n. */
export function rootOf(hashes: readonly Buffer[]): Buffer {
  if (!hashes.length) return sha256();
  const go = (lo: number, hi: number): Buffer => {
    if (hi - lo === 1) return hashes[lo];
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return node(go(lo, lo + k), go(lo + k, hi));
  };
  return go(0, hashes.length);
}

/** `name+hexkeyid+base64(0x01 ‖ pubkey)`; the base64 may contain '+', so split on the first two only. */
function parseKey(key: string) {
  const a = key.indexOf('+');
  const b = key.indexOf('+', a + 1);
  const name = key.slice(0, a);
  const id = Buffer.from(key.slice(a + 1, b), 'hex');
  const raw = Buffer.from(key.slice(b + 1), 'base64');
  if (raw.length !== 33 || raw[0] !== 1) throw new Error('not an Ed25519 verifier key');
  const want = sha256(Buffer.from(`${name}\n`), raw).subarray(0, 4);
  if (!want.equals(id)) throw new Error('verifier key id does not match its key');
  const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(1)]), format: 'der', type: 'spki' });
  return { name, id, pub };
}

export interface Checkpoint { origin: string; size: number; root: Buffer; extensions: string[] }

/** Opens a signed note and checks one signature by `key`; returns the checkpoint body. */
export function openSignedCheckpoint(note: string, key: string): Checkpoint {
  const k = parseKey(key);
  const cut = note.indexOf('\n\n');
  if (cut < 0) throw new Error('note has no signature block');
  const body = note.slice(0, cut + 1);
  let ok = false;
  for (const line of note.slice(cut + 2).split('\n').filter(Boolean)) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new Error(`malformed signature line: ${line}`);
    const sig = Buffer.from(m[2], 'base64');
    if (m[1] !== k.name || !sig.subarray(0, 4).equals(k.id)) continue;
    ok = verify(null, Buffer.from(body, 'utf8'), k.pub, sig.subarray(4));
    if (!ok) throw new Error('checkpoint signature does not verify');
  }
  if (!ok) throw new Error('checkpoint carries no signature by the given key');
  const [origin, size, root, ...extensions] = body.slice(0, -1).split('\n');
  if (!/^(0|[1-9][0-9]*)$/.test(size)) throw new Error('bad checkpoint size');
  const r = Buffer.from(root, 'base64');
  if (r.length !== 32) throw new Error('bad checkpoint root');
  return { origin, size: Number(size), root: r, extensions };
}

/** N in 3-digit groups, `x` before all but the last: 1234067 → x001/x234/067. */
export function tileIndexPath(n: number): string {
  const g: string[] = [];
  do { g.unshift(String(n % 1000).padStart(3, '0')); n = Math.floor(n / 1000); } while (n > 0);
  return g.map((s, i) => (i < g.length - 1 ? `x${s}` : s)).join('/');
}

const partial = (w: number) => (w === 256 ? '' : `.p/${w}`);

export interface VerifiedLog {
  checkpoint: Checkpoint;
  entries: Buffer[];
  /** Positions whose bundle carried a stand-in that `fetchOversized` replaced by the whole entry. */
  oversized: number[];
  requests: number;
}

/**
 * Verifies a whole log. `fetchOversized(i)`, when given, is called for a bundle entry that is a stand-in
 * (JSON array whose first element names an oversized-entry format) and must return the whole entry,
 * which is then checked against the leaf hash like any other.
 */
export async function verifyWholeLog(fetch: Fetch, key: string, opts: { origin?: string; fetchOversized?: (i: number) => Promise<Uint8Array> } = {}): Promise<VerifiedLog> {
  let requests = 1;
  const cp = openSignedCheckpoint(Buffer.from(await fetch('checkpoint')).toString('utf8'), key);
  if (opts.origin !== undefined && cp.origin !== opts.origin) throw new Error(`checkpoint origin ${cp.origin}, expected ${opts.origin}`);
  const n = cp.size;
  // Every hash tile, level by level; each level-L hash must be the subtree root of 256 level-(L−1) hashes.
  const levels: Buffer[][] = [];
  for (let level = 0; Math.floor(n / 256 ** level) > 0; level++) {
    const count = Math.floor(n / 256 ** level);
    const hashes: Buffer[] = [];
    for (let t = 0; t * 256 < count; t++) {
      const w = Math.min(256, count - t * 256);
      const bytes = Buffer.from(await fetch(`tile/${level}/${tileIndexPath(t)}${partial(w)}`));
      requests++;
      if (bytes.length !== w * 32) throw new Error(`tile ${level}/${t} has ${bytes.length} bytes, expected ${w * 32}`);
      for (let i = 0; i < w; i++) hashes.push(bytes.subarray(i * 32, i * 32 + 32));
    }
    if (level > 0) {
      const below = levels[level - 1];
      hashes.forEach((h, j) => {
        if (!rootOf(below.slice(j * 256, j * 256 + 256)).equals(h)) throw new Error(`tile level ${level} hash ${j} does not match the level below`);
      });
    }
    levels.push(hashes);
  }
  const leaves = levels[0] ?? [];
  if (leaves.length !== n) throw new Error(`level 0 holds ${leaves.length} hashes for a tree of ${n}`);
  if (!rootOf(leaves).equals(cp.root)) throw new Error('root recomputed from the tiles differs from the signed checkpoint');
  // Every entry bundle; each entry must hash to its leaf.
  const entries: Buffer[] = [];
  const oversized: number[] = [];
  for (let t = 0; t * 256 < n; t++) {
    const w = Math.min(256, n - t * 256);
    const b = Buffer.from(await fetch(`tile/entries/${tileIndexPath(t)}${partial(w)}`));
    requests++;
    let off = 0;
    while (off < b.length) {
      if (off + 2 > b.length) throw new Error(`bundle ${t}: truncated length`);
      const len = b.readUInt16BE(off);
      if (off + 2 + len > b.length) throw new Error(`bundle ${t}: truncated entry`);
      entries.push(b.subarray(off + 2, off + 2 + len));
      off += 2 + len;
    }
    if (entries.length !== Math.min(n, (t + 1) * 256)) throw new Error(`bundle ${t} holds the wrong number of entries`);
  }
  for (let i = 0; i < n; i++) {
    if (leaf(entries[i]).equals(leaves[i])) continue;
    const standIn = opts.fetchOversized ? standInOf(entries[i]) : null;
    if (!standIn) throw new Error(`entry ${i} does not hash to its leaf`);
    const whole = Buffer.from(await opts.fetchOversized!(i));
    requests++;
    if (whole.length !== standIn.size || !leaf(whole).equals(leaves[i])) throw new Error(`oversized entry ${i} does not hash to its leaf`);
    entries[i] = whole;
    oversized.push(i);
  }
  return { checkpoint: cp, entries, oversized, requests };
}

function standInOf(entry: Uint8Array): { size: number } | null {
  try {
    const a = JSON.parse(Buffer.from(entry).toString('utf8'));
    return Array.isArray(a) && typeof a[0] === 'string' && a[0].includes('/oversized/') && typeof a[3] === 'number' ? { size: a[3] } : null;
  } catch { return null; }
}
