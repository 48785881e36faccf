import { createHash } from 'node:crypto';
import { ACTIVITY, EVENT_MIX, TIER_MIX, type KnownTier, type SimUser } from '../generator/simulate.js';

/**
 * The bench's users and the shape of their visits, in one place: users are derived from
 * (seed, index) so PostgreSQL (users-table.ts) and ClickHouse (history.ts) can compute the same
 * ones in SQL, and the population a rate needs is derived from the visit shape.
 */

/** generator/simulate.ts's visit shape (its defaults), which the bench's stream follows. */
export const VISIT_SHAPE = {
  /** Mean gap between a visit's events, divided by the tier's activity. */
  meanEventGapMs: 20_000,
  /** Every gap is at least this (a page takes time to load). */
  minGapMs: 200,
  /** Mean events of a visit, times the tier's activity. */
  meanVisitEvents: 10,
  /** Share of a visit's gaps just under the session timeout (1..5 s under it). */
  nearTimeoutShare: 0.02,
  /** Share of visits after which the user comes back just past the timeout (1..5 s past), into a new session. */
  returnShare: 0.03,
  sessionTimeoutMs: 30 * 60_000,
} as const;

export const UNKNOWN_SHARE = 0.05;

const TIER_WEIGHTS = Object.entries(TIER_MIX) as [KnownTier, number][];
const TIER_TOTAL = TIER_WEIGHTS.reduce((s, [, w]) => s + w, 0);

