// Bootstrap of the access log's append worker: registers the TypeScript loader, then loads the worker.
import { register } from 'tsx/esm/api';

register();
await import('./append-worker.ts');
