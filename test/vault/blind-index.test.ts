import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CryptoError, hkdfSha256, hmacSha256, HmacSha256Key } from '../../src/vault/aead.ts';
import { blindToken, dateBucketValues, dateRangeBuckets, indexSubkey } from '../../src/vault/blind-index.ts';
import { daysInMonth, normalizeDate, type NormalizedDate } from '../../src/vault/normalize.ts';

const idxKey = randomBytes(32);

test('indexSubkey is HKDF(index key, empty salt, cerbere/v1/idx/<type>/<param>)', () => {
  const k = indexSubkey(idxKey, 'Patient', 'family');
  assert.equal(k.length, 32);
  assert.deepEqual(k, hkdfSha256(idxKey, Buffer.alloc(0), 'cerbere/v1/idx/Patient/family', 32));
  assert.deepEqual(indexSubkey(idxKey, 'Patient', 'family'), k);
  assert.notDeepEqual(indexSubkey(idxKey, 'Patient', 'given'), k);
  assert.notDeepEqual(indexSubkey(idxKey, 'Practitioner', 'family'), k);
  assert.notDeepEqual(indexSubkey(randomBytes(32), 'Patient', 'family'), k);
  assert.throws(() => indexSubkey(randomBytes(16), 'Patient', 'family'), CryptoError);
});

test('blindToken is the first 8 bytes of HMAC-SHA-256 as a signed big-endian int64', () => {
  const raw = indexSubkey(idxKey, 'Patient', 'family');
  const sub = new HmacSha256Key(raw);
  const t = blindToken(sub, 'le gall');
  assert.equal(typeof t, 'bigint');
  assert.equal(t, hmacSha256(raw, 'le gall').readBigInt64BE(0));
  assert.equal(blindToken(sub, 'le gall'), t);
  assert.notEqual(blindToken(sub, 'le galle'), t);
  assert.notEqual(blindToken(new HmacSha256Key(indexSubkey(idxKey, 'Patient', 'given')), 'le gall'), t);
  // Fixed vector: key 32 × 0x00, value "abc".
  const fixed = hmacSha256(Buffer.alloc(32), 'abc');
  assert.equal(blindToken(new HmacSha256Key(Buffer.alloc(32)), 'abc'), BigInt.asIntN(64, BigInt('0x' + fixed.subarray(0, 8).toString('hex'))));
  // Both signs occur and every token fits PostgreSQL bigint.
  let neg = 0;
  for (let i = 0; i < 200; i++) {
    const v = blindToken(sub, String(i));
    assert.ok(v >= -(2n ** 63n) && v < 2n ** 63n);
    if (v < 0n) neg++;
  }
  assert.ok(neg > 50 && neg < 150, `negative tokens: ${neg}`);
});

test('dateBucketValues: one bucket per known level', () => {
  assert.deepEqual(dateBucketValues(normalizeDate('1985-03-12')!), ['Y:1985', 'M:1985-03', 'D:1985-03-12']);
  assert.deepEqual(dateBucketValues(normalizeDate('1985-03')!), ['Y:1985', 'M:1985-03']);
  assert.deepEqual(dateBucketValues(normalizeDate('1985')!), ['Y:1985']);
  assert.deepEqual(dateBucketValues(normalizeDate('0985-01-02')!), ['Y:0985', 'M:0985-01', 'D:0985-01-02']);
});

test('dateRangeBuckets: documented examples', () => {
  const ge = dateRangeBuckets('ge', normalizeDate('1985-03-12')!);
  const expected = [
    ...Array.from({ length: 20 }, (_, i) => `D:1985-03-${String(12 + i).padStart(2, '0')}`),
    ...Array.from({ length: 9 }, (_, i) => `M:1985-${String(4 + i).padStart(2, '0')}`),
    ...Array.from({ length: 115 }, (_, i) => `Y:${1986 + i}`),
  ];
  assert.deepEqual(ge, expected);
  assert.deepEqual(dateRangeBuckets('eq', normalizeDate('1985-03')!), ['M:1985-03']);
  assert.deepEqual(dateRangeBuckets('eq', normalizeDate('1985-03-12')!), ['D:1985-03-12']);
  assert.deepEqual(dateRangeBuckets('eq', normalizeDate('1985')!), ['Y:1985']);
  assert.deepEqual(dateRangeBuckets('gt', normalizeDate('1985-03')!, 1900, 1986), ['M:1985-04', 'M:1985-05', 'M:1985-06', 'M:1985-07', 'M:1985-08', 'M:1985-09', 'M:1985-10', 'M:1985-11', 'M:1985-12', 'Y:1986']);
  assert.deepEqual(dateRangeBuckets('lt', normalizeDate('1985-03')!, 1984), ['Y:1984', 'M:1985-01', 'M:1985-02']);
  assert.deepEqual(dateRangeBuckets('le', normalizeDate('1984')!, 1980), ['Y:1980', 'Y:1981', 'Y:1982', 'Y:1983', 'Y:1984']);
  assert.deepEqual(dateRangeBuckets('lt', normalizeDate('1985-03-01')!, 1985), ['M:1985-01', 'M:1985-02']);
  assert.deepEqual(dateRangeBuckets('le', normalizeDate('2024-02-29')!, 2024, 2024), ['M:2024-01', 'M:2024-02']);
  // Outside [minYear, maxYear]: clipped, possibly to nothing.
  assert.deepEqual(dateRangeBuckets('gt', normalizeDate('2100-12-31')!), []);
  assert.deepEqual(dateRangeBuckets('lt', normalizeDate('1900')!), []);
  assert.equal(dateRangeBuckets('ge', normalizeDate('1850')!).length, 201);
});

