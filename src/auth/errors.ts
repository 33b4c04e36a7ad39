// Errors of authentication whose message is safe to return to the client as is (service.ts, clients.ts).

/** An error whose message is safe to return to the client as is. */
export class AuthError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly retryAfter?: number) { super(message); }
}
