// Where a long operation reports: the terminal when the CLI runs it, the admin socket when the server runs
// it on the CLI's behalf, nothing in tests.
export interface Progress {
  line(text: string): void;
  progress(done: number, total: number, label: string): void;
}
