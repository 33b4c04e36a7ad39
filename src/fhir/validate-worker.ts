// Worker thread of the validation pool: validates resources sent by the main thread.
import { parentPort } from 'node:worker_threads';
import { loadFhirDefinitions, validateResource } from './validate.ts';

loadFhirDefinitions();
parentPort!.on('message', (m: { id: number; resources: unknown[] }) => {
  parentPort!.postMessage({ id: m.id, issues: m.resources.map((r) => validateResource(r)) });
});
