// A tenant's Merkle tree in memory, possibly with a pruned prefix (retention, src/ops/prune.ts).
//
// Leaves [0, base) may be gone from the database. What is kept of them (table audit_pruned_hashes)
// is enough for every proof about a leaf ≥ base and every tile a client of the log still needs:
//   - every perfect-subtree hash of height 8·k (k ≥ 1) lying wholly inside [0, base): the hashes of
//     hash tiles of level ≥ 1 (≈ base/255 hashes);
//   - the leaf hashes of the last, partial 256-leaf chunk [⌊base/256⌋·256, base).
// Any node inside the prefix of height ≥ 8 is rebuilt from the first set, any of height < 8 inside
// the last chunk from the second; the compact range of `base` is made of such nodes only, and so is
// every left sibling on the path of a leaf ≥ base or of a consistency proof from a size ≥ base.
//
// Without a prefix (base 0) this is the same structure as MerkleTreeLevels: every perfect-subtree
// hash, ≈ 64 bytes per leaf, O(log n) roots and proofs for any size.
import { adjacentNodeHash, consistencyFrom, HASH_SIZE, HashColumn, inclusionFrom, nodeHash, rangeRoot, type NodeSource } from '../merkle/merkle.ts';
import { TILE_HEIGHT, TILE_WIDTH } from './tiles.ts';

/** A stored hash of the pruned prefix: height (0 = leaf) and index at that height. */
export interface PrefixHash { height: number; index: number; hash: Buffer }

/** Thrown for a node that no longer exists (pruned) or does not exist yet. */
export class MissingNodeError extends RangeError {}

const skey = (height: number, index: number) => `${height}/${index}`;

export class LogTree implements NodeSource {
  private readonly levels: HashColumn[] = [];
  private readonly stored = new Map<string, Buffer>();
  private readonly memo = new Map<string, Buffer>();
  private _size: number;

  /** A tree whose leaves [0, base) are known only through `prefix` (empty when base is 0). */
  constructor(readonly base = 0, prefix: readonly PrefixHash[] = []) {
    if (!Number.isSafeInteger(base) || base < 0) throw new RangeError('bad prune boundary');
    for (const p of prefix) {
      if (p.hash.length !== HASH_SIZE) throw new TypeError('stored hash must be 32 bytes');
      this.stored.set(skey(p.height, p.index), Buffer.from(p.hash));
    }
    this._size = base;
    this.levels.push(new HashColumn(16, base));
    // Check that the compact range of base is recoverable: a missing stored hash is an error now,
    // not at the first proof.
    if (base > 0) this.prefixRoot();
  }

  get size(): number { return this._size; }

  /** Hash of the perfect subtree at `level` (height), `index`. Throws MissingNodeError if unavailable. */
  node(level: number, index: number): Buffer {
    const col = this.levels[level];
    if (col?.has(index)) return col.at(index);
    const w = 2 ** level;
    if ((index + 1) * w <= this.base) return this.prefixNode(level, index);
    throw new MissingNodeError(`no complete node at level ${level}, index ${index}`);
  }

  private prefixNode(level: number, index: number): Buffer {
    const k = skey(level, index);
    const hit = this.stored.get(k) ?? this.memo.get(k);
    if (hit) return hit;
    const chunkStart = Math.floor(this.base / TILE_WIDTH) * TILE_WIDTH;
    const rebuildable = level > 0 && (level % TILE_HEIGHT !== 0) && (level > TILE_HEIGHT || index * 2 ** level >= chunkStart);
    if (!rebuildable) throw new MissingNodeError(`node ${level}/${index} was pruned`);
    const h = nodeHash(this.prefixNode(level - 1, 2 * index), this.prefixNode(level - 1, 2 * index + 1));
    if (this.memo.size > 100_000) this.memo.clear();
    this.memo.set(k, h);
    return h;
  }

  /** Root of the pruned prefix [0, base) (throws if a needed stored hash is missing). */
  private prefixRoot(): Buffer { return rangeRoot(this, 0, this.base); }

  append(leaf: Buffer): void {
    if (!Buffer.isBuffer(leaf) || leaf.length !== HASH_SIZE) throw new TypeError('leaf hash must be 32 bytes');
    let index = this._size;
    this.levels[0].push(leaf);
    let level = 0;
    while (index % 2 === 1) {
      // Both children are usually adjacent in their column; the left one may be in the pruned prefix.
      const below = this.levels[level];
      const h = below.has(index - 1) ? adjacentNodeHash(below.buf, (index - 1 - below.first) * HASH_SIZE)
        : nodeHash(this.node(level, index - 1), this.node(level, index));
      level++;
      index = Math.floor(index / 2);
      if (this.levels.length === level) this.levels.push(new HashColumn(16, index));
      const col = this.levels[level];
      if (col.first + col.count !== index) throw new Error('tree column out of order');
      col.push(h);
    }
    this._size++;
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size > this._size || size < 0) throw new RangeError(`size ${size} is beyond the tree (${this._size})`);
    if (size < this.base && size !== 0) throw new MissingNodeError(`size ${size} is inside the pruned prefix (${this.base})`);
  }

  root(size: number = this._size): Buffer {
    this.checkSize(size);
    return Buffer.from(rangeRoot(this, 0, size));
  }

  leafHash(index: number): Buffer { return Buffer.from(this.node(0, index)); }

  inclusionProof(index: number, size: number = this._size): Buffer[] {
    this.checkSize(size);
    if (index < this.base) throw new MissingNodeError(`leaf ${index} was pruned`);
    return inclusionFrom(this, index, size);
  }

  consistencyProof(m: number, n: number = this._size): Buffer[] {
    this.checkSize(n);
    if (m < this.base) throw new MissingNodeError(`size ${m} is inside the pruned prefix (${this.base})`);
    return consistencyFrom(this, m, n);
  }

  /** What to store when pruning [0, boundary): see the file comment. boundary must be ≤ size. */
  prefixHashes(boundary: number): PrefixHash[] {
    if (!Number.isSafeInteger(boundary) || boundary < this.base || boundary > this._size) throw new RangeError('bad prune boundary');
    const out: PrefixHash[] = [];
    for (let h = TILE_HEIGHT; 2 ** h <= boundary; h += TILE_HEIGHT) {
      const n = Math.floor(boundary / 2 ** h);
      for (let i = 0; i < n; i++) out.push({ height: h, index: i, hash: Buffer.from(this.node(h, i)) });
    }
    for (let i = Math.floor(boundary / TILE_WIDTH) * TILE_WIDTH; i < boundary; i++) out.push({ height: 0, index: i, hash: Buffer.from(this.node(0, i)) });
    return out;
  }
}
