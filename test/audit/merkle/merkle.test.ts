import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash, randomBytes } from 'node:crypto';
import { CompactRange, EMPTY_ROOT, MerkleTreeLevels, consistencyProof, inclusionProof, leafHash, nodeHash, rootFromLeafHashes } from '../../../src/audit/merkle/merkle.ts';
import { isValidSubtree, verifyConsistency, verifyInclusion, verifySubtreeConsistency, verifySubtreeInclusion } from '../../../src/audit/merkle/merkle-verify.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const vectorsDir = path.resolve(repoRoot, '..', 'shared', 'testvectors', 'merkle');

const hex = (b: Buffer): string => b.toString('hex');

// RFC 6962 reference-test leaves: the fixed 8-leaf tree behind the numbered vector folders.
const RFC_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f']
  .map((h) => Buffer.from(h, 'hex'));
const RFC_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

// --- a literal, recursive RFC 9162 §2.1 reference, to check the fast code against -------------------

function kSplit(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
function refMTH(d: Buffer[]): Buffer {
  if (d.length === 0) return createHash('sha256').digest();
  if (d.length === 1) return d[0];
  const k = kSplit(d.length);
  return nodeHash(refMTH(d.slice(0, k)), refMTH(d.slice(k)));
}
function refPATH(m: number, d: Buffer[]): Buffer[] {
  if (d.length === 1) return [];
  const k = kSplit(d.length);
  return m < k ? [...refPATH(m, d.slice(0, k)), refMTH(d.slice(k))] : [...refPATH(m - k, d.slice(k)), refMTH(d.slice(0, k))];
}
function refSUBPROOF(m: number, d: Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [refMTH(d)];
  const k = kSplit(d.length);
  return m <= k
    ? [...refSUBPROOF(m, d.slice(0, k), b), refMTH(d.slice(k))]
    : [...refSUBPROOF(m - k, d.slice(k), false), refMTH(d.slice(0, k))];
}

function randomLeaves(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`entry ${i} ${randomBytes(4).toString('hex')}`)));
}

function flip(b: Buffer): Buffer {
  const c = Buffer.from(b);
  c[c.length - 1] ^= 1;
  return c;
}

// --- hashing and roots ----------------------------------------------------------------------------

