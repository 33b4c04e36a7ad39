// Shape of a CLI command: its options (node:util parseArgs) and what it runs.
import type { Services } from '../detect/services.ts';
import type { Io } from './io.ts';

export type Handler = (svc: Services, positionals: string[], values: Record<string, string | boolean | undefined>, io: Io) => Promise<void>;
export type CommandTable = Record<string, { options: Record<string, { type: 'string' | 'boolean' }>; run: Handler; usage?: string }>;
