import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import {
  decodeEntryBundle, encodeEntryBundle, encodeTileIndex, entryBundlePath, hashTile, parseTilePath, readHashTile,
  splitHashTile, tilePath, tileWidth, tilesForSize,
} from '../../../src/audit/log/tiles.ts';
import { CompactRange, EMPTY_ROOT, MerkleTreeLevels, leafHash, rootFromLeafHashes } from '../../../src/audit/merkle/merkle.ts';
import { verifyConsistency, verifyInclusion } from '../../../src/audit/merkle/merkle-verify.ts';
import { openCheckpoint, parseVerifierKey } from '../../../src/audit/log/note.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tesseraDir = path.resolve(repoRoot, '..', 'shared', 'testvectors', 'tessera-log');
const TESSERA_KEY = 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx';
// The entries as upstream wrote them (tessera testdata/build_log.sh spells several on purpose:
// "eit", "nain", "ileven", …), not the dictionary words "one" … "fifteen".
const WORDS = 'one two three four five six seven eit nain ten ileven twelf threeten fourten fivten'.split(' ');

test('tile paths use 3-digit x groups', () => {
  assert.equal(encodeTileIndex(0), '000');
  assert.equal(encodeTileIndex(5), '005');
  assert.equal(encodeTileIndex(999), '999');
  assert.equal(encodeTileIndex(1000), 'x001/000');
  assert.equal(encodeTileIndex(1234067), 'x001/x234/067');
  assert.equal(tilePath(0, 1234067), 'tile/0/x001/x234/067');
  assert.equal(tilePath(0, 1234067, 256), 'tile/0/x001/x234/067');
  assert.equal(tilePath(1, 5, 17), 'tile/1/005.p/17');
  assert.equal(tilePath(63, 0, 1), 'tile/63/000.p/1');
  assert.equal(entryBundlePath(0, 15), 'tile/entries/000.p/15');
  assert.equal(entryBundlePath(1234067), 'tile/entries/x001/x234/067');
  assert.throws(() => tilePath(64, 0), RangeError);
  assert.throws(() => tilePath(-1, 0), RangeError);
  assert.throws(() => tilePath(0, -1), RangeError);
  assert.throws(() => tilePath(0, 1.5), RangeError);
  assert.throws(() => tilePath(0, 0, 0), RangeError);
  assert.throws(() => tilePath(0, 0, 257), RangeError);
});

test('tile paths parse back, and only in canonical form', () => {
  for (const index of [0, 1, 999, 1000, 1001, 123456, 1234067, 2 ** 40 + 7]) {
    for (const width of [undefined, 1, 255, 256]) {
      const w = width ?? 256;
      assert.deepEqual(parseTilePath(tilePath(3, index, width)), { kind: 'hashes', level: 3, index, width: w });
      assert.deepEqual(parseTilePath(entryBundlePath(index, width)), { kind: 'entries', index, width: w });
    }
  }
  assert.deepEqual(parseTilePath('https://log.example/prefix/tile/0/x001/x234/067.p/8'),
    { kind: 'hashes', level: 0, index: 1234067, width: 8 });
  assert.deepEqual(parseTilePath('/tile/entries/000'), { kind: 'entries', index: 0, width: 256 });
  const bad = ['tile/0/1', 'tile/0/0000', 'tile/0/x000/001', 'tile/0/001/002', 'tile/0/x001', 'tile/00/000',
    'tile/64/000', 'tile/0/000.p/0', 'tile/0/000.p/256', 'tile/0/000.p/07', 'tile/0/000.p', 'tile/0/000.p/', 'tile/x/000',
    'tile/entries/', 'tiles/0/000', 'tile/0/x01/000', 'tile/0/000/'];
  for (const p of bad) assert.equal(parseTilePath(p), null, p);
});

test('entry bundles: uint16 big-endian length prefixes', () => {
  const entries = [Buffer.from('one'), Buffer.alloc(0), randomBytes(65535)];
  const b = encodeEntryBundle(entries);
  assert.deepEqual(b.subarray(0, 5), Buffer.from([0, 3, 0x6f, 0x6e, 0x65]));
  assert.equal(b.length, 2 + 3 + 2 + 2 + 65535);
  assert.deepEqual(decodeEntryBundle(b), entries);
  assert.deepEqual(decodeEntryBundle(Buffer.alloc(0)), []);
  assert.throws(() => encodeEntryBundle([Buffer.alloc(65536)]), RangeError);
  assert.throws(() => encodeEntryBundle(Array.from({ length: 257 }, () => Buffer.alloc(1))), RangeError);
  assert.throws(() => decodeEntryBundle(b.subarray(0, b.length - 1)), RangeError);
  assert.throws(() => decodeEntryBundle(Buffer.from([0])), RangeError);
  assert.throws(() => decodeEntryBundle(Buffer.alloc(2 * 257)), RangeError);
  const full = encodeEntryBundle(Array.from({ length: 256 }, (_, i) => Buffer.from(String(i))));
  assert.equal(decodeEntryBundle(full).length, 256);
});

