// RFC 9162 (§2.1) Merkle tree hashing, proofs and their verification, for the per-tenant access log.
//
// Tree sizes and indices are plain numbers and must be safe integers (≤ 2^53 − 1); anything else is
// rejected. Hashes are 32-byte Buffers. Verification functions never throw: a malformed input is a
// failed verification. Proof generation throws a RangeError on impossible arguments.
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { HASH_SIZE, isSize, half, isOdd, trailingZeros, ceilLog2, popcount, isHash, isValidSubtree } from './merkle-bits.ts';

export { HASH_SIZE };

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

// One-shot crypto.hash (Node ≥ 20.12) skips the Hash object: about 1.7× faster for these short
// inputs, which dominate `audit verify`. A string is hashed as its UTF-8 bytes.
const sha256: (data: Uint8Array | string) => Buffer = typeof crypto.hash === 'function'
  ? (data) => crypto.hash('sha256', data, 'buffer')
  : (data) => createHash('sha256').update(data).digest();
// 0x01 ‖ left ‖ right, reused by every node hash (synchronous, so never shared between two calls).
const pair = Buffer.alloc(1 + 2 * HASH_SIZE, 0x01);

/** MTH({}) = SHA-256(""). */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** SHA-256(0x00 ‖ entry). */
export function leafHash(entry: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(entry).digest();
}

/** SHA-256(0x00 ‖ UTF-8(text)): leafHash of a text entry without encoding it to a Buffer first. */
export function textLeafHash(text: string): Buffer {
  return sha256(`\u0000${text}`);
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
  pair.set(left, 1);
  pair.set(right, 1 + HASH_SIZE);
  return sha256(pair);
}

/** nodeHash of the two adjacent hashes at buf[offset, offset + 64) (no views allocated). */
export function adjacentNodeHash(buf: Buffer, offset: number): Buffer {
  if (buf.copy(pair, 1, offset, offset + 2 * HASH_SIZE) !== 2 * HASH_SIZE) throw new RangeError('two hashes needed');
  return sha256(pair);
}

// ---------------------------------------------------------------------------------------------
// Roots

/**
 * MTH over already-hashed leaves (or over any run of same-level node hashes, e.g. a full tile),
 * computed level by level: adjacent nodes are paired and an odd last node is carried up unchanged,
 * which yields exactly the RFC's left-balanced tree.
 */
export function rootFromLeafHashes(hashes: readonly Buffer[]): Buffer {
  if (hashes.length === 0) return Buffer.from(EMPTY_ROOT);
  let level: Buffer[] = hashes.slice();
  while (level.length > 1) {
    const next: Buffer[] = new Array(Math.ceil(level.length / 2));
    let j = 0;
    for (let i = 0; i + 1 < level.length; i += 2) next[j++] = nodeHash(level[i], level[i + 1]);
    if (level.length % 2 === 1) next[j] = level[level.length - 1];
    level = next;
  }
  return Buffer.from(level[0]);
}

// ---------------------------------------------------------------------------------------------
// Compact range: the O(log n) right edge of the tree.

export interface CompactRangeJSON {
  size: number;
  /** Roots of the perfect subtrees covering [0, size), largest (leftmost) first, lowercase hex. */
  hashes: string[];
}

/** Called for every node completed by an append: level 0 is the leaf itself. `hash` is shared: do not modify it. */
export type NodeSink = (level: number, index: number, hash: Buffer) => void;

/**
 * Incremental appender. Keeps the roots of the perfect subtrees that make up [0, size) — one per set
 * bit of size — so an append costs one leaf merge chain (amortised one hash) and `root()` at most
 * ⌈log2 n⌉ hashes. Persist it with `toJSON()` / `CompactRange.fromJSON()`.
 */
export class CompactRange {
  private _size: number;
  private readonly hashes: Buffer[];

  constructor() {
    this._size = 0;
    this.hashes = [];
  }

  get size(): number {
    return this._size;
  }

