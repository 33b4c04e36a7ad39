// Bootstrap of the import worker: registers the TypeScript loader, then loads the worker.
import { register } from 'tsx/esm/api';

register();
await import('./import-worker.ts');
