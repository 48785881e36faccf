/**
 * The one reader of event times (events, transactions, the generator, the bench): an RFC 3339
 * `date-time` (section 5.6) with any number of fractional digits and `Z`, `z` or a numeric offset,
 * turned into the same instant in UTC at millisecond precision. Extra digits are truncated, not
 * rounded, so a time never moves into the next millisecond (or the next day, or the future).
 */
export type ParsedTimestamp = { ok: true; ms: number; iso: string } | { ok: false; why: string };

// T or t, as RFC 3339 allows; no space (that is the note's "may", not the date-time grammar).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
/** The form every stored timestamp takes (JavaScript's toISOString): the fast path. */
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Longer strings are not read at all (a fraction has no use past nanoseconds; this bounds the work). */
const MAX_LENGTH = 64;

const daysIn = (y: number, m: number) => (m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31);

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  if (y < 100) t.setUTCFullYear(y); // Date.UTC reads years 0-99 as 1900-1999
  return t.getTime();
}

export function parseTimestamp(s: unknown): ParsedTimestamp {
  if (typeof s !== 'string') return { ok: false, why: 'is not a string' };
  if (s.length > MAX_LENGTH) return { ok: false, why: 'is not an RFC 3339 date-time' };
  const m = RFC3339.exec(s);
  if (!m) {
    const noZone = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s);
    return { ok: false, why: noZone ? 'has no time zone (Z or ±hh:mm)' : 'is not an RFC 3339 date-time' };
  }
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) return { ok: false, why: 'is not a date that exists' };
  if (h > 23 || mi > 59 || sec > 60) return { ok: false, why: 'is not a time of day' };
  const [sign, oh, om] = [m[8], Number(m[9] ?? 0), Number(m[10] ?? 0)];
  if (oh > 23 || om > 59) return { ok: false, why: 'has an offset out of range' };
  const frac = Number(((m[7] ?? '') + '000').slice(0, 3));
  const offsetMs = (sign === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  // A leap second (…:60) is held as the last millisecond of its minute: JavaScript dates and
  // ClickHouse's DateTime64 have no 61st second.
  const ms = (sec === 60 ? utc(y, mo, d, h, mi, 59, 999) : utc(y, mo, d, h, mi, sec, frac)) - offsetMs;
  return { ok: true, ms, iso: sec !== 60 && s.length === 24 && CANONICAL.test(s) ? s : toIso(ms) };
}

/** The stored form: `YYYY-MM-DDTHH:MM:SS.sssZ`; `…` for instants outside years 0000-9999. */
export function toIso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) || d.getUTCFullYear() < 0 || d.getUTCFullYear() > 9999 ? '…' : d.toISOString();
}

/** Milliseconds since the epoch of an RFC 3339 date-time, or NaN (for readers that only need the instant). */
export const timestampMs = (s: unknown): number => {
  const p = parseTimestamp(s);
  return p.ok ? p.ms : Number.NaN;
};