test('leaf, node and empty hashes follow RFC 9162', () => {
  assert.equal(hex(EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(hex(leafHash(Buffer.alloc(0))), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  const a = leafHash(Buffer.from('a'));
  const b = leafHash(Buffer.from('b'));
  assert.deepEqual(nodeHash(a, b), createHash('sha256').update(Buffer.concat([Buffer.from([1]), a, b])).digest());
});

test('roots of the RFC 6962 reference tree, by every method', () => {
  const leaves = RFC_LEAVES.map(leafHash);
  const levels = new MerkleTreeLevels(leaves);
  const cr = new CompactRange();
  assert.deepEqual(rootFromLeafHashes([]), EMPTY_ROOT);
  assert.deepEqual(levels.root(0), EMPTY_ROOT);
  assert.deepEqual(cr.root(), EMPTY_ROOT);
  for (let n = 1; n <= 8; n++) {
    cr.append(leaves[n - 1]);
    assert.equal(hex(rootFromLeafHashes(leaves.slice(0, n))), RFC_ROOTS[n - 1], `rootFromLeafHashes ${n}`);
    assert.equal(hex(levels.root(n)), RFC_ROOTS[n - 1], `levels ${n}`);
    assert.equal(hex(cr.root()), RFC_ROOTS[n - 1], `compact range ${n}`);
    assert.equal(hex(refMTH(leaves.slice(0, n))), RFC_ROOTS[n - 1], `reference ${n}`);
  }
});

test('roots agree with the recursive definition for sizes 0..300', () => {
  const leaves = randomLeaves(300);
  const levels = new MerkleTreeLevels();
  const cr = new CompactRange();
  for (let n = 0; n <= 300; n++) {
    const want = refMTH(leaves.slice(0, n));
    assert.deepEqual(rootFromLeafHashes(leaves.slice(0, n)), want);
    assert.deepEqual(cr.root(), want);
    assert.deepEqual(levels.root(), want);
    if (n < 300) { cr.append(leaves[n]); levels.append(leaves[n]); }
  }
  const built = new MerkleTreeLevels(leaves);
  for (let n = 0; n <= 300; n += 7) assert.deepEqual(built.root(n), levels.root(n));
});

// --- compact range --------------------------------------------------------------------------------

test('CompactRange keeps O(log n) hashes, survives JSON, reports completed nodes', () => {
  const leaves = randomLeaves(1000);
  const cr = new CompactRange();
  const levels = new MerkleTreeLevels(leaves);
  let nodes = 0;
  for (const l of leaves) {
    cr.append(l, (level, index, hash) => {
      nodes++;
      assert.deepEqual(hash, levels.node(level, index));
    });
  }
  assert.equal(nodes, 1000 + 500 + 250 + 125 + 62 + 31 + 15 + 7 + 3 + 1);
  const json = JSON.parse(JSON.stringify(cr));
  assert.equal(json.size, 1000);
  assert.equal(json.hashes.length, 6); // popcount(1000)
  const back = CompactRange.fromJSON(json);
  assert.deepEqual(back.root(), levels.root());
  const more = leafHash(Buffer.from('one more'));
  back.append(more);
  levels.append(more);
  assert.deepEqual(back.root(), levels.root());
  assert.equal(cr.size, 1000);
  const clone = cr.clone();
  clone.appendEntry(Buffer.from('x'));
  assert.equal(cr.size, 1000);
  assert.equal(clone.size, 1001);

  assert.throws(() => CompactRange.fromJSON({ size: 3, hashes: [json.hashes[0]] }), RangeError);
  assert.throws(() => CompactRange.fromJSON({ size: 1, hashes: ['zz'] }), RangeError);
  assert.throws(() => CompactRange.fromJSON({ size: -1, hashes: [] }), RangeError);
  assert.throws(() => CompactRange.fromJSON({ size: 1.5, hashes: [json.hashes[0]] }), RangeError);
  assert.throws(() => cr.append(Buffer.alloc(31)), TypeError);
});

// --- proof generation -----------------------------------------------------------------------------

test('inclusion and consistency proofs equal the RFC definitions and verify (sizes 1..64)', () => {
  const leaves = randomLeaves(64);
  const levels = new MerkleTreeLevels(leaves);
  for (let n = 1; n <= 64; n++) {
    const d = leaves.slice(0, n);
    const root = levels.root(n);
    for (let m = 0; m < n; m++) {
      const p = levels.inclusionProof(m, n);
      assert.deepEqual(p, refPATH(m, d), `PATH(${m}, ${n})`);
      if (n <= 20) assert.deepEqual(inclusionProof(m, n, leaves), p);
      assert.ok(verifyInclusion(leaves[m], m, n, p, root), `verify incl ${m}/${n}`);
      assert.ok(!verifyInclusion(flip(leaves[m]), m, n, p, root));
      if (p.length) {
        assert.ok(!verifyInclusion(leaves[m], m, n, p.slice(1), root));
        assert.ok(!verifyInclusion(leaves[m], m, n, [...p, p[0]], root));
        assert.ok(!verifyInclusion(leaves[m], m, n, [flip(p[0]), ...p.slice(1)], root));
      }
      assert.ok(!verifyInclusion(leaves[m], m, n + 1, p, root) || refPATH(m, leaves.slice(0, n + 1)).length === p.length);
    }
    for (let m = 1; m <= n; m++) {
      const p = levels.consistencyProof(m, n);
      assert.deepEqual(p, m === n ? [] : refSUBPROOF(m, d, true), `PROOF(${m}, ${n})`);
      if (n <= 20) assert.deepEqual(consistencyProof(m, n, (i) => leaves[i]), p);
      const r1 = levels.root(m);
      assert.ok(verifyConsistency(m, n, p, r1, root), `verify cons ${m}->${n}`);
      assert.equal(verifySubtreeConsistency(0, m, n, p, r1, root), true, `as subtree ${m}->${n}`);
      assert.ok(!verifyConsistency(m, n, p, flip(r1), root));
      assert.ok(!verifyConsistency(m, n, p, r1, flip(root)));
      if (p.length) {
        assert.ok(!verifyConsistency(m, n, p.slice(0, -1), r1, root));
        assert.ok(!verifyConsistency(m, n, [...p, p[0]], r1, root));
        assert.ok(!verifyConsistency(m, n, [flip(p[0]), ...p.slice(1)], r1, root));
      }
    }
  }
  assert.throws(() => levels.consistencyProof(0, 5), RangeError);
  assert.throws(() => levels.consistencyProof(6, 5), RangeError);
  assert.throws(() => levels.inclusionProof(5, 5), RangeError);
  assert.throws(() => levels.inclusionProof(0, 65), RangeError);
  assert.throws(() => consistencyProof(0, 3, leaves), RangeError);
});

test('subtree proofs: generated proofs verify, wrong ones do not (sizes 1..40)', () => {
  const leaves = randomLeaves(40);
  const levels = new MerkleTreeLevels(leaves);
  let checked = 0;
  for (let size = 1; size <= 40; size++) {
    const root = levels.root(size);
    for (let start = 0; start < size; start++) {
      for (let end = start + 1; end <= size; end++) {
        if (!isValidSubtree(start, end)) continue;
        const sub = levels.subtreeRoot(start, end);
        assert.deepEqual(sub, refMTH(leaves.slice(start, end)));
        const p = levels.subtreeConsistencyProof(start, end, size);
        assert.ok(verifySubtreeConsistency(start, end, size, p, sub, root), `[${start},${end}) in ${size}`);
        assert.ok(!verifySubtreeConsistency(start, end, size, p, flip(sub), root));
        assert.ok(!verifySubtreeConsistency(start, end, size, p, sub, flip(root)));
        if (p.length) {
          assert.ok(!verifySubtreeConsistency(start, end, size, p.slice(0, -1), sub, root));
          assert.ok(!verifySubtreeConsistency(start, end, size, [...p, p[0]], sub, root));
          for (let i = 0; i < p.length; i++) {
            const bad = p.slice();
            bad[i] = flip(bad[i]);
            assert.ok(!verifySubtreeConsistency(start, end, size, bad, sub, root), `flip ${i} [${start},${end}) in ${size}`);
          }
        }
        if (size === end) {
          const sl = new MerkleTreeLevels(leaves.slice(start, end));
          for (let i = start; i < end; i++) {
            assert.ok(verifySubtreeInclusion(leaves[i], i, start, end, sl.inclusionProof(i - start), sub));
          }
        }
        checked++;
      }
    }
  }
  assert.ok(checked > 300);
  assert.equal(isValidSubtree(4, 8), true);
  assert.equal(isValidSubtree(4, 9), false);
  assert.equal(isValidSubtree(6, 8), true);
  assert.equal(isValidSubtree(6, 9), false);
});

// --- verification edge cases ----------------------------------------------------------------------

test('verification rejects malformed arguments without throwing', () => {
  const leaves = randomLeaves(5);
  const levels = new MerkleTreeLevels(leaves);
  const root = levels.root();
  const p = levels.inclusionProof(2);
  assert.ok(verifyInclusion(leaves[2], 2, 5, p, root));
  assert.equal(verifyInclusion(leaves[2], 5, 5, p, root), false);
  assert.equal(verifyInclusion(leaves[2], -1, 5, p, root), false);
  assert.equal(verifyInclusion(leaves[2], 2.5, 5, p, root), false);
  assert.equal(verifyInclusion(leaves[2], 2, 2 ** 60, p, root), false);
  assert.equal(verifyInclusion(leaves[2].subarray(1), 2, 5, p, root), false);
  assert.equal(verifyInclusion(leaves[2], 2, 5, [...p.slice(0, -1), Buffer.alloc(33)], root), false);
  assert.equal(verifyInclusion(leaves[2], 2, 5, null as unknown as Buffer[], root), false);
  // Equal sizes: empty proof and equal roots; size 0 is never a valid start.
  assert.ok(verifyConsistency(5, 5, [], root, root));
  assert.equal(verifyConsistency(5, 5, [root], root, root), false);
  assert.equal(verifyConsistency(5, 5, [], root, flip(root)), false);
  assert.equal(verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT), false);
  assert.equal(verifyConsistency(0, 5, [], EMPTY_ROOT, root), false);
  assert.equal(verifyConsistency(6, 5, [], root, root), false);
  assert.equal(verifyConsistency(3, 5, [], levels.root(3), root), false);
});

// --- transparency-dev/merkle test vectors ---------------------------------------------------------

interface Vec { file: string; data: Record<string, unknown> }

function loadVectors(sub: string): Vec[] {
  const out: Vec[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.json')) {
        // Sizes such as 2^64 − 1 do not fit a double: keep them as strings, then as unsafe numbers.
        const text = readFileSync(p, 'utf8').replace(/:\s*(\d{16,})\b/g, ': "$1"');
        out.push({ file: path.relative(vectorsDir, p), data: JSON.parse(text) });
      }
    }
  };
  walk(path.join(vectorsDir, sub));
  return out;
}

