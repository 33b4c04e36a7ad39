// bytea crosses the driver unchanged on both dialects: the PGlite conversions replaced in db.ts must give the
// same bytes back (empty, any byte value, a view into a larger buffer) and as a Buffer, as pg does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { testEnv, DB_LABEL } from '../helpers.ts';

test(`bytea round trip (${DB_LABEL})`, async () => {
  const env = await testEnv();
  try {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const big = randomBytes(1 << 20);
    const view = Buffer.from('..\\x\u00e9..').subarray(2, 6); // a view at an offset, holding a backslash and a non-ASCII byte
    const r = await sql<{ a: Buffer; e: Buffer; v: Buffer; b: Buffer; n: number }>`select ${all}::bytea as a, ${Buffer.alloc(0)}::bytea as e,
      ${view}::bytea as v, ${big}::bytea as b, octet_length(${new Uint8Array(big)}::bytea) as n`.execute(env.database.db);
    const row = r.rows[0];
    for (const [got, want] of [[row.a, all], [row.e, Buffer.alloc(0)], [row.v, view], [row.b, big]] as const) {
      assert.ok(Buffer.isBuffer(got));
      assert.ok(got.equals(want));
    }
    assert.equal(Number(row.n), big.length);
  } finally {
    await env.close();
  }
});