  /** Appends one leaf hash. `onNode` receives the leaf and each perfect node this append completes. */
  append(leaf: Buffer, onNode?: NodeSink): void {
    if (!isHash(leaf)) throw new TypeError('leaf hash must be 32 bytes');
    if (this._size >= Number.MAX_SAFE_INTEGER) throw new RangeError('tree is full');
    let h: Buffer = Buffer.from(leaf);
    let index = this._size;
    let level = 0;
    onNode?.(0, index, h);
    // Each trailing 1 bit of the old size is a perfect subtree to merge with.
    let s = this._size;
    while (isOdd(s)) {
      const left = this.hashes.pop() as Buffer;
      h = nodeHash(left, h);
      s = half(s);
      index = half(index);
      level++;
      onNode?.(level, index, h);
    }
    this.hashes.push(h);
    this._size++;
  }

  /** Hashes `entry` as a leaf and appends it; returns the leaf hash. */
  appendEntry(entry: Uint8Array, onNode?: NodeSink): Buffer {
    const h = leafHash(entry);
    this.append(h, onNode);
    return h;
  }

  /** MTH of the leaves appended so far. */
  root(): Buffer {
    if (this.hashes.length === 0) return Buffer.from(EMPTY_ROOT);
    let r = this.hashes[this.hashes.length - 1];
    for (let i = this.hashes.length - 2; i >= 0; i--) r = nodeHash(this.hashes[i], r);
    return Buffer.from(r);
  }

  clone(): CompactRange {
    return CompactRange.fromJSON(this.toJSON());
  }

  toJSON(): CompactRangeJSON {
    return { size: this._size, hashes: this.hashes.map((h) => h.toString('hex')) };
  }

  static fromJSON(json: CompactRangeJSON): CompactRange {
    if (!json || typeof json !== 'object') throw new TypeError('compact range: not an object');
    const { size, hashes } = json;
    if (!isSize(size)) throw new RangeError('compact range: bad size');
    if (!Array.isArray(hashes) || hashes.length !== popcount(size)) {
      throw new RangeError('compact range: hash count does not match size');
    }
    const r = new CompactRange();
    for (const hx of hashes) {
      if (typeof hx !== 'string' || !/^[0-9a-f]{64}$/.test(hx)) throw new RangeError('compact range: bad hash');
      r.hashes.push(Buffer.from(hx, 'hex'));
    }
    r._size = size;
    return r;
  }
}

// ---------------------------------------------------------------------------------------------
// Proof generation over any source of perfect-subtree hashes.

/** Hash of the perfect subtree at `level` (height) and `index`: leaves [index·2^level, (index+1)·2^level). */
export interface NodeSource {
  node(level: number, index: number): Buffer;
}

/** MTH(D[start:end]) where start is a multiple of 2^⌈log2(end−start)⌉ (every node of the tree is). */
export function rangeRoot(src: NodeSource, start: number, end: number): Buffer {
  if (end <= start) return Buffer.from(EMPTY_ROOT);
  // Greedy split into aligned perfect subtrees, largest first, then fold from the right.
  const parts: Buffer[] = [];
  let pos = start;
  let left = end - start;
  for (let level = ceilLog2(left); left > 0; level--) {
    const w = 2 ** level;
    if (w <= left) {
      parts.push(src.node(level, pos / w));
      pos += w;
      left -= w;
    }
  }
  let r = parts[parts.length - 1];
  for (let i = parts.length - 2; i >= 0; i--) r = nodeHash(parts[i], r);
  return r;
}

/**
 * Siblings, bottom-up, on the path from the perfect node (level, index) to the root of the tree of
 * `size` leaves. A sibling wholly past `size` does not exist (the node is promoted); one that
 * straddles `size` is the root of the partial range.
 */
