// Blind indexes: keyed HMAC tokens over normalised values, under per-(type, parameter) subkeys of
// the tenant's index key (never the encryption key). Tokens are full 64-bit: they reveal equality
// only, and a lookup needs no post-filtering. Dates become bucket tokens (year, month, day) so that
// ranges are answered by enumerating buckets, never by an order-revealing encoding.
import { CryptoError, hkdfSha256, type HmacSha256Key } from './aead.ts';
import { daysInMonth, type NormalizedDate } from './normalize.ts';

const EMPTY = Buffer.alloc(0);

/** Subkey for one search parameter of one resource type. Deterministic: callers cache it. */
export function indexSubkey(tenantIndexKey: Buffer, resourceType: string, param: string): Buffer {
  if (!Buffer.isBuffer(tenantIndexKey) || tenantIndexKey.length !== 32) throw new CryptoError('index key must be 256 bits');
  return hkdfSha256(tenantIndexKey, EMPTY, `cerbere/v1/idx/${resourceType}/${param}`, 32);
}

/** First 8 bytes of HMAC-SHA-256(subkey, value) as a signed 64-bit integer (PostgreSQL bigint); the subkey
 *  comes prepared from TenantKeys.tokenKeysFor(). */
export function blindToken(subkey: HmacSha256Key, normalizedValue: string): bigint {
  return BigInt.asIntN(64, BigInt('0x' + subkey.hex(normalizedValue).slice(0, 16)));
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');
const yearBucket = (y: number) => `Y:${pad(y, 4)}`;
const monthBucket = (y: number, m: number) => `M:${pad(y, 4)}-${pad(m, 2)}`;
const dayBucket = (y: number, m: number, d: number) => `D:${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;

/** Buckets stored for a date: its year, plus its month and day when known. */
export function dateBucketValues(d: NormalizedDate): string[] {
  const out = [yearBucket(d.year)];
  if (d.precision === 'year' || d.month === undefined) return out;
  out.push(monthBucket(d.year, d.month));
  if (d.precision === 'month' || d.day === undefined) return out;
  out.push(dayBucket(d.year, d.month, d.day));
  return out;
}

interface Ymd { y: number; m: number; d: number }
const ord = (a: Ymd) => a.y * 10_000 + a.m * 100 + a.d; // sortable, not a day count
function nextDay({ y, m, d }: Ymd): Ymd {
  if (d < daysInMonth(y, m)) return { y, m, d: d + 1 };
  return m < 12 ? { y, m: m + 1, d: 1 } : { y: y + 1, m: 1, d: 1 };
}
function prevDay({ y, m, d }: Ymd): Ymd {
  if (d > 1) return { y, m, d: d - 1 };
  return m > 1 ? { y, m: m - 1, d: daysInMonth(y, m - 1) } : { y: y - 1, m: 12, d: 31 };
}
// First and last day of the period a (possibly partial) date denotes.
function firstDay(v: NormalizedDate): Ymd {
  return { y: v.year, m: v.month ?? 1, d: v.precision === 'day' ? v.day ?? 1 : 1 };
}
function lastDay(v: NormalizedDate): Ymd {
  const m = v.precision === 'year' ? 12 : v.month ?? 12;
  return { y: v.year, m, d: v.precision === 'day' ? v.day ?? 1 : daysInMonth(v.year, m) };
}

// Greedy cover of [from, to] by the largest aligned bucket that fits: minimal because buckets nest.
function cover(from: Ymd, to: Ymd): string[] {
  const out: string[] = [];
  let c = from;
  const end = ord(to);
  while (ord(c) <= end) {
    if (c.m === 1 && c.d === 1 && ord({ y: c.y, m: 12, d: 31 }) <= end) {
      out.push(yearBucket(c.y));
      c = { y: c.y + 1, m: 1, d: 1 };
    } else if (c.d === 1 && ord({ y: c.y, m: c.m, d: daysInMonth(c.y, c.m) }) <= end) {
      out.push(monthBucket(c.y, c.m));
      c = c.m < 12 ? { y: c.y, m: c.m + 1, d: 1 } : { y: c.y + 1, m: 1, d: 1 };
    } else {
      out.push(dayBucket(c.y, c.m, c.d));
      c = nextDay(c);
    }
  }
  return out;
}

/**
 * Minimal set of buckets whose union is exactly the days matching `prefix value` (FHIR: ge/le
 * include the whole period of a partial date, gt/lt exclude it). Ranges are clipped to
 * [minYear-01-01, maxYear-12-31], so stored dates outside those years only match `eq`.
 *
 * Precision caveat: a stored value only has buckets down to its own precision. A query therefore
 * matches a stored month- or year-precision value only when the query covers that whole month or
 * year: day-precision queries match stored day-precision values ("eq 1985-03-12" does not find a
 * stored "1985-03"; "ge 1985-03-12" finds a stored "1985-04" but not "1985-03"), while "eq 1985"
 * finds every stored date in 1985 whatever its precision.
 */
export function dateRangeBuckets(prefix: 'eq' | 'ge' | 'gt' | 'le' | 'lt', value: NormalizedDate, minYear = 1900, maxYear = 2100): string[] {
  if (prefix === 'eq') return dateBucketValues(value).slice(-1);
  const min: Ymd = { y: minYear, m: 1, d: 1 };
  const max: Ymd = { y: maxYear, m: 12, d: 31 };
  let from = min;
  let to = max;
  if (prefix === 'ge') from = firstDay(value);
  else if (prefix === 'gt') from = nextDay(lastDay(value));
  else if (prefix === 'le') to = lastDay(value);
  else if (prefix === 'lt') to = prevDay(firstDay(value));
  else throw new RangeError(`unsupported date prefix ${String(prefix)}`);
  if (ord(from) < ord(min)) from = min;
  if (ord(to) > ord(max)) to = max;
  return cover(from, to);
}
