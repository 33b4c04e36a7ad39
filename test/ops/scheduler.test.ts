// One scheduler starts every background job of the server and stops them in reverse order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, serverJobs } from '../../src/ops/scheduler.ts';
import { testEnv } from '../helpers.ts';

test('jobs start in order and stop in reverse', async () => {
  const seen: string[] = [];
  const job = (name: string) => ({ name, start: async () => { seen.push(`start ${name}`); return () => { seen.push(`stop ${name}`); }; } });
  const s = new Scheduler([job('a'), job('b'), job('c')]);
  await s.start();
  assert.deepEqual(s.running, ['a', 'b', 'c']);
  await s.stop();
  assert.deepEqual(seen, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  assert.deepEqual(s.running, []);
});

test("the server's jobs: access log, key rotations, retention, export purger", async () => {
  const env = await testEnv();
  try {
    const s = new Scheduler(serverJobs(env.services, () => {}));
    await s.start();
    assert.deepEqual(s.running, ['access-log', 'key-rotations', 'retention', 'export-purger']);
    await s.stop();
  } finally { await env.close(); }
});