function pathFromNode(src: NodeSource, level: number, index: number, size: number): Buffer[] {
  const proof: Buffer[] = [];
  let l = level;
  let k = index;
  while (!(k === 0 && 2 ** l >= size)) {
    const w = 2 ** l;
    const sib = isOdd(k) ? k - 1 : k + 1;
    const start = sib * w;
    if (start < size) proof.push(start + w <= size ? src.node(l, sib) : rangeRoot(src, start, size));
    k = half(k);
    l++;
  }
  return proof.map((h) => Buffer.from(h));
}

export function inclusionFrom(src: NodeSource, index: number, size: number): Buffer[] {
  if (!isSize(index) || !isSize(size) || index >= size) {
    throw new RangeError(`inclusion proof: need 0 ≤ index < size (index ${index}, size ${size})`);
  }
  return pathFromNode(src, 0, index, size);
}

export function consistencyFrom(src: NodeSource, m: number, n: number): Buffer[] {
  if (!isSize(m) || !isSize(n)) throw new RangeError('consistency proof: sizes must be safe integers');
  if (m === 0) throw new RangeError('consistency proof from an empty tree is meaningless');
  if (m > n) throw new RangeError(`consistency proof: size1 ${m} > size2 ${n}`);
  if (m === n) return [];
  // The biggest perfect subtree ending at m, then its path in the tree of size n. When m is a power
  // of two that subtree is the old root, which the verifier already has, so it is left out.
  const shift = trailingZeros(m);
  const k = m / 2 ** shift - 1;
  const path = pathFromNode(src, shift, k, n);
  return k === 0 ? path : [Buffer.from(src.node(shift, k)), ...path];
}

/** Perfect-subtree hashes computed on demand from leaf hashes (O(2^level) per node). */
class LeafSource implements NodeSource {
  constructor(private readonly get: (i: number) => Buffer, private readonly size: number) {}
  node(level: number, index: number): Buffer {
    if (level === 0) {
      if (index >= this.size) throw new RangeError(`leaf ${index} is beyond the tree`);
      const h = this.get(index);
      if (!isHash(h)) throw new TypeError(`leaf hash ${index} must be 32 bytes`);
      return h;
    }
    return nodeHash(this.node(level - 1, 2 * index), this.node(level - 1, 2 * index + 1));
  }
}

type LeafHashes = readonly Buffer[] | ((index: number) => Buffer);

function leafSource(leaves: LeafHashes, size: number): LeafSource {
  if (typeof leaves === 'function') return new LeafSource(leaves, size);
  if (leaves.length < size) throw new RangeError(`only ${leaves.length} leaf hashes for size ${size}`);
  return new LeafSource((i) => leaves[i], size);
}

/**
 * PATH(index, D[size]) from leaf hashes (an array, or a getter). O(size) hashing; use
 * `MerkleTreeLevels` for large trees.
 */
export function inclusionProof(index: number, size: number, leaves: LeafHashes): Buffer[] {
  return inclusionFrom(leafSource(leaves, size), index, size);
}

/** PROOF(m, D[n]) from leaf hashes. Throws for m = 0 or m > n; m = n gives []. */
export function consistencyProof(m: number, n: number, leaves: LeafHashes): Buffer[] {
  return consistencyFrom(leafSource(leaves, n), m, n);
}

// ---------------------------------------------------------------------------------------------
// All levels in memory: O(log n) proofs and roots for any past size.

/** Growable contiguous array of 32-byte hashes for the indices first, first+1, … of one tree level. */
export class HashColumn {
  buf: Buffer;
  count = 0;
  constructor(capacity: number, readonly first = 0) {
    this.buf = Buffer.allocUnsafe(Math.max(capacity, 16) * HASH_SIZE);
  }
  push(h: Uint8Array): void {
    if ((this.count + 1) * HASH_SIZE > this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.count * HASH_SIZE);
      this.buf = bigger;
    }
    this.buf.set(h, this.count * HASH_SIZE);
    this.count++;
  }
  has(i: number): boolean {
    return i >= this.first && i < this.first + this.count;
  }
  /** View, not a copy. */
  at(i: number): Buffer {
    const k = i - this.first;
    return this.buf.subarray(k * HASH_SIZE, (k + 1) * HASH_SIZE);
  }
}

