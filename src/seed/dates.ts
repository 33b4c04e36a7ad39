// Civil dates and Europe/Paris times for the synthetic data generator, without Date's time zone.
// ---------------------------------------------------------------------------------------------
// Dates as day numbers since 1970-01-01 (proleptic Gregorian; H. Hinnant's civil algorithms).

export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Packs the civil date as y * 10000 + m * 100 + d. */
export function civilFromDays(z: number): number {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return (yoe + era * 400 + (m <= 2 ? 1 : 0)) * 10000 + m * 100 + d;
}

export const PAD2: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);
export const PAD3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
export const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function isoDate(days: number): string {
  const c = civilFromDays(days);
  const y = Math.floor(c / 10000);
  return `${y}-${PAD2[Math.floor(c / 100) % 100]}-${PAD2[c % 100]}`;
}

export function parseIsoDate(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  if (!m) throw new Error(`expected a YYYY-MM-DD date, got ${JSON.stringify(s)}`);
  return daysFromCivil(+m[1], +m[2], +m[3]);
}

/** 0 = Sunday … 6 = Saturday. */
export const weekday = (days: number): number => (((days + 4) % 7) + 7) % 7;

export const dstCache = new Map<number, [number, number]>();
/** Europe/Paris: summer time from the last Sunday of March to the last Sunday of October. */
export function parisOffset(days: number): string {
  const y = Math.floor(civilFromDays(days) / 10000);
  let span = dstCache.get(y);
  if (!span) {
    const mar = daysFromCivil(y, 3, 31);
    const oct = daysFromCivil(y, 10, 31);
    span = [mar - weekday(mar), oct - weekday(oct)];
    dstCache.set(y, span);
  }
  return days >= span[0] && days < span[1] ? '+02:00' : '+01:00';
}

/** Local Paris date-time for a day number and minutes after midnight (may exceed 24 h). */
export function parisDateTime(days: number, minutes: number): string {
  const d = days + Math.floor(minutes / 1440);
  const m = minutes % 1440;
  return `${isoDate(d)}T${PAD2[Math.floor(m / 60)]}:${PAD2[m % 60]}:00${parisOffset(d)}`;
}

