// The numbered-jobs helper shared by the import pool, the argon2 pool and the access log's append thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerJobs } from '../../src/core/worker-jobs.ts';

const url = new URL('../fixtures/echo-worker.mjs', import.meta.url);

test('jobs settle with their own replies; messages without a job id go aside; transferred buffers leave', async () => {
  const reports: unknown[] = [];
  const jobs = new WorkerJobs(url, {}, 'stopped', { other: (m) => reports.push(m) });
  const buf = new Uint8Array(32).buffer;
  const replies = await Promise.all([1, 2, 3].map((v) => jobs.send<{ echo: number }>({ value: v })));
  assert.deepEqual(replies.map((r) => r.echo), [1, 2, 3]);
  assert.equal((await jobs.send<{ bytes: number }>({ buf }, [buf])).bytes, 32);
  assert.equal(buf.byteLength, 0, 'transferred, not copied');
  await jobs.send({ op: 'report' });
  assert.deepEqual(reports, [{ report: 'hello' }]);
  assert.equal(jobs.busy, 0);
  await jobs.terminate();
  await assert.rejects(jobs.send({ value: 4 }), /stopped/);
});

test('a worker that dies fails every pending job and says it is gone, once', async () => {
  let gone = 0;
  const jobs = new WorkerJobs(url, {}, 'worker stopped', { gone: () => { gone++; } });
  const pending = jobs.send({ op: 'die' });
  await assert.rejects(pending, /worker stopped/);
  assert.equal(gone, 1);
  assert.equal(jobs.alive, false);
  await assert.rejects(jobs.send({ value: 1 }), /worker stopped/);
});
