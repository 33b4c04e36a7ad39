// `npm run bench:merkle`: Merkle log figures (append rate, proof time in a 1,000,000-leaf tree).
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { CompactRange, MerkleTreeLevels } from '../src/audit/merkle/merkle.ts';
import { verifyInclusion, verifyConsistency } from '../src/audit/merkle/merkle-verify.ts';

{
  const N = 1_000_000;
  const pool = randomBytes(N * 32);
  const leaves = Array.from({ length: N }, (_, i) => pool.subarray(i * 32, i * 32 + 32));

  const cr = new CompactRange();
  let t = performance.now();
  for (let i = 0; i < 200_000; i++) cr.append(leaves[i]);
  const appendMs = performance.now() - t;
  const cr2 = new CompactRange();
  t = performance.now();
  for (let i = 0; i < 50_000; i++) { cr2.append(leaves[i]); cr2.root(); }
  const appendRootMs = performance.now() - t;

  t = performance.now();
  const levels = new MerkleTreeLevels(leaves);
  const buildMs = performance.now() - t;
  const root = levels.root();

  const samples: number[] = [];
  for (let k = 0; k < 200; k++) {
    const i = Math.floor(Math.random() * N);
    const t0 = performance.now();
    const p = levels.inclusionProof(i);
    samples.push(performance.now() - t0);
    if (k < 20) assert.ok(verifyInclusion(leaves[i], i, N, p, root));
  }
  samples.sort((a, b) => a - b);
  const median = samples[100];
  const p99 = samples[198];
  const cons: number[] = [];
  for (let k = 0; k < 100; k++) {
    const m = 1 + Math.floor(Math.random() * (N - 1));
    const t0 = performance.now();
    const p = levels.consistencyProof(m);
    cons.push(performance.now() - t0);
    if (k < 10) assert.ok(verifyConsistency(m, N, p, levels.root(m), root));
  }
  cons.sort((a, b) => a - b);
  console.log(`CompactRange: ${Math.round(200_000 / (appendMs / 1000))} appends/s; ` +
    `${Math.round(50_000 / (appendRootMs / 1000))} appends+root/s`);
  console.log(`MerkleTreeLevels(1e6): built in ${buildMs.toFixed(0)} ms; inclusion proof median ` +
    `${(median * 1000).toFixed(0)} µs, p99 ${(p99 * 1000).toFixed(0)} µs; consistency proof median ${(cons[50] * 1000).toFixed(0)} µs`);
}
