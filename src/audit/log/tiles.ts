// C2SP tlog-tiles: resource paths, entry bundles and hash tiles.
//
//   <prefix>/tile/<L>/<N>[.p/<W>]        256 hashes of subtrees of height 8·L (level 0: leaf hashes)
//   <prefix>/tile/entries/<N>[.p/<W>]    entries, each prefixed by a big-endian uint16 length
//
// N is written in 3-digit groups, all but the last prefixed with `x` (1234067 → x001/x234/067).
// Paths returned here are relative to the log prefix ("tile/0/x001/x234/067").
import { HASH_SIZE } from '../merkle/merkle.ts';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
export const MAX_TILE_LEVEL = 63;
export const MAX_ENTRY_SIZE = 0xffff;

function isIndex(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function checkWidth(width: number | undefined): void {
  if (width === undefined) return;
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new RangeError(`tile width must be 1..${TILE_WIDTH}, got ${width}`);
  }
}

/** N as 3-digit path elements: 5 → "005", 1234067 → "x001/x234/067". */
export function encodeTileIndex(index: number): string {
  if (!isIndex(index)) throw new RangeError(`bad tile index ${index}`);
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function suffix(width: number | undefined): string {
  checkWidth(width);
  return width === undefined || width === TILE_WIDTH ? '' : `.p/${width}`;
}

/** `tile/<level>/<N>[.p/<width>]`; width 256 or undefined is a full tile. */
export function tilePath(level: number, index: number, width?: number): string {
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) throw new RangeError(`bad tile level ${level}`);
  return `tile/${level}/${encodeTileIndex(index)}${suffix(width)}`;
}

/** `tile/entries/<N>[.p/<width>]`. */
export function entryBundlePath(index: number, width?: number): string {
  return `tile/entries/${encodeTileIndex(index)}${suffix(width)}`;
}

export type TileRef =
  | { kind: 'hashes'; level: number; index: number; width: number }
  | { kind: 'entries'; index: number; width: number };

/**
 * Parses a path made by `tilePath` / `entryBundlePath`, with or without a leading prefix ending in
 * "/tile/". Only the canonical spelling is accepted (no leading `x000`, no leading zeroes in L or
 * W, `.p/256` is not a partial tile). Returns null when the path is not a tile.
 */
export function parseTilePath(path: string): TileRef | null {
  if (typeof path !== 'string') return null;
  const cut = path.lastIndexOf('/tile/');
  if (cut < 0 && !path.startsWith('tile/')) return null;
  const parts = path.slice(cut + 1).split('/');
  parts.shift(); // "tile"
  const kind = parts.shift();
  let level = -1;
  if (kind === 'entries') {
    // no level
  } else if (kind !== undefined && /^(0|[1-9][0-9]?)$/.test(kind) && Number(kind) <= MAX_TILE_LEVEL) {
    level = Number(kind);
  } else {
    return null;
  }
  let width = TILE_WIDTH;
  if (parts.length >= 2 && parts[parts.length - 2].endsWith('.p')) {
    const w = parts.pop() as string;
    if (!/^[1-9][0-9]{0,2}$/.test(w) || Number(w) >= TILE_WIDTH) return null;
    width = Number(w);
    parts[parts.length - 1] = parts[parts.length - 1].slice(0, -2);
  }
  if (parts.length === 0) return null;
  let index = 0;
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    const m = (last ? /^([0-9]{3})$/ : /^x([0-9]{3})$/).exec(parts[i]);
    if (!m) return null;
    if (i === 0 && parts.length > 1 && m[1] === '000') return null;
    index = index * 1000 + Number(m[1]);
  }
  if (!Number.isSafeInteger(index)) return null;
  return level < 0 ? { kind: 'entries', index, width } : { kind: 'hashes', level, index, width };
}

// ---------------------------------------------------------------------------------------------
// Entry bundles

export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  if (entries.length > TILE_WIDTH) throw new RangeError(`an entry bundle holds at most ${TILE_WIDTH} entries`);
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.length > MAX_ENTRY_SIZE) throw new RangeError(`entry of ${e.length} bytes exceeds ${MAX_ENTRY_SIZE}`);
    const len = Buffer.allocUnsafe(2);
    len.writeUInt16BE(e.length, 0);
    parts.push(len, Buffer.from(e.buffer, e.byteOffset, e.length));
  }
  return Buffer.concat(parts);
}

