// Output channel of a CLI command: the terminal when run locally, the admin socket when the
// command runs inside the server on the CLI's behalf.
import type { Progress } from '../core/progress.ts';

export type Io = Progress;

export class CliError extends Error {}
