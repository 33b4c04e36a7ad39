// RFC 9162 proof verification (inclusion, consistency, subtrees): never throws, a malformed input fails.
import { isSize, half, isOdd, trailingZeros, ceilLog2, isHash, isProof, equalBytes, isValidSubtree } from './merkle-bits.ts';

export { isValidSubtree };
import { EMPTY_ROOT, nodeHash } from './merkle.ts';

// ---------------------------------------------------------------------------------------------
// Verification, RFC 9162 §2.1.3.2 and §2.1.4.2.

/** RFC 9162 §2.1.3.2. False on any malformed input (wrong lengths, index ≥ size, unsafe integers). */
export function verifyInclusion(leaf: Buffer, index: number, size: number, proof: readonly Buffer[], root: Buffer): boolean {
  const r = rootFromInclusionProof(leaf, index, size, proof);
  return r !== null && equalBytes(r, root);
}

/** The root implied by an inclusion proof, or null if the proof is malformed. */
export function rootFromInclusionProof(leaf: Buffer, index: number, size: number, proof: readonly Buffer[]): Buffer | null {
  if (!isSize(index) || !isSize(size) || index >= size) return null;
  if (!isHash(leaf) || !isProof(proof)) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : null;
}

/**
 * RFC 9162 §2.1.4.2. Consistency from size 0 is rejected (an error, not a proof); equal sizes need
 * an empty proof and equal roots; otherwise the proof length must be exact.
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Buffer[], root1: Buffer, root2: Buffer): boolean {
  if (!isSize(size1) || !isSize(size2) || !Array.isArray(proof)) return false;
  if (size1 === 0 || size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
  if (proof.length === 0 || !isProof(proof) || !isHash(root1) || !isHash(root2)) return false;
  const path = 2 ** trailingZeros(size1) === size1 ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) { fn = half(fn); sn = half(sn); }
  let fr = path[0];
  let sr = path[0];
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && fr.equals(root1) && sr.equals(root2);
}

// ---------------------------------------------------------------------------------------------
// Subtree proofs (Merkle Tree Certificates; test vectors from transparency-dev/merkle). A subtree
// [start, end) is valid when start ≤ end and start is a multiple of the smallest power of two
// ≥ end − start (so it sits under one node of any tree that contains it).

/** Inclusion of leaf `index` in the subtree [start, end) whose hash is `subtreeRoot`. */
export function verifySubtreeInclusion(
  leaf: Buffer, index: number, start: number, end: number, proof: readonly Buffer[], subtreeRoot: Buffer,
): boolean {
  if (!isValidSubtree(start, end) || index < start || index >= end) return false;
  return verifyInclusion(leaf, index - start, end - start, proof, subtreeRoot);
}

/**
 * The subtree [start, end) with hash `subtreeRoot` is part of the tree of `size` leaves with hash
 * `root`. Generalises §2.1.4.2: the walk starts at the rightmost perfect node of the subtree (given
 * as the first proof hash unless the subtree is itself a node of the tree) and only left siblings
 * below the subtree's height rebuild `subtreeRoot`. An empty subtree is consistent with any tree,
 * with an empty proof and the empty root.
 */
export function verifySubtreeConsistency(
  start: number, end: number, size: number, proof: readonly Buffer[], subtreeRoot: Buffer, root: Buffer,
): boolean {
  if (!isValidSubtree(start, end) || !isSize(size) || end > size || !Array.isArray(proof)) return false;
  if (start === end) return proof.length === 0 && equalBytes(subtreeRoot, EMPTY_ROOT);
  // The whole tree: like equal sizes in §2.1.4.2, an empty proof and the same root.
  if (start === 0 && end === size) return proof.length === 0 && equalBytes(subtreeRoot, root);
  if (!isProof(proof) || !isHash(subtreeRoot) || !isHash(root)) return false;
  const h = ceilLog2(end - start);
  const isNode = end - start === 2 ** h || end === size;
  let level: number;
  let path: readonly Buffer[];
  if (isNode) {
    level = h;
    path = [subtreeRoot, ...proof];
  } else {
    if (proof.length === 0) return false;
    level = trailingZeros(end - start);
    path = proof;
  }
  let fn = Math.floor((end - 1) / 2 ** level);
  let sn = Math.floor((size - 1) / 2 ** level);
  let fr = path[0];
  let sr = path[0];
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      // A last node without a right sibling is promoted until it becomes a right child.
      while (!isOdd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); level++; }
      if (level < h) fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
    level++;
  }
  return sn === 0 && fr.equals(subtreeRoot) && sr.equals(root);
}