/**
 * Every perfect-subtree hash of the tree, level by level (≈ 2n hashes, 64 bytes per leaf). Built in
 * O(n) once, then `root`, `inclusionProof` and `consistencyProof` for any size ≤ `size` cost
 * O(log n) hashes. Returned hashes are copies.
 */
export class MerkleTreeLevels implements NodeSource {
  private readonly levels: HashColumn[] = [];

  constructor(leafHashes: readonly Buffer[] = []) {
    const n = leafHashes.length;
    const level0 = new HashColumn(n);
    for (let i = 0; i < n; i++) {
      if (!isHash(leafHashes[i])) throw new TypeError(`leaf hash ${i} must be 32 bytes`);
      level0.push(leafHashes[i]);
    }
    this.levels.push(level0);
    for (let below = level0; below.count >= 2;) {
      const count = Math.floor(below.count / 2);
      const col = new HashColumn(count);
      for (let i = 0; i < count; i++) col.push(nodeHash(below.at(2 * i), below.at(2 * i + 1)));
      this.levels.push(col);
      below = col;
    }
  }

  get size(): number {
    return this.levels[0].count;
  }

  append(leaf: Buffer): void {
    if (!isHash(leaf)) throw new TypeError('leaf hash must be 32 bytes');
    this.levels[0].push(leaf);
    let level = 0;
    let index = this.levels[0].count - 1;
    while (isOdd(index)) {
      const col = this.levels[level];
      const h = nodeHash(col.at(index - 1), col.at(index));
      level++;
      if (this.levels.length === level) this.levels.push(new HashColumn(16));
      this.levels[level].push(h);
      index = half(index);
    }
  }

  /** Hash of the perfect subtree (level, index); it must lie within the tree. */
  node(level: number, index: number): Buffer {
    const col = this.levels[level];
    if (!col || !isSize(index) || index >= col.count) {
      throw new RangeError(`no complete node at level ${level}, index ${index}`);
    }
    return col.at(index);
  }

  leafHash(index: number): Buffer {
    return Buffer.from(this.node(0, index));
  }

  private checkSize(size: number): void {
    if (!isSize(size) || size > this.size) throw new RangeError(`size ${size} is beyond the tree (${this.size})`);
  }

  root(size: number = this.size): Buffer {
    this.checkSize(size);
    return Buffer.from(rangeRoot(this, 0, size));
  }

  inclusionProof(index: number, size: number = this.size): Buffer[] {
    this.checkSize(size);
    return inclusionFrom(this, index, size);
  }

  consistencyProof(m: number, n: number = this.size): Buffer[] {
    this.checkSize(n);
    return consistencyFrom(this, m, n);
  }

  /** MTH(D[start:end]) for a valid subtree (see `verifySubtreeConsistency`). */
  subtreeRoot(start: number, end: number): Buffer {
    this.checkSize(end);
    if (!isValidSubtree(start, end)) throw new RangeError(`[${start}, ${end}) is not a valid subtree`);
    return Buffer.from(rangeRoot(this, start, end));
  }

  /** Proof that the subtree [start, end) is contained in the tree of `size` leaves. */
  subtreeConsistencyProof(start: number, end: number, size: number = this.size): Buffer[] {
    this.checkSize(size);
    if (!isValidSubtree(start, end) || end > size) throw new RangeError(`[${start}, ${end}) is not a subtree of ${size}`);
    if (start === end) return [];
    const h = ceilLog2(end - start);
    if (end - start === 2 ** h || end === size) return pathFromNode(this, h, start / 2 ** h, size);
    const shift = trailingZeros(end - start);
    const k = Math.floor((end - 1) / 2 ** shift);
    return [Buffer.from(this.node(shift, k)), ...pathFromNode(this, shift, k, size)];
  }
}

