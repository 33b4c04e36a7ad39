// LogTree: same roots and proofs as MerkleTreeLevels, and after a pruned prefix every proof about a
// retained leaf and every tile of level ≥ 1 is still available from the stored hashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MerkleTreeLevels } from '../../../src/audit/merkle/merkle.ts';
import { verifyConsistency, verifyInclusion } from '../../../src/audit/merkle/merkle-verify.ts';
import { LogTree, MissingNodeError } from '../../../src/audit/log/tree.ts';
import { readHashTile, tilesForSize } from '../../../src/audit/log/tiles.ts';

const leaf = (i: number) => createHash('sha256').update(`leaf ${i}`).digest();

test('LogTree without prefix matches MerkleTreeLevels', () => {
  const n = 700;
  const full = new MerkleTreeLevels(Array.from({ length: n }, (_, i) => leaf(i)));
  const t = new LogTree();
  for (let i = 0; i < n; i++) t.append(leaf(i));
  for (const size of [1, 2, 3, 255, 256, 257, 511, 700]) assert.deepEqual(t.root(size), full.root(size));
  for (const [i, size] of [[0, 1], [5, 700], [699, 700], [300, 513]]) assert.deepEqual(t.inclusionProof(i, size), full.inclusionProof(i, size));
  assert.deepEqual(t.consistencyProof(17, 700), full.consistencyProof(17, 700));
});

for (const base of [1, 3, 255, 256, 300, 513, 1024, 66_000]) {
  test(`LogTree pruned at ${base}: roots, proofs and tiles of level ≥ 1 from the stored hashes`, () => {
    const n = base + 700;
    const leaves = Array.from({ length: n }, (_, i) => leaf(i));
    const full = new MerkleTreeLevels(leaves);
    const before = new LogTree();
    for (const l of leaves.slice(0, base + 10)) before.append(l);
    const stored = before.prefixHashes(base);
    assert.ok(stored.length < base / 255 + 260, `stored ${stored.length}`);
    const t = new LogTree(base, stored);
    for (let i = base; i < n; i++) t.append(leaves[i]);
    const root = full.root();
    assert.deepEqual(t.root(), root);
    for (const i of [base, base + 1, n - 1, base + 300].filter((i) => i < n)) {
      const p = t.inclusionProof(i);
      assert.ok(verifyInclusion(leaves[i], i, n, p, root));
    }
    for (const m of [base, base + 1, base + 256]) {
      assert.ok(verifyConsistency(m, n, t.consistencyProof(m, n), full.root(m), root));
    }
    assert.throws(() => t.inclusionProof(base - 1), MissingNodeError);
    for (const tile of tilesForSize(n)) {
      const fromFull = readHashTile(full, tile.level, tile.index, n);
      if (tile.level === 0 && (tile.index + 1) * 256 <= base - (base % 256)) {
        assert.throws(() => readHashTile(t, tile.level, tile.index, n), MissingNodeError);
      } else {
        assert.deepEqual(readHashTile(t, tile.level, tile.index, n), fromFull, `tile ${tile.level}/${tile.index}`);
      }
    }
    // A second prune further on keeps working from the first one's hashes.
    const base2 = base + 300;
    const t2 = new LogTree(base2, t.prefixHashes(base2));
    for (let i = base2; i < n; i++) t2.append(leaves[i]);
    assert.deepEqual(t2.root(), root);
  });
}

test('LogTree refuses a prefix whose stored hashes are incomplete', () => {
  const t = new LogTree();
  for (let i = 0; i < 600; i++) t.append(leaf(i));
  const stored = t.prefixHashes(600).filter((h) => !(h.height === 8 && h.index === 1));
  assert.throws(() => new LogTree(600, stored), MissingNodeError);
});
