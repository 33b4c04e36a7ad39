// Errors as FHIR OperationOutcomes. Rule: nothing that came from the request or from an unexpected
// exception (err.message, stack, SQL text…) ever reaches a response — only the fixed texts below, or
// diagnostics produced by code that guarantees they carry no submitted value (see validate.ts).

import type { Bundle, BundleEntry, BundleLink, Meta, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { IssueCode, ValidationIssue } from './validate.ts';

export class FhirError extends Error {
  readonly status: number;
  readonly issues: ValidationIssue[];

  /** `cause` (e.g. the driver error behind a 503) is kept for server-side logging; it never reaches a response. */
  constructor(status: number, issues: ValidationIssue[], options?: { cause?: unknown }) {
    // The message is the first diagnostics (value-free by construction), so logging err.message is safe.
    super(issues[0]?.diagnostics ?? `HTTP ${status}`, options);
    this.name = 'FhirError';
    this.status = status;
    this.issues = issues;
  }

  // The helpers below are also reachable as FhirError.badRequest(…) etc.
  static badRequest(diagnostics: string, expression?: string | string[]): FhirError {
    return badRequest(diagnostics, expression);
  }
  static notFound(type: string, id: string): FhirError {
    return notFound(type, id);
  }
  static notFoundType(type: string): FhirError {
    return notFoundType(type);
  }
  static gone(type: string, id: string): FhirError {
    return gone(type, id);
  }
  static conflict(diagnostics: string): FhirError {
    return conflict(diagnostics);
  }
  static preconditionFailed(diagnostics: string): FhirError {
    return preconditionFailed(diagnostics);
  }
  static unauthorized(): FhirError {
    return unauthorized();
  }
  static forbidden(diagnostics: string): FhirError {
    return forbidden(diagnostics);
  }
  static unprocessable(issues: ValidationIssue[]): FhirError {
    return unprocessable(issues);
  }
  static serviceUnavailable(diagnostics: string, cause?: unknown): FhirError {
    return serviceUnavailable(diagnostics, cause);
  }
  static tooManyRequests(): FhirError {
    return tooManyRequests();
  }
  /** The principal's patient-release budget is spent: 429, and the credential is suspended. */
  static budgetSpent(limit: number): FhirError {
    return new FhirError(429, [{ severity: 'error', code: 'throttled', diagnostics: `release budget spent: this credential has received ${limit} patients without a care relationship; it is suspended until an administrator restores it` }]);
  }
}

function err(status: number, code: IssueCode, diagnostics: string, expression?: string | string[]): FhirError {
  const issue: ValidationIssue = { severity: 'error', code, diagnostics };
  if (expression !== undefined) {
    issue.expression = Array.isArray(expression) ? expression : [expression];
  }
  return new FhirError(status, [issue]);
}

/** 400 — malformed request (bad parameter, bad header…). */
export function badRequest(diagnostics: string, expression?: string | string[]): FhirError {
  return err(400, 'invalid', diagnostics, expression);
}

/** 404 — `Patient/abc not found` (ids are server-side identifiers, not patient data). */
export function notFound(type: string, id: string): FhirError {
  return err(404, 'not-found', `${type}/${id} not found`);
}

/** 404 — unknown or unsupported resource type in the URL (named only if it looks like a type name). */
export function notFoundType(type: string): FhirError {
  return err(404, 'not-supported', /^[A-Z][A-Za-z]{0,63}$/.test(type) ? `Resource type ${type} is not supported` : 'Resource type not supported');
}

/** 410 — the resource existed and has been deleted. */
export function gone(type: string, id: string): FhirError {
  return err(410, 'deleted', `${type}/${id} has been deleted`);
}

/** 409 — e.g. a concurrent update, a duplicate. */
export function conflict(diagnostics: string): FhirError {
  return err(409, 'conflict', diagnostics);
}

/** 412 — If-Match version mismatch. */
export function preconditionFailed(diagnostics: string): FhirError {
  return err(412, 'conflict', diagnostics);
}

/** 401 — no or invalid credentials (never says which). */
export function unauthorized(): FhirError {
  return err(401, 'login', 'Authentication required');
}

/** 403 — authenticated but not allowed. */
export function forbidden(diagnostics: string): FhirError {
  return err(403, 'forbidden', diagnostics);
}

/** 422 — the resource failed validation; `issues` as returned by validateResource(). */
export function unprocessable(issues: ValidationIssue[]): FhirError {
  return new FhirError(
    422,
    issues.length ? issues : [{ severity: 'error', code: 'invalid', diagnostics: 'Resource failed validation' }],
  );
}

/** 503 — fail closed: key provider, audit log or database unavailable. `cause` is for logs only. */
export function serviceUnavailable(diagnostics: string, cause?: unknown): FhirError {
  return new FhirError(503, [{ severity: 'error', code: 'transient', diagnostics }], cause === undefined ? undefined : { cause });
}

/** 429 */
export function tooManyRequests(): FhirError {
  return err(429, 'throttled', 'Too many requests');
}

type OutcomeIssueInput = Omit<ValidationIssue, 'severity'> & { severity: 'fatal' | 'error' | 'warning' | 'information' };

export function operationOutcome(issues: readonly OutcomeIssueInput[]): OperationOutcome {
  if (!issues.length) {
    return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: 'All OK' }] };
  }
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((i) => {
      const issue: OperationOutcome['issue'][number] = { severity: i.severity, code: i.code, diagnostics: i.diagnostics };
      if (i.expression?.length) {
        issue.expression = [...i.expression];
      }
      return issue;
    }),
  };
}

