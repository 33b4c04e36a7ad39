// Bootstrap of the validation worker: registers the TypeScript loader, then loads the worker.
import { register } from 'tsx/esm/api';

register();
await import('./validate-worker.ts');