const b64 = (s: unknown): Buffer => Buffer.from(String(s ?? ''), 'base64');
const proofOf = (v: unknown): Buffer[] => ((v as string[] | null) ?? []).map(b64);
function num(v: unknown, vec: Vec): number {
  const n = Number(v);
  // An index or size that a double cannot hold exactly must be an expected failure.
  if (!Number.isSafeInteger(n)) assert.equal(vec.data.wantErr, true, `${vec.file}: unsafe integer in a valid case`);
  return n;
}

function runVectors(sub: string, check: (v: Vec) => boolean): void {
  const vecs = loadVectors(sub);
  assert.ok(vecs.length > 0, `no vectors in ${sub}`);
  const failures: string[] = [];
  for (const v of vecs) {
    let ok: boolean;
    try {
      ok = check(v);
    } catch (e) {
      failures.push(`${v.file}: threw ${(e as Error).message}`);
      continue;
    }
    if (ok !== !v.data.wantErr) failures.push(`${v.file}: verified=${ok}, wantErr=${v.data.wantErr}`);
  }
  assert.deepEqual(failures, []);
  console.log(`${sub}: ${vecs.length} vectors, ${vecs.filter((v) => !v.data.wantErr).length} valid`);
}

if (!existsSync(vectorsDir)) {
  test('transparency-dev/merkle vectors', { skip: `test vectors absent (${vectorsDir})` }, () => {});
} else {
  test('vectors: inclusion', () => runVectors('inclusion', (v) => {
    const d = v.data;
    return verifyInclusion(b64(d.leafHash), num(d.leafIdx, v), num(d.treeSize, v), proofOf(d.proof), b64(d.root));
  }));

  test('vectors: consistency', () => runVectors('consistency', (v) => {
    const d = v.data;
    return verifyConsistency(num(d.size1, v), num(d.size2, v), proofOf(d.proof), b64(d.root1), b64(d.root2));
  }));

  test('vectors: subtree inclusion', () => runVectors('subtreeinclusion', (v) => {
    const d = v.data;
    return verifySubtreeInclusion(b64(d.leafHash), num(d.leafIdx, v), num(d.start, v), num(d.end, v), proofOf(d.proof), b64(d.root));
  }));

  test('vectors: subtree consistency', () => runVectors('subtreeconsistency', (v) => {
    const d = v.data;
    return verifySubtreeConsistency(num(d.start, v), num(d.end, v), num(d.size, v), proofOf(d.proof), b64(d.root1), b64(d.root2));
  }));

  test('vectors: our generated proofs equal the happy-path proofs of the RFC 6962 tree', () => {
    const leaves = RFC_LEAVES.map(leafHash);
    const levels = new MerkleTreeLevels(leaves);
    let n = 0;
    for (const v of loadVectors('inclusion')) {
      const d = v.data;
      if (d.wantErr || !/^[a-z]+\/\d\//.test(v.file)) continue;
      assert.deepEqual(levels.inclusionProof(Number(d.leafIdx), Number(d.treeSize)), proofOf(d.proof), v.file);
      assert.deepEqual(levels.root(Number(d.treeSize)), b64(d.root), v.file);
      assert.deepEqual(leaves[Number(d.leafIdx)], b64(d.leafHash), v.file);
      n++;
    }
    for (const v of loadVectors('consistency')) {
      const d = v.data;
      if (d.wantErr || !/^[a-z]+\/\d\//.test(v.file)) continue;
      assert.deepEqual(levels.consistencyProof(Number(d.size1), Number(d.size2)), proofOf(d.proof), v.file);
      assert.deepEqual(levels.root(Number(d.size1)), b64(d.root1), v.file);
      assert.deepEqual(levels.root(Number(d.size2)), b64(d.root2), v.file);
      n++;
    }
    assert.ok(n >= 8, `only ${n} happy paths`);
  });
}