// Generic texts for the 4xx errors raised by Fastify and its plugins (JSON parse errors, content type, body
// size, rate limit…): their messages can quote the body, so only the status is kept.
const CLIENT_ERRORS: Record<number, { code: IssueCode; diagnostics: string }> = {
  400: { code: 'invalid', diagnostics: 'Invalid request' },
  401: { code: 'login', diagnostics: 'Authentication required' },
  403: { code: 'forbidden', diagnostics: 'Forbidden' },
  404: { code: 'not-found', diagnostics: 'Not found' },
  405: { code: 'not-supported', diagnostics: 'Method not allowed' },
  406: { code: 'not-supported', diagnostics: 'Not acceptable' },
  408: { code: 'timeout', diagnostics: 'Request timeout' },
  409: { code: 'conflict', diagnostics: 'Conflict' },
  411: { code: 'invalid', diagnostics: 'Length required' },
  412: { code: 'conflict', diagnostics: 'Precondition failed' },
  413: { code: 'too-long', diagnostics: 'Request body too large' },
  414: { code: 'too-long', diagnostics: 'URI too long' },
  415: { code: 'not-supported', diagnostics: 'Unsupported media type' },
  422: { code: 'invalid', diagnostics: 'Unprocessable content' },
  429: { code: 'throttled', diagnostics: 'Too many requests' },
  431: { code: 'too-long', diagnostics: 'Request header fields too large' },
};

const FASTIFY_CODES: Record<string, number> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 415,
  FST_ERR_CTP_BODY_TOO_LARGE: 413,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 400,
  FST_ERR_CTP_EMPTY_JSON_BODY: 400,
  FST_ERR_CTP_INVALID_JSON_BODY: 400,
  FST_ERR_CTP_EMPTY_TYPE: 400,
  FST_ERR_CTP_INVALID_TYPE: 400,
  FST_ERR_VALIDATION: 400,
};

function clientStatus(e: unknown): number | undefined {
  if (!e || typeof e !== 'object') {
    return undefined;
  }
  const { code, statusCode, status } = e as { code?: unknown; statusCode?: unknown; status?: unknown };
  if (typeof code === 'string' && code in FASTIFY_CODES) {
    return FASTIFY_CODES[code];
  }
  const s = typeof statusCode === 'number' ? statusCode : typeof status === 'number' ? status : undefined;
  return s !== undefined && Number.isInteger(s) && s >= 400 && s <= 499 ? s : undefined;
}

/**
 * Any thrown value → HTTP status + OperationOutcome. FhirError keeps its status and issues; a Fastify/plugin
 * client error keeps its status with a generic text; everything else is a 500 "Internal error" (the error's
 * message and stack are never included — log them, with care, elsewhere).
 */
export function errorToOutcome(e: unknown): { status: number; outcome: OperationOutcome } {
  if (e instanceof FhirError) {
    return { status: e.status, outcome: operationOutcome(e.issues) };
  }
  const status = clientStatus(e);
  if (status !== undefined) {
    const known = CLIENT_ERRORS[status] ?? { code: 'invalid' as const, diagnostics: 'Invalid request' };
    return { status, outcome: operationOutcome([{ severity: 'error', ...known }]) };
  }
  return { status: 500, outcome: operationOutcome([{ severity: 'error', code: 'exception', diagnostics: 'Internal error' }]) };
}

export type BundleType = 'searchset' | 'history' | 'batch-response' | 'transaction-response';

export interface BundleExtra {
  id?: string;
  meta?: Meta;
  timestamp?: string;
  total?: number;
  link?: BundleLink[];
}

/** A Bundle entry; `search.mode` may be given as a plain string ('match' | 'include' | 'outcome'). */
export type BundleEntryInput<T extends Resource = Resource> = Omit<BundleEntry<T>, 'search'> & {
  search?: { mode?: string; score?: number };
};

/** A Bundle of the given type; `entry` is omitted when empty (FHIR JSON forbids empty arrays). */
export function bundle<T extends Resource = Resource>(
  type: BundleType,
  entries: BundleEntryInput<T>[],
  extra: BundleExtra = {},
): Bundle<T> {
  // Built in the order of the FHIR JSON serialisation.
  const b = { resourceType: 'Bundle' } as Bundle<T>;
  if (extra.id !== undefined) {
    b.id = extra.id;
  }
  if (extra.meta !== undefined) {
    b.meta = extra.meta;
  }
  b.type = type;
  if (extra.timestamp !== undefined) {
    b.timestamp = extra.timestamp;
  }
  if (extra.total !== undefined) {
    b.total = extra.total;
  }
  if (extra.link?.length) {
    b.link = extra.link;
  }
  if (entries.length) {
    b.entry = entries as BundleEntry<T>[];
  }
  return b;
}
