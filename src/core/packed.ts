// Many byte strings sent as one: the parts end to end, where each ends and how long it is (a missing part:
// length 0). Import batches send sealed bodies and wrapped keys to PostgreSQL this way, one binary parameter
// cut per row with `substring(bytes from end - length + 1 for length)`, and import workers return their
// sealed bodies this way in one transferable buffer (Buffer.alloc: never a slice of Node's shared pool).
export interface Packed { bytes: Buffer; ends: number[]; lengths: number[] }

export function pack(parts: readonly (Uint8Array | null | undefined)[]): Packed {
  const lengths = parts.map((p) => p?.length ?? 0);
  let total = 0;
  const ends = lengths.map((l) => (total += l));
  const bytes = Buffer.alloc(total);
  parts.forEach((p, i) => { if (p) bytes.set(p, ends[i] - lengths[i]); });
  return { bytes, ends, lengths };
}
