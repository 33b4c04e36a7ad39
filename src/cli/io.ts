// Output channel of a CLI command: the terminal when run locally, the admin socket when the
// command runs inside the server on the CLI's behalf.
export interface Io {
  line(text: string): void;
  progress(done: number, total: number, label: string): void;
}

export class CliError extends Error {}