/** Splits a bundle into its entries (views into `buf`); throws on truncation or > 256 entries. */
export function decodeEntryBundle(buf: Uint8Array): Buffer[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const out: Buffer[] = [];
  let off = 0;
  while (off < b.length) {
    if (off + 2 > b.length) throw new RangeError('entry bundle: truncated length');
    const len = b.readUInt16BE(off);
    off += 2;
    if (off + len > b.length) throw new RangeError('entry bundle: truncated entry');
    out.push(b.subarray(off, off + len));
    off += len;
    if (out.length > TILE_WIDTH) throw new RangeError(`entry bundle: more than ${TILE_WIDTH} entries`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hash tiles

/** Concatenates up to 256 hashes into tile bytes. */
export function hashTile(levelHashes: readonly Uint8Array[]): Buffer {
  if (levelHashes.length === 0 || levelHashes.length > TILE_WIDTH) {
    throw new RangeError(`a tile holds 1..${TILE_WIDTH} hashes, got ${levelHashes.length}`);
  }
  const out = Buffer.allocUnsafe(levelHashes.length * HASH_SIZE);
  levelHashes.forEach((h, i) => {
    if (h.length !== HASH_SIZE) throw new TypeError(`tile hash ${i} must be ${HASH_SIZE} bytes`);
    out.set(h, i * HASH_SIZE);
  });
  return out;
}

/** Splits tile bytes into its hashes (views). */
export function splitHashTile(tile: Uint8Array): Buffer[] {
  if (tile.length === 0 || tile.length % HASH_SIZE !== 0 || tile.length > TILE_WIDTH * HASH_SIZE) {
    throw new RangeError(`tile of ${tile.length} bytes is not 1..${TILE_WIDTH} hashes`);
  }
  const b = Buffer.from(tile.buffer, tile.byteOffset, tile.length);
  const out: Buffer[] = [];
  for (let off = 0; off < b.length; off += HASH_SIZE) out.push(b.subarray(off, off + HASH_SIZE));
  return out;
}

/**
 * Width of tile (level, index) in a tree of `treeSize` leaves: 256 for a full tile, 1..255 for the
 * partial one, 0 if it does not exist at that size.
 */
export function tileWidth(level: number, index: number, treeSize: number): number {
  const hashesAtLevel = Math.floor(treeSize / TILE_WIDTH ** level);
  return Math.max(0, Math.min(TILE_WIDTH, hashesAtLevel - index * TILE_WIDTH));
}

/** Every tile (level, index, width) a tree of `treeSize` leaves is served as, full and partial. */
export function tilesForSize(treeSize: number): { level: number; index: number; width: number }[] {
  if (!isIndex(treeSize)) throw new RangeError(`bad tree size ${treeSize}`);
  const out: { level: number; index: number; width: number }[] = [];
  for (let level = 0; Math.floor(treeSize / TILE_WIDTH ** level) > 0; level++) {
    const hashes = Math.floor(treeSize / TILE_WIDTH ** level);
    for (let index = 0; index * TILE_WIDTH < hashes; index++) {
      out.push({ level, index, width: Math.min(TILE_WIDTH, hashes - index * TILE_WIDTH) });
    }
  }
  return out;
}

/** Anything that can return the hash of a perfect subtree: `MerkleTreeLevels` does. */
export interface PerfectNodeSource {
  node(level: number, index: number): Buffer;
}

/**
 * Bytes of tile (level, index) for a tree of `treeSize` leaves: the hashes of the perfect subtrees
 * of height 8·level at indices index·256 … index·256 + width − 1.
 */
export function readHashTile(tree: PerfectNodeSource, level: number, index: number, treeSize: number): Buffer {
  const width = tileWidth(level, index, treeSize);
  if (width === 0) throw new RangeError(`tile ${level}/${index} does not exist at size ${treeSize}`);
  const hashes: Buffer[] = [];
  for (let i = 0; i < width; i++) hashes.push(tree.node(TILE_HEIGHT * level, index * TILE_WIDTH + i));
  return hashTile(hashes);
}