/** The 16 bytes of user `index`'s id: md5("seed:index") with the UUID v4 version and variant bits set. */
export function populationBytes(seed: number, index: number): Buffer {
  const h = createHash('md5').update(`${seed}:${index}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  return h;
}

/** The tier of a user from their id's bytes 10..13, drawn from the seed's mix. */
export function tierOfBytes(h: Uint8Array, offset = 0): KnownTier {
  let x = ((((h[offset + 10]! << 24) >>> 0) + (h[offset + 11]! << 16) + (h[offset + 12]! << 8) + h[offset + 13]!) / 2 ** 32) * TIER_TOTAL;
  for (const [t, w] of TIER_WEIGHTS) if ((x -= w) < 0) return t;
  return TIER_WEIGHTS[TIER_WEIGHTS.length - 1]![0];
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** The UUID text of 16 id bytes at `offset`. */
export function uuidOfBytes(h: Uint8Array, o = 0): string {
  const x = (i: number) => HEX[h[o + i]!]!;
  return `${x(0)}${x(1)}${x(2)}${x(3)}-${x(4)}${x(5)}-${x(6)}${x(7)}-${x(8)}${x(9)}-${x(10)}${x(11)}${x(12)}${x(13)}${x(14)}${x(15)}`;
}

/** User `index` of a seeded population: a v4-shaped UUID from md5("seed:index"), a tier from the seed's mix, in PostgreSQL or not. */
export function populationUser(seed: number, index: number, unknownShare: number = UNKNOWN_SHARE): SimUser {
  const h = populationBytes(seed, index);
  return { user_id: uuidOfBytes(h), tier: tierOfBytes(h), inPostgres: h.readUInt16BE(14) / 65536 >= unknownShare };
}

/** Cumulative tier bounds on [0, 100): the same comparisons populationUser makes. */
const TIER_BOUNDS = TIER_WEIGHTS.map(([t], i) => [t, TIER_WEIGHTS.slice(0, i + 1).reduce((s, [, w]) => s + w, 0)] as const);

/**
 * PostgreSQL: `SELECT user_id, tier, in_pg` for indexes lo..hi of the population, computed by the
 * server (md5 and bit casts), so millions of users load without leaving it.
 */
export function populationSqlPg(seed: number, unknownShare: number, lo: number, hi: number): string {
  const tierCase = `CASE ${TIER_BOUNDS.slice(0, -1).map(([t, b]) => `WHEN x < ${b} THEN '${t}'`).join(' ')} ELSE '${TIER_BOUNDS.at(-1)![0]}' END`;
  return `SELECT (substr(m, 1, 12) || '4' || substr(m, 14, 3) || substr('89ab', (('x' || substr(m, 17, 1))::bit(4)::int & 3) + 1, 1) || substr(m, 18))::uuid AS user_id,
      ${tierCase} AS tier, ('x' || substr(m, 29, 4))::bit(16)::int / 65536.0 >= ${Number(unknownShare)} AS in_pg
    FROM (SELECT m, ('x' || substr(m, 21, 8))::bit(32)::bigint::float8 / 4294967296 * ${TIER_TOTAL} AS x
          FROM (SELECT md5('${Math.trunc(seed)}:' || i) AS m FROM generate_series(${Math.trunc(lo)}::bigint, ${Math.trunc(hi)}::bigint) AS i) AS a) AS b`;
}

/** ClickHouse: the user_id (a UUID) and tier of population index `idx` (an SQL expression), as populationUser derives them. */
export function populationSqlCh(seed: number, idx: string): { userId: string; tier: string } {
  const m = `lower(hex(MD5(concat('${Math.trunc(seed)}:', toString(${idx})))))`;
  const x = `(reinterpretAsUInt32(reverse(unhex(substring(${m}, 21, 8)))) / 4294967296 * ${TIER_TOTAL})`;
  return {
    userId: uuidFromHex(m, '4'),
    tier: `multiIf(${TIER_BOUNDS.slice(0, -1).map(([t, b]) => `${x} < ${b}, '${t}'`).join(', ')}, '${TIER_BOUNDS.at(-1)![0]}')`,
  };
}

/** A UUID of RFC 4122 shape from 32 hex digits (an SQL expression): version nibble `v`, variant bits 10. */
export function uuidFromHex(hex: string, v: string): string {
  return `toUUID(concat(substring(${hex}, 1, 8), '-', substring(${hex}, 9, 4), '-${v}', substring(${hex}, 14, 3), '-',
    substring('89ab', bitAnd(reinterpretAsUInt8(unhex(concat('0', substring(${hex}, 17, 1)))), 3) + 1, 1), substring(${hex}, 18, 3), '-', substring(${hex}, 21, 12)))`;
}

/** Mean records a visit of a user with activity `act` makes (events, plus the appended logout). */
export function expectedVisitEvents(act: number): number {
  const m = VISIT_SHAPE.meanVisitEvents * act - 1;
  // k - 1 = floor(Exp(m)) is geometric with ratio q; a logout drawn among the k types adds one event.
  const q = Math.exp(-1 / m);
  const k = 1 + q / (1 - q);
  const p = EVENT_MIX.logout / Object.values(EVENT_MIX).reduce((a, b) => a + b, 0);
  return k + 1 - ((1 - p) * (1 - q)) / (1 - q * (1 - p));
}

/** Mean gap between two events of a visit, for activity `act`. */
export function expectedGapMs(act: number): number {
  const s = VISIT_SHAPE;
  return (1 - s.nearTimeoutShare) * (s.minGapMs + s.meanEventGapMs / act) + s.nearTimeoutShare * (s.sessionTimeoutMs - 2_500);
}

/**
 * Users the stream needs at `rate` records/s so that a new visit never lands on a user whose last
 * visit is under way or still inside its 30-minute timeout (that would merge two visits into one
 * session): visits per second times how long a visit keeps its user busy (its length plus the
 * timeout), with 50 % to spare so picking a free user takes few draws.
 */
export function defaultPopulation(rate: number): number {
  let events = 0, busyS = 0;
  for (const [tier, w] of TIER_WEIGHTS) {
    const act = ACTIVITY[tier];
    const k = expectedVisitEvents(act);
    events += (w / TIER_TOTAL) * k;
    busyS += (w / TIER_TOTAL) * (((k - 1) * expectedGapMs(act) + VISIT_SHAPE.sessionTimeoutMs) / 1000);
  }
  const busy = (rate / events) * busyS;
  return Math.max(10_000, Math.ceil((1.5 * busy) / 10_000) * 10_000);
}