test('tile widths follow the tlog-tiles examples', () => {
  const count = (size: number) => {
    const tiles = tilesForSize(size);
    return tiles.map((t) => `${t.level}:${t.width}`).reduce<Record<string, number>>((acc, k) => ({ ...acc, [k]: (acc[k] ?? 0) + 1 }), {});
  };
  // Size 70,000: 273 full level-0 tiles, one of width 112; a full level-1 tile and one of width 17; one level-2 of width 1.
  assert.deepEqual(count(70_000), { '0:256': 273, '0:112': 1, '1:256': 1, '1:17': 1, '2:1': 1 });
  assert.deepEqual(count(256), { '0:256': 1, '1:1': 1 });
  assert.deepEqual(tilesForSize(0), []);
  assert.equal(tileWidth(0, 273, 70_000), 112);
  assert.equal(tileWidth(0, 274, 70_000), 0);
  assert.equal(tileWidth(1, 1, 70_000), 17);
});

test('hash tiles: level-1 hashes are the roots of full level-0 tiles', () => {
  const n = 256 * 3 + 5;
  const leaves = Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`e${i}`)));
  const levels = new MerkleTreeLevels(leaves);
  const t0 = readHashTile(levels, 0, 0, n);
  assert.deepEqual(t0, hashTile(leaves.slice(0, 256)));
  assert.deepEqual(splitHashTile(t0), leaves.slice(0, 256));
  const partial = readHashTile(levels, 0, 3, n);
  assert.equal(partial.length, 5 * 32);
  const t1 = readHashTile(levels, 1, 0, n);
  assert.equal(t1.length, 3 * 32);
  splitHashTile(t1).forEach((h, i) => {
    assert.deepEqual(h, rootFromLeafHashes(splitHashTile(readHashTile(levels, 0, i, n))));
  });
  assert.throws(() => readHashTile(levels, 0, 4, n), RangeError);
  assert.throws(() => hashTile([]), RangeError);
  assert.throws(() => hashTile([Buffer.alloc(31)]), TypeError);
  assert.throws(() => splitHashTile(Buffer.alloc(33)), RangeError);
});

if (!existsSync(tesseraDir)) {
  test('Tessera test log', { skip: `test vectors absent (${tesseraDir})` }, () => {});
} else {
  test('Tessera test log: checkpoints, entry bundles, level-0 tiles, proofs', () => {
    const verifier = parseVerifierKey(TESSERA_KEY);
    const checkpoints = readdirSync(tesseraDir).filter((f) => /^checkpoint\.\d+$/.test(f));
    assert.equal(checkpoints.length, 16);

    // The largest bundle holds every entry; every partial bundle is a prefix of it.
    const all = decodeEntryBundle(readFileSync(path.join(tesseraDir, entryBundlePath(0, 15))));
    assert.deepEqual(all.map((e) => e.toString()), WORDS);
    const leaves = all.map(leafHash);
    const levels = new MerkleTreeLevels(leaves);
    const cr = new CompactRange();

    const roots: Buffer[] = [];
    for (let size = 0; size <= 15; size++) {
      const cp = openCheckpoint(readFileSync(path.join(tesseraDir, `checkpoint.${size}`)), [verifier], 'example.com/log/testdata');
      assert.equal(cp.size, size);
      assert.deepEqual(cp.rootHash, levels.root(size), `root at ${size}`);
      assert.deepEqual(cp.rootHash, cr.root(), `compact range root at ${size}`);
      if (size === 0) assert.deepEqual(cp.rootHash, EMPTY_ROOT);
      roots.push(cp.rootHash);
      if (size > 0) {
        const bundle = readFileSync(path.join(tesseraDir, entryBundlePath(0, size)));
        assert.deepEqual(bundle, encodeEntryBundle(all.slice(0, size)), `bundle ${size}`);
        const tile = readFileSync(path.join(tesseraDir, tilePath(0, 0, size)));
        assert.deepEqual(readHashTile(levels, 0, 0, size), tile, `level-0 tile ${size}`);
        assert.deepEqual(parseTilePath(tilePath(0, 0, size)), { kind: 'hashes', level: 0, index: 0, width: size });
      }
      if (size < 15) cr.append(leaves[size]);
    }
    const latest = openCheckpoint(readFileSync(path.join(tesseraDir, 'checkpoint')), verifier);
    assert.equal(latest.size, 15);

    for (let m = 1; m <= 15; m++) {
      for (let n = m; n <= 15; n++) {
        assert.ok(verifyConsistency(m, n, levels.consistencyProof(m, n), roots[m], roots[n]), `consistency ${m} -> ${n}`);
      }
      for (let i = 0; i < m; i++) {
        assert.ok(verifyInclusion(leaves[i], i, m, levels.inclusionProof(i, m), roots[m]), `inclusion ${i} in ${m}`);
      }
    }
    // A checkpoint whose signature is not the log's does not open.
    const cp15 = readFileSync(path.join(tesseraDir, 'checkpoint.15'), 'utf8');
    assert.throws(() => openCheckpoint(cp15.replace('\n15\n', '\n14\n'), verifier));
  });
}