// Expand bucket strings to the set of days they cover.
function days(buckets: string[]): Set<string> {
  const out = new Set<string>();
  const p = (n: number) => String(n).padStart(2, '0');
  for (const b of buckets) {
    const [kind, v] = [b[0], b.slice(2)];
    const [y, m, d] = v.split('-').map(Number);
    for (let mm = 1; mm <= 12; mm++) {
      if (kind !== 'Y' && mm !== m) continue;
      for (let dd = 1; dd <= daysInMonth(y, mm); dd++) {
        if (kind === 'D' && dd !== d) continue;
        out.add(`${y}-${p(mm)}-${p(dd)}`);
      }
    }
  }
  return out;
}

test('dateRangeBuckets: union is exactly the matching days, and no bucket could be merged', () => {
  const minYear = 1999;
  const maxYear = 2001;
  const all = [...days(['Y:1999', 'Y:2000', 'Y:2001'])];
  const values: NormalizedDate[] = [normalizeDate('1998')!, normalizeDate('2002-01')!, normalizeDate('1999')!, normalizeDate('2001')!];
  for (const s of ['2000-01-01', '2000-12-31', '2000-02-29', '2000-03-01', '1999-01-01', '2001-12-31', '2000-06', '2000-01', '2000-12', '2000', '1999-12', '2000-07-15']) values.push(normalizeDate(s)!);
  for (let i = 0; i < 40; i++) {
    const y = 1999 + (i % 3), m = 1 + ((i * 7) % 12), d = 1 + ((i * 13) % daysInMonth(y, m));
    values.push({ precision: 'day', year: y, month: m, day: d });
  }
  for (const v of values) {
    const lo = `${String(v.year).padStart(4, '0')}-${String(v.month ?? 1).padStart(2, '0')}-${String(v.precision === 'day' ? v.day : 1).padStart(2, '0')}`;
    const hiMonth = v.month ?? 12;
    const hi = `${String(v.year).padStart(4, '0')}-${String(hiMonth).padStart(2, '0')}-${String(v.precision === 'day' ? v.day : daysInMonth(v.year, hiMonth)).padStart(2, '0')}`;
    const want = {
      ge: all.filter((x) => x >= lo), gt: all.filter((x) => x > hi),
      le: all.filter((x) => x <= hi), lt: all.filter((x) => x < lo),
    };
    for (const prefix of ['ge', 'gt', 'le', 'lt'] as const) {
      const b = dateRangeBuckets(prefix, v, minYear, maxYear);
      const label = `${prefix} ${JSON.stringify(v)}`;
      assert.equal(new Set(b).size, b.length, `duplicates: ${label}`);
      const got = days(b);
      // Exact cover with no overlap: the bucket sizes add up to the day count.
      assert.deepEqual([...got].sort(), want[prefix], label);
      const total = b.reduce((n, x) => n + days([x]).size, 0);
      assert.equal(total, got.size, `overlap: ${label}`);
      // Minimal: no whole month made of day buckets, no whole year made of month buckets.
      const set = new Set(b);
      for (const y of [1999, 2000, 2001]) {
        const months = Array.from({ length: 12 }, (_, i) => `M:${y}-${String(i + 1).padStart(2, '0')}`);
        assert.ok(!months.every((mb) => set.has(mb) || [...days([mb])].every((dd) => set.has(`D:${dd}`))) || set.has(`Y:${y}`), `year ${y} not merged: ${label}`);
        for (const mb of months) {
          assert.ok(![...days([mb])].every((dd) => set.has(`D:${dd}`)), `month ${mb} not merged: ${label}`);
        }
      }
    }
  }
});

test('a stored day-precision date meets a range query through its buckets', () => {
  const stored = new Set(dateBucketValues(normalizeDate('1985-03-20T08:00:00+01:00')!));
  const hits = (prefix: 'eq' | 'ge' | 'gt' | 'le' | 'lt', q: string) => dateRangeBuckets(prefix, normalizeDate(q)!).some((b) => stored.has(b));
  assert.ok(hits('ge', '1985-03-12'));
  assert.ok(hits('eq', '1985'));
  assert.ok(hits('eq', '1985-03'));
  assert.ok(hits('le', '1985-03-20'));
  assert.ok(!hits('lt', '1985-03-20'));
  assert.ok(!hits('gt', '1985-03'));
  assert.ok(hits('gt', '1984-12-31'));
  // Month-precision stored value: only queries covering the whole month find it.
  const month = new Set(dateBucketValues(normalizeDate('1985-04')!));
  assert.ok(dateRangeBuckets('ge', normalizeDate('1985-03-12')!).some((b) => month.has(b)));
  assert.ok(!dateRangeBuckets('eq', normalizeDate('1985-04-10')!).some((b) => month.has(b)));
});
