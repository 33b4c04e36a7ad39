// French social security number (NIR): 13 characters + a 2-digit key = 97 - (body mod 97),
// with Corsica's 2A/2B read as 19/18 before the computation. Validation is lenient on
// content (temporary numbers, odd months exist): only format and key are checked, and
// nothing in business logic may infer sex or age from a NIR.

export const INS_OID = {
  NIR: '1.2.250.1.213.1.4.8',
  NIA: '1.2.250.1.213.1.4.9',
  TEST: '1.2.250.1.213.1.4.10',
  DEMO: '1.2.250.1.213.1.4.11',
} as const;

const BODY = /^[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{6}$/;

function bodyAsNumber(body: string): bigint {
  const corsica = body.slice(5, 7);
  const digits = corsica === '2A' ? body.slice(0, 5) + '19' + body.slice(7) : corsica === '2B' ? body.slice(0, 5) + '18' + body.slice(7) : body;
  return BigInt(digits);
}

/** The 2-digit key of a 13-character NIR body, or null when the body is malformed. */
export function nirKey(body: string): string | null {
  const b = body.toUpperCase();
  if (!BODY.test(b)) return null;
  const key = 97n - (bodyAsNumber(b) % 97n);
  return key.toString().padStart(2, '0');
}

/** Strips spaces, dots and dashes and upper-cases; returns the 15-character NIR or null if invalid. */
export function normalizeNir(input: string): string | null {
  const s = input.replace(/[\s.-]/g, '').toUpperCase();
  if (s.length !== 15) return null;
  const body = s.slice(0, 13);
  const key = s.slice(13);
  if (!/^[0-9]{2}$/.test(key)) return null;
  return nirKey(body) === key ? s : null;
}

export function isValidNir(input: string): boolean {
  return normalizeNir(input) !== null;
}
